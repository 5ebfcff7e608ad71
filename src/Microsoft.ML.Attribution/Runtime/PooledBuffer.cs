using System.Buffers;

namespace Microsoft.ML.Attribution.Runtime;

/// <summary>
/// A float buffer rented from the shared array pool and reused chunk after chunk (and, through the pool, call after
/// call), so chunked runs do not allocate a fresh large array per chunk. Contents are not cleared between uses.
/// </summary>
internal sealed class PooledBuffer : IDisposable
{
    private float[]? _array;

    /// <summary>A buffer of at least <paramref name="length"/> elements (possibly the one returned last time).</summary>
    public float[] Take(int length)
    {
        if (_array is null || _array.Length < length)
        {
            Dispose();
            _array = ArrayPool<float>.Shared.Rent(Math.Max(1, length));
        }
        return _array;
    }

    /// <summary>Gives the buffer back to the pool.</summary>
    public void Dispose()
    {
        if (_array is null) return;
        ArrayPool<float>.Shared.Return(_array);
        _array = null;
    }
}

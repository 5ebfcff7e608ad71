namespace Microsoft.ML.Attribution.Tensors;

/// <summary>
/// A dense, row-major n-dimensional array: the unit of data every method and oracle works on.
/// Axis 0 is the batch (rows) axis wherever a batch is meant.
/// </summary>
/// <typeparam name="T">Element type: <see cref="float"/> for features and attributions, <see cref="long"/> for token ids.</typeparam>
public sealed class NdArray<T> where T : unmanaged
{
    /// <summary>Creates an array over existing data (not copied).</summary>
    /// <exception cref="ArgumentException">The data length does not match the shape.</exception>
    public NdArray(T[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        foreach (var d in shape)
        {
            if (d < 0)
                throw new ArgumentException($"Shape [{string.Join(", ", shape)}] has a negative dimension.", nameof(shape));
        }
        long size = ShapeSize(shape);
        if (size != data.Length)
            throw new ArgumentException($"Data of length {data.Length} does not fit shape [{string.Join(", ", shape)}] ({size} elements).", nameof(data));
        Data = data;
        Shape = (int[])shape.Clone();
        RowSize = Shape.Length == 0 ? 1 : (int)ShapeSize(Shape.AsSpan(1));
    }

    /// <summary>Creates a zero-filled array.</summary>
    public NdArray(params int[] shape) : this(new T[checked((int)ShapeSize(shape))], shape) { }

    /// <summary>The elements in row-major order.</summary>
    public T[] Data { get; }

    /// <summary>The dimensions.</summary>
    public int[] Shape { get; }

    /// <summary>Number of dimensions.</summary>
    public int Rank => Shape.Length;

    /// <summary>Total number of elements.</summary>
    public int Length => Data.Length;

    /// <summary>Size of axis 0 (1 for a scalar).</summary>
    public int Rows => Shape.Length == 0 ? 1 : Shape[0];

    /// <summary>Elements per row: the product of all axes after the first.</summary>
    public int RowSize { get; }

    /// <summary>The shape of one row (every axis after the first).</summary>
    public int[] RowShape => Shape.Length == 0 ? [] : Shape[1..];

    /// <summary>The elements of one row.</summary>
    public Span<T> Row(int row) => Data.AsSpan(row * RowSize, RowSize);

    /// <summary>Same data viewed with another shape of the same size.</summary>
    public NdArray<T> Reshape(params int[] shape) => new(Data, shape);

    /// <summary>A deep copy.</summary>
    public NdArray<T> Clone() => new((T[])Data.Clone(), Shape);

    /// <summary>The shape as text, e.g. <c>[2, 3]</c>.</summary>
    public string ShapeText => FormatShape(Shape);

    internal static string FormatShape(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    internal static long ShapeSize(ReadOnlySpan<int> shape)
    {
        long size = 1;
        foreach (var d in shape) size *= d;
        return size;
    }

    /// <inheritdoc />
    public override string ToString() => $"NdArray<{typeof(T).Name}>{ShapeText}";
}

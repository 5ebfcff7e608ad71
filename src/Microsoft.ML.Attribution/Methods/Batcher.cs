using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>Writes the model input of expanded item <c>item</c> (a row × step, or a row × perturbation) into <c>destination</c>.</summary>
internal delegate void ItemFiller(int item, Span<float> destination);

/// <summary>
/// Runs many expanded items (rows × steps, rows × perturbations) through an oracle in chunks of a bounded number of
/// rows, so one ONNX Runtime call carries many items while memory stays bounded by the chunk, not by the expansion.
/// </summary>
/// <summary>An oracle that can estimate the memory one row takes inside the model.</summary>
internal interface IMemoryEstimate
{
    /// <summary>Approximate bytes of intermediate tensors per input row (forward and backward), or 0 when unknown.</summary>
    long BytesPerRow { get; }
}

internal static class Batcher
{
    /// <summary>Default chunk budget in input elements (16 MB of float32 per chunk tensor).</summary>
    public const long DefaultChunkElements = 1L << 22;

    /// <summary>Default cap on rows per call when the caller sets no internal batch size.</summary>
    public const int DefaultMaxChunkRows = 4096;

    /// <summary>Memory an automatic chunk may take in the model (activations of forward and backward).</summary>
    public const long DefaultChunkBytes = 256L << 20;

    /// <summary>
    /// Rows per model call: the caller's internal batch size, or — when the oracle can estimate its memory per row (ONNX
    /// models: the float tensors of the graph that carry the batch axis) — as many rows as fit <see cref="DefaultChunkBytes"/>,
    /// else a bound on the input elements; never more than the model's fixed batch.
    /// </summary>
    public static int ChunkRows(IForwardOracle oracle, int? internalBatchSize, int rowSize)
    {
        if (internalBatchSize is null && oracle is IMemoryEstimate { BytesPerRow: > 0 and var bytes })
        {
            int rows = (int)Math.Clamp(DefaultChunkBytes / bytes, 1, DefaultMaxChunkRows);
            return oracle.MaxRowsPerCall is int max && max > 0 ? Math.Min(rows, max) : rows;
        }
        return ChunkRows(internalBatchSize, rowSize, oracle.MaxRowsPerCall);
    }

    public static int ChunkRows(int? internalBatchSize, int rowSize, int? maxRowsPerCall)
    {
        if (internalBatchSize is < 1)
            throw new ArgumentOutOfRangeException(nameof(internalBatchSize), internalBatchSize, "The internal batch size must be at least 1.");
        int rows = internalBatchSize ?? (int)Math.Clamp(DefaultChunkElements / Math.Max(1, rowSize), 1, DefaultMaxChunkRows);
        if (maxRowsPerCall is int max && max > 0) rows = Math.Min(rows, max);
        return rows;
    }

    /// <summary>
    /// Forward pass over <paramref name="items"/> expanded rows; <paramref name="consume"/> gets each item's output row.
    /// One pooled input buffer serves every chunk; an oracle that writes into caller memory (ONNX models, through an
    /// I/O binding) also gets one pooled output buffer, others return their own arrays.
    /// </summary>
    public static void Forward(IForwardOracle oracle, int items, int[] rowShape, int chunkRows, ItemFiller fill,
        Action<int, ReadOnlySpan<float>> consume)
    {
        int rowSize = checked((int)NdArray<float>.ShapeSize(rowShape));
        var buffered = oracle as IBufferedOracle;
        using var inputs = new PooledBuffer();
        using var outputs = new PooledBuffer();
        int outputSize = -1;
        for (int start = 0; start < items; start += chunkRows)
        {
            int n = Math.Min(chunkRows, items - start);
            var batch = inputs.Take(n * rowSize);
            for (int i = 0; i < n; i++) fill(start + i, batch.AsSpan(i * rowSize, rowSize));
            ReadOnlyMemory<float> result;
            if (buffered is not null)
            {
                if (outputSize < 0) outputSize = checked((int)NdArray<float>.ShapeSize(buffered.OutputRowShape(batch.AsSpan(0, rowSize), rowShape)));
                var into = outputs.Take(n * outputSize).AsMemory(0, n * outputSize);
                buffered.ForwardInto(batch, [n, .. rowShape], into);
                result = into;
            }
            else
            {
                result = oracle.Forward(new NdArray<float>(batch[..(n * rowSize)], [n, .. rowShape])).Data;
                outputSize = result.Length / n;
            }
            for (int i = 0; i < n; i++) consume(start + i, result.Span.Slice(i * outputSize, outputSize));
        }
    }

    /// <summary>
    /// Forward and backward over expanded items; the seed of item <c>i</c> is a one-hot at <paramref name="targetOf"/>(i)
    /// among <paramref name="outputSize"/> outputs. <paramref name="consume"/> gets each item's gradient row and output row.
    /// Pooled input and seed buffers serve every chunk, and pooled output and gradient buffers too when the oracle
    /// writes into caller memory.
    /// </summary>
    public static void Gradient(IGradientOracle oracle, int items, int[] rowShape, int outputSize, int chunkRows,
        ItemFiller fill, Func<int, int> targetOf, Action<int, ReadOnlySpan<float>, ReadOnlySpan<float>> consume)
    {
        int rowSize = checked((int)NdArray<float>.ShapeSize(rowShape));
        var buffered = oracle as IBufferedOracle;
        using var inputs = new PooledBuffer();
        using var seeds = new PooledBuffer();
        using var outputs = new PooledBuffer();
        using var gradients = new PooledBuffer();
        for (int start = 0; start < items; start += chunkRows)
        {
            int n = Math.Min(chunkRows, items - start);
            var batch = inputs.Take(n * rowSize);
            var seed = seeds.Take(n * outputSize);
            Array.Clear(seed, 0, n * outputSize);
            for (int i = 0; i < n; i++)
            {
                fill(start + i, batch.AsSpan(i * rowSize, rowSize));
                seed[i * outputSize + targetOf(start + i)] = 1f;
            }
            ReadOnlyMemory<float> output, gradient;
            if (buffered is not null)
            {
                if (start == 0 && NdArray<float>.ShapeSize(buffered.OutputRowShape(batch.AsSpan(0, rowSize), rowShape)) is var modelOutputSize
                    && modelOutputSize != outputSize)
                    throw new ArgumentException($"Output '{oracle.OutputName}' has {modelOutputSize} values per row; the seed was built for {outputSize}.");
                var outputInto = outputs.Take(n * outputSize).AsMemory(0, n * outputSize);
                var gradientInto = gradients.Take(n * rowSize).AsMemory(0, n * rowSize);
                buffered.ForwardBackwardInto(batch, [n, .. rowShape], seed, outputInto, gradientInto);
                (output, gradient) = (outputInto, gradientInto);
            }
            else
            {
                var (o, g) = oracle.ForwardBackward(new NdArray<float>(batch[..(n * rowSize)], [n, .. rowShape]),
                    new NdArray<float>(seed[..(n * outputSize)], n, outputSize));
                (output, gradient) = (o.Data, g.Data);
            }
            for (int i = 0; i < n; i++)
                consume(start + i, gradient.Span.Slice(i * rowSize, rowSize), output.Span.Slice(i * outputSize, outputSize));
        }
    }

    /// <summary>The model's outputs for every row of <paramref name="inputs"/>.</summary>
    public static NdArray<float> ForwardRows(IForwardOracle oracle, NdArray<float> inputs, int chunkRows)
    {
        float[]? data = null;
        int outputSize = 0;
        Forward(oracle, inputs.Rows, inputs.RowShape, chunkRows, (i, dst) => inputs.Row(i).CopyTo(dst), (i, output) =>
        {
            if (data is null) { outputSize = output.Length; data = new float[inputs.Rows * outputSize]; }
            output.CopyTo(data.AsSpan(i * outputSize, outputSize));
        });
        return new NdArray<float>(data ?? [], inputs.Rows, outputSize);
    }
}

using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microsoft.ML.Attribution.Runtime;

/// <summary>
/// Adapts what callers feed to what a session declares, before ONNX Runtime sees it: int64 token ids narrowed for
/// int32 inputs (range-checked), and any row count fed to a model exported with a fixed batch, in chunks of that batch
/// (the last chunk padded with copies of its last row, whose results are dropped).
/// </summary>
internal sealed class SessionFeeds
{
    private readonly HashSet<string> _int32Inputs;

    public SessionFeeds(InferenceSession session)
    {
        _int32Inputs = session.InputMetadata.Where(m => m.Value.IsTensor && m.Value.ElementDataType == TensorElementType.Int32)
            .Select(m => m.Key).ToHashSet(StringComparer.Ordinal);
        var fixedBatches = session.InputMetadata.Values.Where(m => m.IsTensor && m.Dimensions.Length > 0 && m.Dimensions[0] > 0)
            .Select(m => m.Dimensions[0]).Distinct().ToList();
        // Only a batch every input agrees on is a batch: a lone fixed first axis among symbolic ones is something else.
        if (fixedBatches.Count == 1 && session.InputMetadata.Values.All(m => !m.IsTensor || m.Dimensions.Length == 0 || m.Dimensions[0] > 0))
            FixedBatch = fixedBatches[0];
    }

    /// <summary>The batch size every input of the model fixes, or null when the batch axis is free.</summary>
    public int? FixedBatch { get; }

    /// <summary>The inputs, int64 values narrowed to int32 where the model declares int32.</summary>
    public IReadOnlyList<NamedInput> Narrow(IReadOnlyList<NamedInput> inputs)
    {
        if (_int32Inputs.Count == 0 || !inputs.Any(i => i.Data is long[] && _int32Inputs.Contains(i.Name))) return inputs;
        return inputs.Select(input =>
        {
            if (input.Data is not long[] values || !_int32Inputs.Contains(input.Name)) return input;
            int size = checked((int)NdArray<float>.ShapeSize(input.Shape));
            var narrowed = new int[size];
            for (int i = 0; i < size; i++)
            {
                long v = values[input.Offset + i];
                if (v is < int.MinValue or > int.MaxValue)
                    throw new ArgumentException($"Input '{input.Name}' is int32; value {v} at flat index {i} does not fit in int32.");
                narrowed[i] = (int)v;
            }
            return new NamedInput(input.Name, narrowed, input.Shape);
        }).ToList();
    }

    /// <summary>The row count of the feeds when it differs from the model's fixed batch (so they must be chunked), else null.</summary>
    public int? RowsToChunk(IReadOnlyList<NamedInput> inputs)
    {
        if (FixedBatch is not int batch) return null;
        var rows = inputs.Where(i => i.Shape.Length > 0).Select(i => i.Shape[0]).Distinct().ToList();
        if (rows.Count == 0 || (rows.Count == 1 && rows[0] == batch)) return null;
        if (rows.Count > 1)
            throw new ArgumentException($"The model is exported with a fixed batch of {batch}; its inputs were fed with different row counts " +
                $"({string.Join(", ", inputs.Where(i => i.Shape.Length > 0).Select(i => $"'{i.Name}' {NdArray<float>.FormatShape(i.Shape)}"))}).");
        return rows[0];
    }

    /// <summary>Rows [start, start + batch) of <paramref name="input"/>: a window on its array, or a padded copy for a short last chunk.</summary>
    public static NamedInput Chunk(NamedInput input, int start, int count, int batch)
    {
        int rowSize = checked((int)NdArray<float>.ShapeSize(input.Shape.AsSpan(1)));
        int[] shape = [batch, .. input.Shape[1..]];
        if (count == batch) return new NamedInput(input.Name, input.Data, shape) { Offset = input.Offset + start * rowSize };
        var padded = Array.CreateInstance(input.Data.GetType().GetElementType()!, batch * rowSize);
        Array.Copy(input.Data, input.Offset + start * rowSize, padded, 0, count * rowSize);
        // Padding repeats the last real row: values the model has just accepted, unlike zeros (which may be no valid id).
        for (int r = count; r < batch; r++) Array.Copy(padded, (count - 1) * rowSize, padded, r * rowSize, rowSize);
        return new NamedInput(input.Name, padded, shape);
    }

    /// <summary>Checks that an output bound for <paramref name="rows"/> rows carries the batch axis, and returns its row size.</summary>
    public int OutputRowSize(NamedOutput output, int rows)
    {
        if (output.Shape.Length == 0 || output.Shape[0] != rows)
            throw new ArgumentException($"Output '{output.Name}' is bound as {NdArray<float>.FormatShape(output.Shape)} for {rows} input rows; " +
                $"a model with a fixed batch of {FixedBatch} is run in chunks, so every output needs the batch axis first.");
        return checked((int)NdArray<float>.ShapeSize(output.Shape.AsSpan(1)));
    }
}

using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>
/// Rows of the attributed model input, either float32 features or int64 token ids (text models: the ids are not
/// differentiable, the layer they feed — an embedding — is).
/// </summary>
internal sealed class InputRows
{
    private InputRows(Array data, int[] shape, bool isTokenIds)
    {
        if (shape.Length == 0) throw new ArgumentException("Inputs must have a batch axis; got a scalar.");
        Data = data;
        Shape = shape;
        IsTokenIds = isTokenIds;
    }

    public Array Data { get; }

    public int[] Shape { get; }

    public bool IsTokenIds { get; }

    public int Rows => Shape[0];

    public int[] RowShape => Shape[1..];

    public int RowSize => (int)NdArray<float>.ShapeSize(Shape.AsSpan(1));

    public NdArray<float> Floats => new((float[])Data, Shape);

    public static InputRows Of(NdArray<float> inputs) => new(inputs.Data, inputs.Shape, false);

    public static InputRows Of(NdArray<long> tokenIds) => new(tokenIds.Data, tokenIds.Shape, true);

    /// <summary>Inputs followed by baselines: rows [0, N) then [N, 2N), so both endpoints go through one pass.</summary>
    public static InputRows Concat(InputRows first, InputRows second)
    {
        var data = Array.CreateInstance(first.Data.GetType().GetElementType()!, first.Data.Length + second.Data.Length);
        Array.Copy(first.Data, data, first.Data.Length);
        Array.Copy(second.Data, 0, data, first.Data.Length, second.Data.Length);
        return new InputRows(data, [first.Rows + second.Rows, .. first.RowShape], first.IsTokenIds);
    }
}

/// <summary>
/// The model input of each expanded item (a row, a row × step), produced a chunk at a time so memory stays bounded by
/// the chunk rather than by the expansion.
/// </summary>
internal abstract class InputSource
{
    public abstract int[] RowShape { get; }

    public int RowSize => (int)NdArray<float>.ShapeSize(RowShape);

    /// <summary>The input tensor of items [start, start + count).</summary>
    public abstract NamedInput Chunk(string name, int start, int count);

    /// <summary>Item i is row <paramref name="rowOf"/>(i) of <paramref name="rows"/>.</summary>
    public static InputSource Rows(InputRows rows, Func<int, int>? rowOf = null) => new RowSource(rows, rowOf);

    /// <summary>Item r·steps + k is baseline_r + α_k (x_r − baseline_r): Captum's scaled features along the straight path.</summary>
    public static InputSource Path(NdArray<float> inputs, NdArray<float> baselines, double[] alphas) =>
        new PathSource(inputs, baselines, alphas);

    private sealed class RowSource(InputRows rows, Func<int, int>? rowOf) : InputSource
    {
        public override int[] RowShape => rows.RowShape;

        public override NamedInput Chunk(string name, int start, int count)
        {
            int size = rows.RowSize;
            // Consecutive rows: the chunk is a window on the caller's array, handed to ONNX Runtime without a copy.
            if (rowOf is null) return new NamedInput(name, rows.Data, [count, .. rows.RowShape]) { Offset = start * size };
            var data = Array.CreateInstance(rows.Data.GetType().GetElementType()!, count * size);
            for (int i = 0; i < count; i++) Array.Copy(rows.Data, rowOf(start + i) * size, data, i * size, size);
            return new NamedInput(name, data, [count, .. rows.RowShape]);
        }
    }

    private sealed class PathSource(NdArray<float> inputs, NdArray<float> baselines, double[] alphas) : InputSource
    {
        public override int[] RowShape => inputs.RowShape;

        public override NamedInput Chunk(string name, int start, int count)
        {
            int size = inputs.RowSize, steps = alphas.Length;
            var data = new float[count * size];
            for (int i = 0; i < count; i++)
            {
                int item = start + i;
                float alpha = (float)alphas[item % steps];
                var x = inputs.Row(item / steps);
                var b = baselines.Row(item / steps);
                var dst = data.AsSpan(i * size, size);
                for (int j = 0; j < size; j++) dst[j] = b[j] + alpha * (x[j] - b[j]);
            }
            return new NamedInput(name, data, [count, .. inputs.RowShape]);
        }
    }
}

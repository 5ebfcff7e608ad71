using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>What the layer and neuron methods share: targets from known outputs, endpoints, convergence deltas.</summary>
internal static class LayerAttribution
{
    /// <summary>One target per row, resolved against the outputs at the inputs (already computed, so no extra pass).</summary>
    public static int[] Targets(ILayerOracle oracle, Target? target, NdArray<float> outputs)
    {
        var flat = outputs.Reshape(outputs.Rows, outputs.RowSize);
        var rows = new NdArray<float>(new float[0], outputs.Rows, 0);
        return (target ?? Target.Predicted).Resolve(new KnownOutputs(oracle), rows, int.MaxValue, flat);
    }

    /// <summary>The model's outputs (and optionally a layer) at every row, in one batched pass.</summary>
    public static NdArray<float>[] Evaluate(ILayerOracle oracle, InputRows rows, int chunk, params string[] tensors) =>
        oracle.Evaluate(tensors, InputSource.Rows(rows), rows.Rows, chunk);

    /// <summary>Per row: Σ attributions − (f(x)[t] − f(baseline)[t]) — Captum's convergence delta.</summary>
    public static float[] Deltas(NdArray<float> attributions, NdArray<float> outputsAtInputs, NdArray<float> outputsAtBaselines, int[] targets)
    {
        int rows = attributions.Rows;
        var delta = new float[rows];
        var x = outputsAtInputs.Reshape(rows, outputsAtInputs.Length / Math.Max(1, rows));
        var b = outputsAtBaselines.Reshape(rows, outputsAtBaselines.Length / Math.Max(1, rows));
        for (int r = 0; r < rows; r++)
        {
            double total = 0;
            foreach (var a in attributions.Row(r)) total += a;
            delta[r] = (float)(total - (x.Row(r)[targets[r]] - (double)b.Row(r)[targets[r]]));
        }
        return delta;
    }

    /// <summary>The first <paramref name="rows"/> rows of a batch (e.g. the inputs half of inputs ++ baselines).</summary>
    public static NdArray<float> Take(NdArray<float> batch, int first, int rows)
    {
        int size = batch.RowSize;
        return new NdArray<float>(batch.Data[(first * size)..((first + rows) * size)], [rows, .. batch.RowShape]);
    }

    /// <summary>Lets <see cref="Target.Resolve"/> work from outputs already computed; it never runs a model.</summary>
    private sealed class KnownOutputs(ILayerOracle oracle) : IForwardOracle
    {
        public string InputName => oracle.InputName;

        public string OutputName => oracle.OutputName;

        public int? MaxRowsPerCall => oracle.MaxRowsPerCall;

        public void ValidateInput(NdArray<float> inputs) { }

        public NdArray<float> Forward(NdArray<float> inputs) =>
            throw new InvalidOperationException("Targets are resolved from outputs already computed.");
    }
}

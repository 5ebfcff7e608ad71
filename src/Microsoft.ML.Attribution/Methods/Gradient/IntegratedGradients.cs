using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Integrated Gradients (Sundararajan, Taly &amp; Yan, "Axiomatic Attribution for Deep Networks", ICML 2017):
/// attribution_i = (x_i − x'_i) · ∫₀¹ ∂f(x' + α(x − x'))/∂x_i dα, with the integral approximated by
/// Σ_k w_k · ∂f(x' + α_k(x − x'))/∂x_i. Completeness: Σ_i attribution_i ≈ f(x) − f(x'); the residual is the
/// convergence delta. All rows × steps go through the model in chunks of the internal batch size.
/// </summary>
public sealed class IntegratedGradients
{
    private readonly IGradientOracle _oracle;

    /// <summary>Creates the method over a gradient oracle (e.g. <see cref="OnnxGradientOracle"/>).</summary>
    public IntegratedGradients(IGradientOracle oracle) => _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));

    /// <summary>Attributes each row's target output to the input elements.</summary>
    /// <param name="inputs">Rows to explain, <c>[N, …]</c>.</param>
    /// <param name="baselines">Reference point: null (zeros), one value, one row, or <c>[N, …]</c>.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="steps">Number of integration points (Captum's n_steps, default 50).</param>
    /// <param name="method">Integration rule (default Gauss–Legendre, as Captum).</param>
    /// <param name="internalBatchSize">Rows (× steps) per model call; default chosen from the row size.</param>
    /// <param name="computeConvergenceDelta">Also run f(x) and f(baseline) to report the completeness residual.</param>
    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines = null, Target? target = null,
        int steps = 50, IntegrationMethod method = IntegrationMethod.GaussLegendre, int? internalBatchSize = null,
        bool computeConvergenceDelta = true)
    {
        _oracle.ValidateInput(inputs);
        var (alphas, weights) = IntegrationRule.Points(method, steps);
        var reference = Baselines.Expand(baselines, inputs, _oracle.InputName);
        int rows = inputs.Rows, rowSize = inputs.RowSize;
        int chunk = Batcher.ChunkRows(_oracle, internalBatchSize, rowSize);

        NdArray<float>? endpoints = computeConvergenceDelta ? EndpointOutputs(inputs, reference, chunk) : null;
        var targets = (target ?? Target.Predicted).Resolve(_oracle, inputs, chunk,
            endpoints is null ? null : new NdArray<float>(endpoints.Data[..(rows * endpoints.RowSize)], rows, endpoints.RowSize));
        int outputSize = endpoints?.RowSize ?? _oracle.Forward(new NdArray<float>(inputs.Data[..rowSize], [1, .. inputs.RowShape])).RowSize;

        var sums = new double[rows * rowSize];
        Batcher.Gradient(_oracle, rows * steps, inputs.RowShape, outputSize, chunk,
            fill: (item, dst) =>
            {
                int r = item / steps;
                float alpha = (float)alphas[item % steps];
                var x = inputs.Row(r);
                var b = reference.Row(r);
                for (int j = 0; j < dst.Length; j++) dst[j] = b[j] + alpha * (x[j] - b[j]);
            },
            targetOf: item => targets[item / steps],
            consume: (item, gradient, _) =>
            {
                int r = item / steps;
                double w = weights[item % steps];
                var acc = sums.AsSpan(r * rowSize, rowSize);
                for (int j = 0; j < acc.Length; j++) acc[j] += w * gradient[j];
            });

        var attributions = new NdArray<float>(inputs.Shape);
        for (int i = 0; i < attributions.Length; i++)
            attributions.Data[i] = (float)((inputs.Data[i] - (double)reference.Data[i]) * sums[i]);

        float[]? delta = null;
        if (endpoints is not null)
        {
            delta = new float[rows];
            for (int r = 0; r < rows; r++)
            {
                double total = 0;
                foreach (var a in attributions.Row(r)) total += a;
                double change = endpoints.Row(r)[targets[r]] - (double)endpoints.Row(rows + r)[targets[r]];
                delta[r] = (float)(total - change);
            }
        }
        return new AttributionResult(attributions, targets, delta);
    }

    /// <summary>f(inputs) followed by f(baselines) in one batched pass: rows [0, N) then [N, 2N).</summary>
    private NdArray<float> EndpointOutputs(NdArray<float> inputs, NdArray<float> reference, int chunk)
    {
        var both = new float[inputs.Length * 2];
        inputs.Data.CopyTo(both, 0);
        reference.Data.CopyTo(both, inputs.Length);
        return Batcher.ForwardRows(_oracle, new NdArray<float>(both, [inputs.Rows * 2, .. inputs.RowShape]), chunk);
    }
}

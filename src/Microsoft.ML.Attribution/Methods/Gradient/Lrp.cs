using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Autodiff.RuleSets;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Layer-wise relevance propagation (Bach et al. 2015; Captum's <c>LRP</c>): the target output's value is passed back
/// node by node with a rule per node (<see cref="LrpRules"/>: by node name or op type; ε, γ, αβ or identity) down to the
/// input. The relevance of a row sums to the output where the rules conserve it (ε → 0, no biases); as Captum, the
/// convergence delta per row is f(x)[t] − Σ relevance.
/// </summary>
public sealed class Lrp
{
    private readonly OnnxGradientOracle _oracle;
    private readonly Lazy<(OnnxGradientOracle Oracle, GradientRuleSet Rules)> _relevance;

    /// <summary>Creates the method over an ONNX model.</summary>
    /// <param name="oracle">The model (an <see cref="OnnxGradientOracle"/>: the rules act on its ONNX nodes).</param>
    /// <param name="rules">The rule of each node; default <see cref="LrpRules.Default"/> (Captum's).</param>
    public Lrp(IGradientOracle oracle, LrpRules? rules = null)
    {
        ArgumentNullException.ThrowIfNull(oracle);
        _oracle = oracle as OnnxGradientOracle ?? throw new NotSupportedException($"LRP applies its rules to ONNX nodes; it needs an OnnxGradientOracle, not {oracle.GetType().Name}.");
        Rules = rules ?? LrpRules.Default;
        _relevance = new(() => LrpPass.Oracle(_oracle, Rules));
    }

    /// <summary>The rule table.</summary>
    public LrpRules Rules { get; }

    /// <summary>Relevance of each row's target output at the input elements.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="internalBatchSize">Rows per model call.</param>
    /// <exception cref="NotSupportedException">A node on the way to the output has no rule (the message names it and its op).</exception>
    public AttributionResult Attribute(NdArray<float> inputs, Target? target = null, int? internalBatchSize = null) =>
        LrpPass.Run(_oracle, _relevance.Value, _oracle.InputName, inputs, target, internalBatchSize);
}

/// <summary>
/// Layer LRP (Captum's <c>LayerLRP</c>): the relevance reaching a layer's output (or, with attributeToLayerInput, its
/// input) when LRP passes the target output back with the rules of <see cref="LrpRules"/>. Convergence delta per row:
/// f(x)[t] − Σ layer relevance.
/// </summary>
public sealed class LayerLrp
{
    private readonly ILayerOracle _layer;
    private readonly Lazy<(OnnxGradientOracle Model, (OnnxGradientOracle Oracle, GradientRuleSet Rules) Relevance)> _models;

    /// <summary>Creates the method over an ONNX layer oracle.</summary>
    /// <param name="oracle">The model and the layer (an <see cref="OnnxLayerOracle"/>).</param>
    /// <param name="rules">The rule of each node; default <see cref="LrpRules.Default"/> (Captum's).</param>
    public LayerLrp(ILayerOracle oracle, LrpRules? rules = null)
    {
        _layer = oracle ?? throw new ArgumentNullException(nameof(oracle));
        Rules = rules ?? LrpRules.Default;
        _models = new(() =>
        {
            var model = RuleSetLayer.Model(_layer, "LayerLRP");
            return (model, LrpPass.Oracle(model, Rules));
        });
    }

    /// <summary>The rule table.</summary>
    public LrpRules Rules { get; }

    /// <summary>Relevance of each row's target output at the layer's elements.</summary>
    /// <param name="inputs">Rows to explain.</param>
    /// <param name="target">Output index per row; default each row's prediction.</param>
    /// <param name="internalBatchSize">Rows per model call.</param>
    /// <param name="attributeToLayerInput">The relevance at the layer's input rather than its output.</param>
    public AttributionResult Attribute(NdArray<float> inputs, Target? target = null, int? internalBatchSize = null, bool attributeToLayerInput = false)
    {
        var (model, relevance) = _models.Value;
        return LrpPass.Run(model, relevance, _layer.Resolve(attributeToLayerInput), inputs, target, internalBatchSize);
    }
}

/// <summary>The relevance pass shared by <see cref="Lrp"/> and <see cref="LayerLrp"/>.</summary>
internal static class LrpPass
{
    /// <summary>A gradient oracle over the model with the rules' node copies, whose graphs propagate relevance.</summary>
    public static (OnnxGradientOracle Oracle, GradientRuleSet Rules) Oracle(OnnxGradientOracle model, LrpRules rules)
    {
        var (changed, ruleSet) = LrpRuleSet.Build(model.Model, rules);
        return (new OnnxGradientOracle(changed, model.InputName, model.OutputName, model.Options), ruleSet);
    }

    public static AttributionResult Run(OnnxGradientOracle model, (OnnxGradientOracle Oracle, GradientRuleSet Rules) pass, string wrt,
        NdArray<float> inputs, Target? target, int? internalBatchSize)
    {
        var (relevance, ruleSet) = pass;
        model.ValidateInput(inputs);
        int chunk = Batcher.ChunkRows(model, internalBatchSize, inputs.RowSize);
        var (targets, outputSize) = (target ?? Target.Predicted).ResolveWithWidth(model, inputs, chunk);
        GradientSession graph;
        try
        {
            graph = relevance.Graph(ruleSet, [wrt]);
        }
        catch (UnsupportedOperatorException e)
        {
            throw new NotSupportedException($"LRP has no rule for op type(s) {string.Join(", ", e.OpTypes)} (nodes: {string.Join(", ", e.NodeNames.Take(10))}" +
                $"{(e.NodeNames.Count > 10 ? ", …" : "")}). Assign one by op type or node name, e.g. LrpRules.Parse(\"{e.OpTypes[0]}=identity\") " +
                $"or \"{e.NodeNames[0]}=epsilon\" (rules: epsilon, gamma, alpha-beta, identity).", e);
        }
        NdArray<float>? attributions = null;
        var delta = new float[inputs.Rows];
        for (int start = 0; start < inputs.Rows; start += chunk)
        {
            int k = Math.Min(chunk, inputs.Rows - start);
            var batch = new NdArray<float>(inputs.Data[(start * inputs.RowSize)..((start + k) * inputs.RowSize)], [k, .. inputs.RowShape]);
            var seed = new NdArray<float>(k, outputSize);
            for (int i = 0; i < k; i++) seed.Data[i * outputSize + targets[start + i]] = 1f;
            var results = relevance.Run(graph, batch, seed, [model.OutputName, graph.GradientOutputs[0]]);
            var outputs = results[0].Reshape(k, outputSize);
            var normalized = results[1];
            if (normalized.Rank == 0 || normalized.Shape[0] != k)
                throw new InvalidOperationException($"Tensor '{wrt}' has shape {normalized.ShapeText} for {k} input rows; its first axis must be the batch axis.");
            attributions ??= new NdArray<float>([inputs.Rows, .. normalized.RowShape]);
            for (int i = 0; i < k; i++)
            {
                int r = start + i;
                // As Captum: relevance propagated from a seed of 1, then scaled by the output value.
                float output = outputs.Row(i)[targets[r]];
                var src = normalized.Row(i);
                var dst = attributions.Row(r);
                double total = 0;
                for (int j = 0; j < src.Length; j++)
                {
                    dst[j] = src[j] * output;
                    total += dst[j];
                }
                delta[r] = (float)(output - total);
            }
        }
        return new AttributionResult(attributions!, targets, delta);
    }
}

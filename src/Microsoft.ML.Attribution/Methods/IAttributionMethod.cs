using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// A method bound to its model and options, so it can be handed to a wrapper such as <see cref="NoiseTunnel"/>:
/// rows, baselines and targets in, attributions out, in one batched call. Made by <see cref="AttributionMethod.Bind(IForwardOracle, MethodOptions?)"/>.
/// </summary>
public interface IAttributionMethod
{
    /// <summary>The method's registry name.</summary>
    string Name { get; }

    /// <summary>The model the method explains (used by wrappers to validate rows and resolve predicted targets).</summary>
    IForwardOracle Model { get; }

    /// <summary>Attributes rows (with their baselines, or null; one target per row).</summary>
    AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines, Target target);
}

/// <summary>A registry method with its model and options fixed; each call supplies rows, baselines and target.</summary>
internal sealed class BoundMethod(AttributionMethod method, MethodInputs context, MethodOptions options) : IAttributionMethod
{
    public string Name => method.Name;

    public IForwardOracle Model => context.ForwardModel(method.Name);

    public AttributionResult Attribute(NdArray<float> inputs, NdArray<float>? baselines, Target target) =>
        method.Attribute(new MethodInputs
        {
            Model = context.Model, LayerModel = context.LayerModel, Trees = context.Trees, Linear = context.Linear,
            Background = context.Background, FeatureMask = context.FeatureMask, InternalBatchSize = context.InternalBatchSize,
            Rows = inputs, Baselines = baselines, Target = target,
        }, options);

    public override string ToString() => method.Name;
}

namespace Microsoft.ML.Attribution.Autodiff;

/// <summary>
/// Thrown when a gradient is requested through ops that have no gradient rule. Lists every such op type at once.
/// </summary>
public sealed class UnsupportedOperatorException : NotSupportedException
{
    internal UnsupportedOperatorException(IReadOnlyList<string> opTypes, IReadOnlyList<string> nodeNames,
        IReadOnlyList<string>? reasons = null)
        : base($"Gradients cannot be built: no gradient rule for op type(s) {string.Join(", ", opTypes)} " +
               $"(nodes: {string.Join(", ", nodeNames.Take(10))}{(nodeNames.Count > 10 ? ", …" : "")}). " +
               (reasons is { Count: > 0 } ? $"Why: {string.Join("; ", reasons)}. " : "") +
               "Use a perturbation method instead (feature-ablation, occlusion), which needs only the forward pass.")
    {
        OpTypes = opTypes;
        NodeNames = nodeNames;
    }

    /// <summary>Distinct op types without a gradient rule, in graph order.</summary>
    public IReadOnlyList<string> OpTypes { get; }

    /// <summary>Names (or output names) of the nodes that use them.</summary>
    public IReadOnlyList<string> NodeNames { get; }
}

using Microsoft.ML.Attribution.Onnx.Proto;

namespace Microsoft.ML.Attribution.Autodiff;

/// <summary>
/// Emits the backward pass of one forward node: given the gradients of its outputs (null where an output does not
/// reach the differentiated tensor), returns the gradients of its inputs (null where an input has none).
/// </summary>
internal delegate string?[] BackwardFunction(GradientContext context, NodeProto node, string?[] outputGradients);

/// <summary>The gradient rule of one op type.</summary>
/// <param name="Backward">Emits the backward nodes.</param>
/// <param name="DifferentiableInputs">
/// Which input slots carry gradient (e.g. Reshape's data but not its shape). Null means every input.
/// </param>
internal sealed record GradientRule(BackwardFunction Backward, Func<NodeProto, int, bool>? DifferentiableInputs = null)
{
    public bool IsDifferentiable(NodeProto node, int input) => DifferentiableInputs?.Invoke(node, input) ?? true;

    public static Func<NodeProto, int, bool> OnlyInputs(params int[] slots) => (_, i) => slots.Contains(i);
}

/// <summary>
/// A named table of gradient rules keyed by op type. The standard set gives true gradients; other sets
/// (DeepLift rescale, guided backprop, deconvolution) replace a few entries and keep the rest.
/// </summary>
internal sealed class GradientRuleSet
{
    private readonly Dictionary<string, GradientRule> _rules;

    public GradientRuleSet(string name, IDictionary<string, GradientRule> rules)
    {
        Name = name;
        _rules = new Dictionary<string, GradientRule>(rules, StringComparer.Ordinal);
    }

    public string Name { get; }

    /// <summary>Every op type that has a rule.</summary>
    public IEnumerable<string> OpTypes => _rules.Keys;

    public GradientRule? Find(NodeProto node) =>
        string.IsNullOrEmpty(node.Domain) || node.Domain == "ai.onnx" ? _rules.GetValueOrDefault(node.OpType) : null;

    /// <summary>A copy of this set with some rules replaced or added.</summary>
    public GradientRuleSet With(string name, IEnumerable<KeyValuePair<string, GradientRule>> overrides)
    {
        var rules = new Dictionary<string, GradientRule>(_rules, StringComparer.Ordinal);
        foreach (var (op, rule) in overrides) rules[op] = rule;
        return new GradientRuleSet(name, rules);
    }

    /// <summary>True gradients of every supported op.</summary>
    public static GradientRuleSet Standard { get; } = new("standard",
        new Dictionary<string, GradientRule>()
            .AddAll(Rules.ElementwiseRules.All)
            .AddAll(Rules.LinearAlgebraRules.All)
            .AddAll(Rules.ShapeRules.All)
            .AddAll(Rules.SoftmaxRules.All)
            .AddAll(Rules.ActivationRules.All)
            .AddAll(Rules.ReductionRules.All)
            .AddAll(Rules.TensorRules.All)
            .AddAll(Rules.LayerNormRules.All)
            .AddAll(Rules.ConvolutionRules.All)
            .AddAll(Rules.PoolingRules.All)
            .AddAll(Rules.BatchNormRules.All)
            .AddAll(Rules.ResizeRules.All)
            .AddAll(Rules.GatedActivationRules.All)
            .AddAll(Rules.IndexingRules.All)
            .AddAll(Rules.GroupNormRules.All)
            .AddAll(Rules.EinsumRules.All));

    /// <summary>
    /// Ops whose outputs never carry gradient (shape arithmetic, comparisons, index producers): tensors they make are
    /// constants of the backward pass.
    /// </summary>
    public static readonly IReadOnlySet<string> NonDifferentiableOps = new HashSet<string>(StringComparer.Ordinal)
    {
        "Shape", "Size", "Constant", "ConstantOfShape", "Range", "NonZero", "ArgMax", "ArgMin", "Equal", "Greater",
        "GreaterOrEqual", "Less", "LessOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf", "EyeLike",
        "RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli",
        "Floor", "Ceil", "Round", "Sign", "OneHot",
    };
}

internal static class RuleTableExtensions
{
    public static Dictionary<string, GradientRule> AddAll(this Dictionary<string, GradientRule> table,
        IEnumerable<KeyValuePair<string, GradientRule>> rules)
    {
        foreach (var (op, rule) in rules) table.Add(op, rule);
        return table;
    }
}

using System.Globalization;
using Microsoft.ML.Attribution.Onnx.Proto;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// One layer-wise relevance propagation rule (Bach et al. 2015; Montavon et al., "Layer-Wise Relevance Propagation: An
/// Overview", 2019), as Captum's <c>lrp_rules</c>. For a node y = f(x, W), the rules with a denominator compute
/// R_x = x ⊙ ∂f'/∂x(x)ᵀ · (R_y / (z' + ε·sign z')), where f' is the node with its weights changed by the rule and
/// z' = f'(x) (sign 0 counts as +1); nodes without weights (pooling, reshapes) keep f.
/// </summary>
public abstract record LrpRule
{
    private protected LrpRule() { }

    /// <summary>The text form used by <see cref="LrpRules.Parse"/> (e.g. <c>gamma:0.25</c>).</summary>
    public abstract string Text { get; }
}

/// <summary>LRP-ε (Captum's EpsilonRule): the node as it is, ε added to the denominator. Default ε = 1e-9.</summary>
/// <param name="Epsilon">The stabiliser; larger values absorb weak or contradictory relevance.</param>
public sealed record EpsilonLrpRule(double Epsilon = 1e-9) : LrpRule
{
    /// <inheritdoc />
    public override string Text => FormattableString.Invariant($"epsilon:{Epsilon:R}");
}

/// <summary>LRP-γ (Captum's GammaRule): weights W + γ·max(W, 0), favouring positive contributions; stabiliser 1e-9.</summary>
/// <param name="Gamma">How much the positive weights are increased (Captum's default 0.25).</param>
/// <param name="SetBiasToZero">Drop the bias from z' (Captum's set_bias_to_zero).</param>
public sealed record GammaLrpRule(double Gamma = 0.25, bool SetBiasToZero = false) : LrpRule
{
    /// <inheritdoc />
    public override string Text => FormattableString.Invariant($"gamma:{Gamma:R}{(SetBiasToZero ? ":zero-bias" : "")}");
}

/// <summary>
/// LRP-αβ: R_x = α·(x ⊙ W⁺ᵀ R/z⁺) − β·(x ⊙ W⁻ᵀ R/z⁻) with z⁺ = f(x; W⁺, b) and z⁻ = f(x; W⁻, no bias), stabiliser 1e-9.
/// α = 1, β = 0 is Captum's Alpha1_Beta0_Rule (deep Taylor decomposition); α − β = 1 conserves relevance for
/// non-negative inputs (the outputs of a ReLU).
/// </summary>
/// <param name="Alpha">Weight of the positive part (default 1).</param>
/// <param name="Beta">Weight of the negative part (default 0).</param>
/// <param name="SetBiasToZero">Drop the bias from z⁺ (Captum's set_bias_to_zero).</param>
public sealed record AlphaBetaLrpRule(double Alpha = 1, double Beta = 0, bool SetBiasToZero = false) : LrpRule
{
    /// <inheritdoc />
    public override string Text => FormattableString.Invariant($"alpha-beta:{Alpha:R}:{Beta:R}{(SetBiasToZero ? ":zero-bias" : "")}");
}

/// <summary>
/// Relevance passes unchanged (Captum's IdentityRule, and what Captum does at nn.ReLU, nn.Tanh and nn.Dropout): an
/// elementwise node hands R_y to its input as it is; a reshaping node (Flatten, Reshape, Transpose, …) moves it back to
/// the input's layout; a node with several inputs (Add, Concat) routes it as its gradient does. On a weighted node the
/// input and output must have the same shape (e.g. BatchNormalization).
/// </summary>
public sealed record IdentityLrpRule : LrpRule
{
    /// <inheritdoc />
    public override string Text => "identity";
}

/// <summary>
/// Which LRP rule each ONNX node gets: by node name first, then by op type. <see cref="Default"/> follows Captum's
/// defaults (ε = 1e-9 on Conv, Gemm, MatMul, pooling and BatchNormalization; relevance passed through activations,
/// Dropout and reshapes). A node whose op has no rule stops the attribution with an error naming the node and op.
/// </summary>
public sealed class LrpRules
{
    private static readonly string[] Weighted = ["Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization"];
    private static readonly string[] Pools = ["MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool"];
    private static readonly string[] PassThrough =
    [
        "Relu", "LeakyRelu", "Elu", "Selu", "Tanh", "Sigmoid", "Softplus", "Gelu", "Dropout", "Identity",
        "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose", "Pad", "Slice",
    ];

    /// <summary>Creates a table from rules per op type and per node name (the node name wins).</summary>
    /// <param name="byOpType">Rules per ONNX op type (e.g. "Conv"); null for none.</param>
    /// <param name="byNode">Rules per ONNX node name (e.g. "/fc1/Gemm"); null for none.</param>
    public LrpRules(IReadOnlyDictionary<string, LrpRule>? byOpType = null, IReadOnlyDictionary<string, LrpRule>? byNode = null)
    {
        ByOpType = new Dictionary<string, LrpRule>(byOpType ?? new Dictionary<string, LrpRule>(), StringComparer.Ordinal);
        ByNode = new Dictionary<string, LrpRule>(byNode ?? new Dictionary<string, LrpRule>(), StringComparer.Ordinal);
    }

    /// <summary>Rules per op type.</summary>
    public IReadOnlyDictionary<string, LrpRule> ByOpType { get; }

    /// <summary>Rules per node name (they override <see cref="ByOpType"/>).</summary>
    public IReadOnlyDictionary<string, LrpRule> ByNode { get; }

    /// <summary>Captum's defaults: ε = 1e-9 on weighted and pooling ops, identity on activations, Dropout and reshapes.</summary>
    public static LrpRules Default { get; } = new(
        Weighted.Concat(Pools).Select(op => KeyValuePair.Create(op, (LrpRule)new EpsilonLrpRule()))
            .Concat(PassThrough.Select(op => KeyValuePair.Create(op, (LrpRule)new IdentityLrpRule())))
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal));

    /// <summary>This table with more rules laid over it (the given ones win).</summary>
    public LrpRules With(IReadOnlyDictionary<string, LrpRule>? byOpType = null, IReadOnlyDictionary<string, LrpRule>? byNode = null)
    {
        var ops = new Dictionary<string, LrpRule>(ByOpType, StringComparer.Ordinal);
        var nodes = new Dictionary<string, LrpRule>(ByNode, StringComparer.Ordinal);
        foreach (var (k, v) in byOpType ?? new Dictionary<string, LrpRule>()) ops[k] = v;
        foreach (var (k, v) in byNode ?? new Dictionary<string, LrpRule>()) nodes[k] = v;
        return new LrpRules(ops, nodes);
    }

    /// <summary>
    /// The defaults with the rules of <paramref name="text"/> laid over them: comma-separated <c>KEY=RULE</c> pairs, where
    /// KEY is an op type (a name without '/', e.g. <c>Conv</c>) or a node name (<c>node:NAME</c>, or any name with a
    /// '/', e.g. <c>/fc1/Gemm</c>) and RULE is <c>epsilon[:ε]</c>, <c>gamma[:γ][:zero-bias]</c>,
    /// <c>alpha-beta[:α:β][:zero-bias]</c> or <c>identity</c>. Null or empty gives <see cref="Default"/>.
    /// </summary>
    /// <exception cref="FormatException">A pair or rule cannot be read (the message names it).</exception>
    public static LrpRules Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return Default;
        var ops = new Dictionary<string, LrpRule>(StringComparer.Ordinal);
        var nodes = new Dictionary<string, LrpRule>(StringComparer.Ordinal);
        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = pair.LastIndexOf('=');
            if (eq <= 0 || eq == pair.Length - 1)
                throw new FormatException($"LRP rule '{pair}' is not KEY=RULE (e.g. Conv=gamma:0.25 or /fc1/Gemm=epsilon:1e-6).");
            string key = pair[..eq].Trim();
            var rule = ParseRule(pair[(eq + 1)..].Trim());
            if (key.StartsWith("node:", StringComparison.Ordinal)) nodes[key[5..]] = rule;
            else if (key.Contains('/')) nodes[key] = rule;
            else ops[key] = rule;
        }
        return Default.With(ops, nodes);
    }

    private static LrpRule ParseRule(string text)
    {
        var parts = text.Split(':');
        bool zeroBias = parts.Length > 1 && parts[^1] == "zero-bias";
        var numbers = parts.Skip(1).Take(parts.Length - 1 - (zeroBias ? 1 : 0)).Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v)
            ? v : throw new FormatException($"LRP rule '{text}': '{p}' is not a number.")).ToArray();
        LrpRule rule = parts[0] switch
        {
            "epsilon" when !zeroBias && numbers.Length <= 1 => new EpsilonLrpRule(numbers.Length == 1 ? numbers[0] : 1e-9),
            "gamma" when numbers.Length <= 1 => new GammaLrpRule(numbers.Length == 1 ? numbers[0] : 0.25, zeroBias),
            "alpha-beta" when numbers.Length is 0 or 2 => numbers.Length == 2 ? new AlphaBetaLrpRule(numbers[0], numbers[1], zeroBias) : new AlphaBetaLrpRule(SetBiasToZero: zeroBias),
            "identity" when parts.Length == 1 => new IdentityLrpRule(),
            _ => throw new FormatException($"LRP rule '{text}' is not one of epsilon[:ε], gamma[:γ][:zero-bias], alpha-beta[:α:β][:zero-bias], identity."),
        };
        return rule;
    }

    /// <summary>The rule of <paramref name="node"/>: by its name, else by its op type; null when neither has one.</summary>
    internal LrpRule? For(NodeProto node) =>
        node.Name.Length > 0 && ByNode.TryGetValue(node.Name, out var byName) ? byName
        : string.IsNullOrEmpty(node.Domain) || node.Domain == "ai.onnx" ? ByOpType.GetValueOrDefault(node.OpType) : null;

    /// <summary>A name that identifies the table (the gradient graphs are cached by it).</summary>
    internal string Key => string.Join(";", ByOpType.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value.Text}")) + "|" +
        string.Join(";", ByNode.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value.Text}"));
}

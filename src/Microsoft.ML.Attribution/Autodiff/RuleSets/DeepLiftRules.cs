using System.Runtime.CompilerServices;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.RuleSets;

/// <summary>
/// DeepLIFT's rescale rule (Shrikumar et al. 2017) as a swapped rule set. The graph runs a paired batch — n inputs then
/// their n baselines — so each nonlinearity reads its reference activation from the second half: the multiplier is
/// Δout/Δin where |Δin| ≥ 1e-10 and the ordinary derivative otherwise, shared by both halves (as Captum). Linear ops
/// keep their gradients. MaxPool has three treatments: <see cref="Rescale"/> passes its ordinary gradient;
/// <see cref="RescaleWithMaxPool"/> applies the rule Captum's source describes — the changes
/// of the pooled outputs, split at the element-wise max of input and reference outputs, routed back through each half's
/// argmax and divided by Δin — which restores exact summation-to-delta through MaxPool. <see cref="CaptumHooks"/> is
/// what Captum's module hooks compute (see there).
/// </summary>
internal static class DeepLiftRules
{
    private const double Epsilon = 1e-10;

    /// <summary>Captum's elementwise nonlinearities (nn.ReLU, ELU, LeakyReLU, Sigmoid, Tanh, Softplus); MaxPool ordinary.</summary>
    public static GradientRuleSet Rescale { get; } = GradientRuleSet.Standard.With("deeplift-rescale",
    [
        new("Relu", new GradientRule(Elementwise)),
        new("Elu", new GradientRule(Elementwise)),
        new("LeakyRelu", new GradientRule(Elementwise)),
        new("Sigmoid", new GradientRule(Elementwise)),
        new("Tanh", new GradientRule(Elementwise)),
        new("Softplus", new GradientRule(Elementwise)),
    ]);

    /// <summary>The same plus DeepLIFT's MaxPool rule.</summary>
    public static GradientRuleSet RescaleWithMaxPool { get; } = Rescale.With("deeplift-rescale-maxpool",
        [new("MaxPool", new GradientRule(MaxPool, GradientRule.OnlyInputs(0)))]);

    /// <summary>The op types Captum hooks by default (its nonlinearity table).</summary>
    private static readonly HashSet<string> Hooked = new(StringComparer.Ordinal) { "Relu", "Elu", "LeakyRelu", "Sigmoid", "Tanh", "Softplus", "MaxPool", "Softmax" };

    /// <summary>
    /// DeepLIFT as Captum's module hooks apply it: the rescale rule on its nonlinearities and the MaxPool rule, each
    /// computed from the gradient its module's output hook recorded. Captum records that gradient on the output
    /// tensor before the next module's input hook replaces it; so where one hooked op feeds straight into another
    /// (ReLU → MaxPool, MaxPool → ReLU, ReLU → MaxPool → Tanh), the upstream op's rule reads the downstream op's
    /// ordinary gradient, and the downstream rule's result only reaches it where the upstream op falls back to its
    /// ordinary derivative (|Δin| &lt; ε). After a ReLU, the MaxPool rule therefore has no effect; after a Linear it
    /// does. Reproduced here exactly by passing, between two adjacent hooked ops, the ordinary gradient along the edge
    /// and the rule's result on the side. Softmax takes Captum's softmax rule: the rescale quotient, less its mean over
    /// the whole paired batch tensor (so, as in Captum, its numbers depend on which rows share a model call).
    /// </summary>
    public static GradientRuleSet CaptumHooks { get; } = GradientRuleSet.Standard.With("deeplift-captum",
    [
        .. new[] { "Relu", "Elu", "LeakyRelu", "Sigmoid", "Tanh", "Softplus" }
            .Select(op => new KeyValuePair<string, GradientRule>(op, new GradientRule(AsCaptumHook(ElementwiseRule)))),
        new("MaxPool", new GradientRule(AsCaptumHook(MaxPoolRule), GradientRule.OnlyInputs(0))),
        new("Softmax", new GradientRule(AsCaptumHook(SoftmaxRule))),
    ]);

    /// <summary>Per gradient graph: the true gradient at a hooked op's output, when its consumer passed the ordinary one along the edge.</summary>
    private static readonly ConditionalWeakTable<GradientContext, Dictionary<string, string>> TrueGradients = new();

    private delegate (string Result, string Ordinary) RuleBody(GradientContext c, NodeProto n, string recorded, string incoming);

    private static BackwardFunction AsCaptumHook(RuleBody body) => (c, n, g) =>
    {
        var side = TrueGradients.GetOrCreateValue(c);
        // recorded: what this op's output hook saw (the consumer's ordinary gradient when the consumer is hooked);
        // incoming: the true gradient at the output, which the ordinary-derivative fallback multiplies.
        string recorded = g[0]!;
        string incoming = side.Remove(n.Output[0], out var trueGradient) ? trueGradient : recorded;
        var (result, ordinary) = body(c, n, recorded, incoming);
        if (!FedByHookedOp(c, n)) return [result];
        side[n.Input[0]] = result;
        return [ordinary];
    };

    /// <summary>The op's data input is the output of a hooked op, read by this op alone.</summary>
    private static bool FedByHookedOp(GradientContext c, NodeProto n) =>
        c.Model.Producer(n.Input[0]) is { } producer && (string.IsNullOrEmpty(producer.Domain) || producer.Domain == "ai.onnx")
        && Hooked.Contains(producer.OpType) && producer.Output[0] == n.Input[0] && c.Model.Consumers(n.Input[0]).Count == 1;

    /// <summary>Splits a paired batch [2n, …] into its halves.</summary>
    private static (string First, string Second) Halves(GradientContext c, string x)
    {
        var parts = c.Opset >= 18
            ? c.EmitMany("Split", [x], 2, IntAttr("axis", 0), IntAttr("num_outputs", 2))
            : c.EmitMany("Split", [x], 2, IntAttr("axis", 0));
        return (parts[0], parts[1]);
    }

    /// <summary>The per-pair difference first − second, repeated for both halves.</summary>
    private static string PairedDelta(GradientContext c, string x)
    {
        var (first, second) = Halves(c, x);
        var delta = c.Sub(first, second);
        return c.Emit("Concat", [delta, delta], IntAttr("axis", 0));
    }

    /// <summary>|Δin| &lt; ε: where the ordinary derivative is used instead of the finite quotient.</summary>
    private static string Small(GradientContext c, string deltaIn, int type) =>
        c.Emit("Less", [c.Emit("Abs", [deltaIn]), c.Scalar(Epsilon, type)]);

    private static string?[] Elementwise(GradientContext c, NodeProto n, string?[] g) => [ElementwiseRule(c, n, g[0]!, g[0]!).Result];

    private static string?[] MaxPool(GradientContext c, NodeProto n, string?[] g) => [MaxPoolRule(c, n, g[0]!, g[0]!).Result];

    /// <summary>Rescale: dy·Δout/Δin, or the ordinary derivative of <paramref name="incoming"/> where |Δin| &lt; ε.</summary>
    private static (string Result, string Ordinary) ElementwiseRule(GradientContext c, NodeProto n, string dy, string incoming)
    {
        string x = n.Input[0], y = n.Output[0];
        int type = c.ElemTypeOf(x);
        var ordinary = GradientRuleSet.Standard.Find(n)!.Backward(c, n, [incoming])[0]!;
        var deltaIn = PairedDelta(c, x);
        var rescaled = c.Div(c.Mul(dy, PairedDelta(c, y)), deltaIn);
        return (c.Emit("Where", [Small(c, deltaIn, type), ordinary, rescaled]), ordinary);
    }

    /// <summary>Captum's softmax rule: the rescale result less its mean over every element of the paired batch.</summary>
    private static (string Result, string Ordinary) SoftmaxRule(GradientContext c, NodeProto n, string dy, string incoming)
    {
        var (unnormalised, ordinary) = ElementwiseRule(c, n, dy, incoming);
        var mean = c.Emit("ReduceMean", [unnormalised], IntAttr("keepdims", 1));
        return (c.Sub(unnormalised, mean), ordinary);
    }

    private static (string Result, string Ordinary) MaxPoolRule(GradientContext c, NodeProto n, string dy, string incoming)
    {
        string x = n.Input[0], y = n.Output[0];
        int type = c.ElemTypeOf(x);
        var standard = GradientRuleSet.Standard.Find(n)!;
        var ordinary = standard.Backward(c, n, [incoming, null])[0]!;
        var (output, reference) = Halves(c, y);
        var crossMax = c.Emit("Max", [output, reference]);
        // Input half: max(out, ref) − ref; reference half: out − max(out, ref).
        var split = c.Emit("Concat", [c.Sub(crossMax, reference), c.Sub(output, crossMax)], IntAttr("axis", 0));
        var routed = standard.Backward(c, n, [c.Mul(dy, split), null])[0]!;
        var (first, second) = Halves(c, routed);
        var total = c.Add(first, second);
        var deltaIn = PairedDelta(c, x);
        var rescaled = c.Div(c.Emit("Concat", [total, total], IntAttr("axis", 0)), deltaIn);
        return (c.Emit("Where", [Small(c, deltaIn, type), ordinary, rescaled]), ordinary);
    }
}

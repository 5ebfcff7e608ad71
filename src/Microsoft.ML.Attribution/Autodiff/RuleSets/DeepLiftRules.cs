using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.RuleSets;

/// <summary>
/// DeepLIFT's rescale rule (Shrikumar et al. 2017) as a swapped rule set. The graph runs a paired batch — n inputs then
/// their n baselines — so each nonlinearity reads its reference activation from the second half: the multiplier is
/// Δout/Δin where |Δin| ≥ 1e-10 and the ordinary derivative otherwise, shared by both halves (as Captum). Linear ops
/// keep their gradients. MaxPool has two treatments: <see cref="Rescale"/> passes its ordinary gradient, which is what
/// Captum 0.8 computes in practice (its MaxPool hook does not take effect on PyTorch 1.13: attributions and deltas match
/// Captum's to 1e-9 this way); <see cref="RescaleWithMaxPool"/> applies the rule Captum's source describes — the changes
/// of the pooled outputs, split at the element-wise max of input and reference outputs, routed back through each half's
/// argmax and divided by Δin — which restores exact summation-to-delta through MaxPool.
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

    private static string?[] Elementwise(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0], y = n.Output[0], dy = g[0]!;
        int type = c.ElemTypeOf(x);
        var ordinary = GradientRuleSet.Standard.Find(n)!.Backward(c, n, [dy])[0]!;
        var deltaIn = PairedDelta(c, x);
        var rescaled = c.Div(c.Mul(dy, PairedDelta(c, y)), deltaIn);
        return [c.Emit("Where", [Small(c, deltaIn, type), ordinary, rescaled])];
    }

    private static string?[] MaxPool(GradientContext c, NodeProto n, string?[] g)
    {
        string x = n.Input[0], y = n.Output[0], dy = g[0]!;
        int type = c.ElemTypeOf(x);
        var standard = GradientRuleSet.Standard.Find(n)!;
        var ordinary = standard.Backward(c, n, [dy, null])[0]!;
        var (output, reference) = Halves(c, y);
        var crossMax = c.Emit("Max", [output, reference]);
        // Input half: max(out, ref) − ref; reference half: out − max(out, ref).
        var split = c.Emit("Concat", [c.Sub(crossMax, reference), c.Sub(output, crossMax)], IntAttr("axis", 0));
        var routed = standard.Backward(c, n, [c.Mul(dy, split), null])[0]!;
        var (first, second) = Halves(c, routed);
        var total = c.Add(first, second);
        var deltaIn = PairedDelta(c, x);
        var rescaled = c.Div(c.Emit("Concat", [total, total], IntAttr("axis", 0)), deltaIn);
        return [c.Emit("Where", [Small(c, deltaIn, type), ordinary, rescaled])];
    }
}

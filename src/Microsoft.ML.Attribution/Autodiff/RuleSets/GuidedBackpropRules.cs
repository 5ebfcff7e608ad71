using Microsoft.ML.Attribution.Onnx.Proto;

namespace Microsoft.ML.Attribution.Autodiff.RuleSets;

/// <summary>
/// Guided backpropagation (Springenberg et al. 2015) and deconvolution (Zeiler &amp; Fergus 2014): the standard
/// backward pass with the Relu rule replaced. Guided: dX = relu(dY)·[X &gt; 0]; deconvolution: dX = relu(dY). Every ONNX
/// Relu gets the rule (Captum overrides nn.ReLU modules only; functional relus keep their gradient there).
/// </summary>
internal static class GuidedBackpropRules
{
    public static GradientRuleSet Guided { get; } = GradientRuleSet.Standard.With("guided-backprop",
        [new("Relu", new GradientRule(Guide))]);

    public static GradientRuleSet Deconvolution { get; } = GradientRuleSet.Standard.With("deconvolution",
        [new("Relu", new GradientRule(Deconvolve))]);

    private static string?[] Guide(GradientContext c, NodeProto n, string?[] g)
    {
        var passed = GradientRuleSet.Standard.Find(n)!.Backward(c, n, [c.Emit("Relu", [g[0]!])]);
        return passed;
    }

    private static string?[] Deconvolve(GradientContext c, NodeProto n, string?[] g) => [c.Emit("Relu", [g[0]!])];
}

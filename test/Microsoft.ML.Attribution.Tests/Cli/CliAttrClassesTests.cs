using Microsoft.ML.Attribution.Cli;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Cli;

/// <summary>The issue-17 classes through the command line (their registry options as flags) equal the library.</summary>
[TestClass]
public sealed class CliAttrClassesTests
{
    [TestMethod]
    [DataRow("lrp")]
    [DataRow("layer-lrp")]
    [DataRow("layer-deeplift")]
    [DataRow("layer-feature-ablation")]
    [DataRow("neuron-deeplift")]
    [DataRow("neuron-guided-backprop")]
    public void Method_ThroughTheCli_EqualsTheLibrary(string method)
    {
        var c = Fixtures.Case("attr_mnist_cnn_lrp_gamma");
        const string layer = "/fc1/Gemm_output_0", rules = "Conv=gamma:0.25,/fc2/Gemm=epsilon:0.5";
        string output = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}.npy");
        var args = new List<string> { "explain", "--model", c.ModelPath, "--input", c.InputPath, "--method", method, "--target", "1", "--out", output };
        if (method != "lrp") args.AddRange(["--layer", layer]);
        if (method.Contains("lrp", StringComparison.Ordinal)) args.AddRange(["--rules", rules]);
        if (method.StartsWith("neuron-", StringComparison.Ordinal)) args.AddRange(["--neuron", "5"]);
        var stderr = new StringWriter();
        try
        {
            Assert.AreEqual(0, CliApp.Run([.. args], new StringWriter(), stderr), stderr.ToString());
            var oracle = new OnnxGradientOracle(c.ModelPath);
            var atLayer = new OnnxLayerOracle(c.ModelPath, layer);
            var expected = method switch
            {
                "lrp" => new Lrp(oracle, LrpRules.Parse(rules)).Attribute(c.Input, Target.Class(1)).Attributions,
                "layer-lrp" => new LayerLrp(atLayer, LrpRules.Parse(rules)).Attribute(c.Input, Target.Class(1)).Attributions,
                "layer-deeplift" => new LayerDeepLift(atLayer).Attribute(c.Input, null, Target.Class(1)).Attributions,
                "layer-feature-ablation" => new LayerFeatureAblation(atLayer).Attribute(c.Input, null, Target.Class(1)).Attributions,
                "neuron-deeplift" => new NeuronDeepLift(atLayer).Attribute(c.Input, [5]).Attributions,
                _ => new NeuronGuidedBackprop(atLayer).Attribute(c.Input, [5]).Attributions,
            };
            var actual = Npy.ReadFloat(output);
            CollectionAssert.AreEqual(expected.Shape, actual.Shape, method);
            AssertArrays.Close(expected, actual, 1e-6, method);
            if (method.Contains("lrp", StringComparison.Ordinal))
            {
                var plain = method == "lrp" ? new Lrp(oracle).Attribute(c.Input, Target.Class(1)).Attributions
                    : new LayerLrp(atLayer).Attribute(c.Input, Target.Class(1)).Attributions;
                Assert.IsTrue(plain.Data.Zip(actual.Data).Any(p => Math.Abs(p.First - p.Second) > 1e-5), "--rules reached the method");
            }
        }
        finally
        {
            File.Delete(output);
        }
    }

    [TestMethod]
    public void Lrp_WithAMalformedRule_IsAUsageErrorNamingIt()
    {
        var c = Fixtures.Case("attr_mnist_cnn_lrp_gamma");
        var stderr = new StringWriter();
        int code = CliApp.Run(["explain", "--model", c.ModelPath, "--input", c.InputPath, "--method", "lrp", "--rules", "Conv=zeta",
            "--out", Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}.npy")], new StringWriter(), stderr);
        Assert.AreNotEqual(0, code);
        StringAssert.Contains(stderr.ToString(), "zeta");
    }
}

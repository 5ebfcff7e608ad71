using Microsoft.ML.Attribution.Cli;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Cli;

/// <summary>The CNN gradient family through the command line equals the library (and so Captum, via the parity tests).</summary>
[TestClass]
public sealed class CliGradientMethodTests
{
    [TestMethod]
    [DataRow("deeplift")]
    [DataRow("guided-backprop")]
    [DataRow("deconvolution")]
    [DataRow("guided-gradcam")]
    [DataRow("gradcam")]
    [DataRow("noise-tunnel")]
    public void Method_ThroughTheCli_EqualsTheLibrary(string method)
    {
        var c = Fixtures.Case("gm_cnn_deeplift_zero");
        string output = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}.npy");
        var args = new List<string> { "explain", "--model", c.ModelPath, "--input", c.InputPath, "--method", method, "--target", "1", "--out", output };
        if (method is "guided-gradcam" or "gradcam") args.AddRange(["--layer", "/conv2/Conv_output_0"]);
        if (method == "noise-tunnel") args.AddRange(["--base-method", "deeplift", "--samples", "3", "--stdevs", "0.1", "--seed", "4"]);
        var stderr = new StringWriter();
        Assert.AreEqual(0, CliApp.Run([.. args], new StringWriter(), stderr), stderr.ToString());
        var oracle = new OnnxGradientOracle(c.ModelPath);
        var expected = method switch
        {
            "deeplift" => new DeepLift(oracle).Attribute(c.Input, null, Target.Class(1)).Attributions,
            "guided-backprop" => new GuidedBackprop(oracle).Attribute(c.Input, Target.Class(1)).Attributions,
            "deconvolution" => new Deconvolution(oracle).Attribute(c.Input, Target.Class(1)).Attributions,
            "guided-gradcam" => new GuidedGradCam(oracle, oracle.AtLayer("/conv2/Conv_output_0")).Attribute(c.Input, Target.Class(1)).Attributions,
            "gradcam" => new LayerGradCam(new OnnxLayerOracle(c.ModelPath, "/conv2/Conv_output_0")).Attribute(c.Input, Target.Class(1)).Attributions,
            _ => new NoiseTunnel(MethodRegistry.Get("deeplift").Bind(oracle)).Attribute(c.Input, samples: 3, stdev: 0.1, target: Target.Class(1), seed: 4).Attributions,
        };
        CollectionAssert.AreEqual(expected.Data, Npy.ReadFloat(output).Data);
    }
}

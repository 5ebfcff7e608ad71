using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Gpu.Tests;

/// <summary>
/// The GPU build of ONNX Runtime (Microsoft.ML.OnnxRuntime.Gpu, through Microsoft.ML.Attribution.Gpu) on whatever
/// machine runs the tests: without CUDA 13 / cuDNN 9 the fallback is exercised for real; with them, the CUDA path.
/// </summary>
[TestClass]
public sealed class CudaFallbackTests
{
    private static readonly string Toy = Path.Combine(AppContext.BaseDirectory, "Models", "toy.onnx");

    private static readonly NdArray<float> ToyInput = new([1f, 2f, 3f, 0.5f, -1f, 2f], 2, 3);

    [TestMethod]
    public void GpuBuild_ListsTheCudaProvider()
    {
        var providers = Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders();
        CollectionAssert.Contains(providers, "CUDAExecutionProvider", string.Join(", ", providers));
    }

    [TestMethod]
    public void FallbackToCpu_WithoutCuda_RunsOnCpu_EqualToACpuRun_AndLogsWhy()
    {
        if (CudaDevice.Usable) Assert.Inconclusive("CUDA works on this machine; the fallback cannot be exercised.");
        var messages = new List<string>();
        var options = new RuntimeOptions { GpuDeviceId = 0, FallbackToCpu = true, Log = m => { lock (messages) messages.Add(m); } };

        var oracle = new OnnxGradientOracle(Toy, options: options);
        var fellBack = new IntegratedGradients(oracle).Attribute(ToyInput, target: Target.Class(0));
        var onCpu = new IntegratedGradients(new OnnxGradientOracle(Toy)).Attribute(ToyInput, target: Target.Class(0));

        Assert.AreEqual(ExecutionDevice.Cpu, oracle.Device);
        CollectionAssert.AreEqual(onCpu.Attributions.Data, fellBack.Attributions.Data);
        Assert.HasCount(1, messages, string.Join(Environment.NewLine, messages));
        StringAssert.Contains(messages[0], "running on the CPU");
        StringAssert.Contains(messages[0], "CUDA 13");
        StringAssert.Contains(messages[0], "cuDNN 9");
    }

    [TestMethod]
    public void NoFallback_WithoutCuda_ThrowsNamingWhatIsMissing()
    {
        if (CudaDevice.Usable) Assert.Inconclusive("CUDA works on this machine; there is nothing missing to report.");
        var options = new RuntimeOptions { GpuDeviceId = 0, FallbackToCpu = false };

        var oracle = new OnnxGradientOracle(Toy, options: options);

        var e = Assert.ThrowsExactly<InvalidOperationException>(() => new IntegratedGradients(oracle).Attribute(ToyInput, target: Target.Class(0)));

        StringAssert.Contains(e.Message, "CUDA device 0");
        StringAssert.Contains(e.Message, "CUDA 13");
        StringAssert.Contains(e.Message, "cuDNN 9");
        StringAssert.Contains(e.Message, "FallbackToCpu");
        Assert.IsInstanceOfType<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(e.InnerException);
    }

    [TestMethod]
    public void CudaAsked_WithCuda_RunsOnCuda_AndSaysSo()
    {
        if (!CudaDevice.Usable) Assert.Inconclusive($"No usable CUDA device: {CudaDevice.Reason}");
        var messages = new List<string>();
        var oracle = new OnnxGradientOracle(Toy, options: new RuntimeOptions { GpuDeviceId = 0, Log = m => { lock (messages) messages.Add(m); } });
        Assert.AreEqual(ExecutionDevice.Cuda, oracle.Device);
        Assert.IsTrue(messages.Any(m => m.Contains("running on CUDA device 0", StringComparison.Ordinal)), string.Join(Environment.NewLine, messages));
    }
}

using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Runtime;

[TestClass]
public sealed class DeviceSelectionTests
{
    private static bool CudaAvailable => OnnxSession.AvailableProviders().Contains("CUDAExecutionProvider");

    [TestMethod]
    public void CudaRequest_WithoutCudaProvider_RunsOnCpu_AndLogsOnceThroughMLContext()
    {
        if (CudaAvailable) Assert.Inconclusive("This ONNX Runtime build has CUDA; the fallback path cannot be exercised here.");
        var mlContext = new MLContext(seed: 1);
        var messages = new List<string>();
        mlContext.Log += (_, e) => { if (e.Message.Contains("CUDA")) lock (messages) messages.Add(e.Message); };
        var options = new RuntimeOptions { Device = ExecutionDevice.Cuda, Log = MLContextLog.For(mlContext) };
        var c = Fixtures.Case("toy_ig_gausslegendre");

        var oracle = new OnnxGradientOracle(c.ModelPath, options: options);
        var onCuda = new IntegratedGradients(oracle).Attribute(c.Input, target: Target.Class(0));
        var onCpu = new IntegratedGradients(new OnnxGradientOracle(c.ModelPath)).Attribute(c.Input, target: Target.Class(0));

        Assert.AreEqual(ExecutionDevice.Cpu, oracle.Device);
        CollectionAssert.AreEqual(onCpu.Attributions.Data, onCuda.Attributions.Data);
        // Two sessions were created (forward and gradient graph); the reason is logged once.
        Assert.HasCount(1, messages);
        StringAssert.Contains(messages[0], "CPU");
    }

    [TestMethod]
    public void CudaRequest_WithCudaProvider_RunsOnCuda()
    {
        if (!CudaAvailable) Assert.Inconclusive("No CUDAExecutionProvider in this ONNX Runtime build (CPU package); needs Microsoft.ML.OnnxRuntime.Gpu and a GPU.");
        var c = Fixtures.Case("toy_ig_gausslegendre");
        var oracle = new OnnxGradientOracle(c.ModelPath, options: new RuntimeOptions { Device = ExecutionDevice.Cuda });
        var result = new IntegratedGradients(oracle).Attribute(c.Input, target: Target.Class(0));
        Assert.AreEqual(ExecutionDevice.Cuda, oracle.Device);
        AssertArrays.Close(c.Expected, result.Attributions, 1e-4, "IG on CUDA");
    }

    [TestMethod]
    [DataRow("cpu", ExecutionDevice.Cpu, 0)]
    [DataRow("cuda", ExecutionDevice.Cuda, 0)]
    [DataRow("CUDA:3", ExecutionDevice.Cuda, 3)]
    public void DeviceNames_Parse(string text, ExecutionDevice device, int id)
    {
        var options = RuntimeOptions.ForDevice(text);
        Assert.AreEqual(device, options.Device);
        Assert.AreEqual(id, options.CudaDeviceId);
    }

    [TestMethod]
    [DataRow(false, "0")]
    [DataRow(true, "1")]
    public void CudaProviderSettings_NameTheDevice_AndKeepTf32OffUnlessAllowed(bool allow, string tf32)
    {
        var settings = OnnxSession.CudaProviderSettings(new RuntimeOptions { Device = ExecutionDevice.Cuda, CudaDeviceId = 2, AllowTf32 = allow });
        Assert.AreEqual("2", settings["device_id"]);
        Assert.AreEqual(tf32, settings["use_tf32"]);
    }

    [TestMethod]
    public void UnknownDeviceName_IsRejected()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => RuntimeOptions.ForDevice("tpu"));
        StringAssert.Contains(e.Message, "'tpu'");
    }
}

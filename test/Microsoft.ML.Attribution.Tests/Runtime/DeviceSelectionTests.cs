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
        Assert.AreEqual(device == ExecutionDevice.Cuda ? id : null, options.GpuDeviceId);
        Assert.AreEqual(device == ExecutionDevice.Cuda, options.FallbackToCpu, "the command line falls back with an info line");
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
    public void GpuDeviceId_WithoutFallback_OnTheCpuBuild_ThrowsNamingTheGpuPackage()
    {
        if (CudaAvailable) Assert.Inconclusive("This ONNX Runtime build has CUDA; the CPU build's error cannot be exercised here.");
        var c = Fixtures.Case("toy_ig_gausslegendre");
        var oracle = new OnnxGradientOracle(c.ModelPath, options: new RuntimeOptions { GpuDeviceId = 0 });

        var e = Assert.ThrowsExactly<InvalidOperationException>(() => new IntegratedGradients(oracle).Attribute(c.Input, target: Target.Class(0)));

        StringAssert.Contains(e.Message, "CUDA device 0");
        StringAssert.Contains(e.Message, "Microsoft.ML.Attribution.Gpu");
        StringAssert.Contains(e.Message, "FallbackToCpu");
    }

    [TestMethod]
    public void GpuDeviceId_WithFallback_OnTheCpuBuild_RunsOnCpu_AndLogsWhy()
    {
        if (CudaAvailable) Assert.Inconclusive("This ONNX Runtime build has CUDA; the fallback path cannot be exercised here.");
        var messages = new List<string>();
        var c = Fixtures.Case("toy_ig_gausslegendre");
        var oracle = new OnnxGradientOracle(c.ModelPath, options: new RuntimeOptions { GpuDeviceId = 1, FallbackToCpu = true, Log = m => { lock (messages) messages.Add(m); } });

        var result = new IntegratedGradients(oracle).Attribute(c.Input, target: Target.Class(0));

        Assert.AreEqual(ExecutionDevice.Cpu, oracle.Device);
        AssertArrays.Close(c.Expected, result.Attributions, 1e-4, "IG after the fallback");
        Assert.HasCount(1, messages);
        StringAssert.Contains(messages[0], "device 1");
        StringAssert.Contains(messages[0], "Microsoft.ML.Attribution.Gpu");
        StringAssert.Contains(messages[0], "running on the CPU");
    }

    [TestMethod]
    public void Defaults_AreCpu_WithoutFallback_AsInMLNet()
    {
        var options = new RuntimeOptions();
        Assert.IsNull(options.GpuDeviceId);
        Assert.IsFalse(options.FallbackToCpu);
        Assert.AreEqual(ExecutionDevice.Cpu, options.Device);
    }

    [TestMethod]
    public void DeviceCuda_MapsOntoGpuDeviceId_WithFallback_WhateverTheOrder()
    {
        var first = new RuntimeOptions { Device = ExecutionDevice.Cuda, CudaDeviceId = 2 };
        var second = new RuntimeOptions { CudaDeviceId = 2, Device = ExecutionDevice.Cuda };
        foreach (var options in new[] { first, second })
        {
            Assert.AreEqual(2, options.GpuDeviceId);
            Assert.IsTrue(options.FallbackToCpu);
            Assert.AreEqual(ExecutionDevice.Cuda, options.Device);
        }
        Assert.IsFalse(new RuntimeOptions { Device = ExecutionDevice.Cuda, FallbackToCpu = false }.FallbackToCpu);
        Assert.IsNull(new RuntimeOptions { CudaDeviceId = 2 }.GpuDeviceId, "a device number alone does not ask for CUDA");
    }

    [TestMethod]
    public void GpuDeviceId_ShowsAsCudaDevice_AndDeviceCpuClearsIt()
    {
        var gpu = new RuntimeOptions { GpuDeviceId = 3 };
        Assert.AreEqual(ExecutionDevice.Cuda, gpu.Device);
        Assert.AreEqual(3, gpu.CudaDeviceId);
        Assert.IsFalse(gpu.FallbackToCpu);
        Assert.IsNull((gpu with { Device = ExecutionDevice.Cpu }).GpuDeviceId);
    }

    [TestMethod]
    public void UnknownDeviceName_IsRejected()
    {
        var e = Assert.ThrowsExactly<ArgumentException>(() => RuntimeOptions.ForDevice("tpu"));
        StringAssert.Contains(e.Message, "'tpu'");
    }
}

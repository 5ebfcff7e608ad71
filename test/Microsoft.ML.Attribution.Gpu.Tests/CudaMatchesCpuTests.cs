using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Gpu.Tests;

/// <summary>
/// The same attributions on CUDA and on the CPU (the GPU build runs both) for the ResNet-style benchmark model, within
/// 1e-4: TF32 stays off by default, so CUDA's float32 kernels differ from the CPU's only in summation order.
/// </summary>
[TestClass]
public sealed class CudaMatchesCpuTests
{
    private const double Tolerance = 1e-4;
    private const string Layer = "/blocks.1/blocks.1.3/Conv_output_0";
    private static readonly string Model = Path.Combine(AppContext.BaseDirectory, "Models", "resnet", "model.onnx");
    private static readonly RuntimeOptions Cuda = new() { GpuDeviceId = 0 };
    private static readonly RuntimeOptions Cpu = RuntimeOptions.Default;

    private static NdArray<float> Input => Npy.ReadFloat(Path.Combine(AppContext.BaseDirectory, "Models", "resnet", "input.npy"));

    [TestInitialize]
    public void RequireCuda()
    {
        if (!CudaDevice.Usable) Assert.Inconclusive($"No usable CUDA device: {CudaDevice.Reason}");
    }

    [TestMethod]
    public void IntegratedGradients_OnCuda_MatchesCpu()
    {
        NdArray<float> Run(RuntimeOptions o) => new IntegratedGradients(new OnnxGradientOracle(Model, options: o))
            .Attribute(Input, target: Target.Class(0), steps: 16).Attributions;
        AssertClose(Run(Cpu), Run(Cuda), "IG");
    }

    [TestMethod]
    public void Occlusion_OnCuda_MatchesCpu()
    {
        NdArray<float> Run(RuntimeOptions o) => new Occlusion(new OnnxGradientOracle(Model, options: o))
            .Attribute(Input, [3, 8, 8], [3, 8, 8], target: Target.Class(0)).Attributions;
        AssertClose(Run(Cpu), Run(Cuda), "Occlusion");
    }

    [TestMethod]
    public void LayerGradCam_OnCuda_MatchesCpu()
    {
        NdArray<float> Run(RuntimeOptions o) => new LayerGradCam(new OnnxLayerOracle(Model, Layer, options: o))
            .Attribute(Input, Target.Class(0)).Attributions;
        AssertClose(Run(Cpu), Run(Cuda), "GradCAM");
    }

    [TestMethod]
    public void KernelShap_OnCuda_MatchesCpu()
    {
        var input = Input;
        // 8×8 patches shared by the three channels: 16 features, so the regression is well determined.
        var row = input.RowShape;
        var mask = new long[row[0] * row[1] * row[2]];
        for (int c = 0; c < row[0]; c++)
            for (int y = 0; y < row[1]; y++)
                for (int x = 0; x < row[2]; x++)
                    mask[(c * row[1] + y) * row[2] + x] = y / 8 * (row[2] / 8) + x / 8;
        NdArray<float> Run(RuntimeOptions o) => new KernelShap(new OnnxGradientOracle(Model, options: o))
            .Attribute(input, target: Target.Class(0), featureMask: new NdArray<long>(mask, row), samples: 64, seed: 7).Attributions;
        AssertClose(Run(Cpu), Run(Cuda), "KernelSHAP");
    }

    private static void AssertClose(NdArray<float> expected, NdArray<float> actual, string what)
    {
        CollectionAssert.AreEqual(expected.Shape, actual.Shape, what);
        for (int i = 0; i < expected.Data.Length; i++)
        {
            double e = expected.Data[i], a = actual.Data[i];
            Assert.IsLessThanOrEqualTo(Tolerance * Math.Max(1, Math.Abs(e)), Math.Abs(e - a), $"{what}: element {i} is {a} on CUDA, {e} on the CPU");
        }
    }
}

using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Gpu.Tests;

/// <summary>Whether this machine can run a CUDA session (driver, CUDA 13 and cuDNN 9 present), found once by trying.</summary>
internal static class CudaDevice
{
    private static readonly Lazy<string?> Failure = new(() =>
    {
        try
        {
            var toy = Path.Combine(AppContext.BaseDirectory, "Models", "toy.onnx");
            // Sessions are created on first use, so run the model once.
            var oracle = new OnnxGradientOracle(toy, options: new RuntimeOptions { GpuDeviceId = 0, FallbackToCpu = false });
            _ = oracle.Forward(new NdArray<float>([1f, 2f, 3f], 1, 3));
            return null;
        }
        catch (InvalidOperationException e)
        {
            return e.Message;
        }
    });

    /// <summary>True when a session on CUDA device 0 could be created.</summary>
    public static bool Usable => Failure.Value is null;

    /// <summary>Why CUDA cannot be used, when it cannot.</summary>
    public static string Reason => Failure.Value ?? "CUDA is usable";
}

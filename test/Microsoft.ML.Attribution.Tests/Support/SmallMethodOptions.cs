using Microsoft.ML.Attribution.Methods;

namespace Microsoft.ML.Attribution.Tests.Support;

/// <summary>A method's registry defaults with fewer steps / samples, so tests over many rows stay quick.</summary>
internal static class SmallMethodOptions
{
    public static MethodOptions For(string method, int steps = 8, int samples = 20) => MethodRegistry.Get(method).CreateDefaultOptions() switch
    {
        IntegratedGradientsOptions o => o with { Steps = steps },
        ShapleyValueSamplingOptions o => o with { Samples = samples },
        KernelShapOptions o => o with { Samples = samples },
        LimeOptions o => o with { Samples = samples },
        var o => o,
    };
}

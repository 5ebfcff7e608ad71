namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>Gradients of Conv (input and weights) via ConvTranspose / Conv.</summary>
internal static class ConvolutionRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All => [];
}

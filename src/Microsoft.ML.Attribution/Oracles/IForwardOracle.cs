using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>A model seen from outside: a batch of input rows in, a batch of output rows out.</summary>
public interface IForwardOracle
{
    /// <summary>Name of the attributed input (for error messages).</summary>
    string InputName { get; }

    /// <summary>Name of the explained output.</summary>
    string OutputName { get; }

    /// <summary>
    /// The most rows one call may carry (e.g. 1 for a model exported with a fixed batch of 1), or null for no limit.
    /// </summary>
    int? MaxRowsPerCall { get; }

    /// <summary>Checks that a batch can be fed (row shape, finiteness) and throws a clear error naming the input otherwise.</summary>
    void ValidateInput(NdArray<float> inputs);

    /// <summary>Runs the model on <c>[n, …]</c> rows; returns <c>[n, outputs per row]</c>.</summary>
    NdArray<float> Forward(NdArray<float> inputs);
}

/// <summary>A model that also gives gradients of its output with respect to its input.</summary>
public interface IGradientOracle : IForwardOracle
{
    /// <summary>
    /// Runs forward and backward on <c>[n, …]</c> rows. <paramref name="seed"/> is <c>[n, outputs per row]</c>, the
    /// gradient flowing into the output (a one-hot of the target per row for class attributions).
    /// Returns the outputs <c>[n, outputs per row]</c> and the gradients, shaped like <paramref name="inputs"/>.
    /// </summary>
    (NdArray<float> Outputs, NdArray<float> Gradients) ForwardBackward(NdArray<float> inputs, NdArray<float> seed);
}

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>
/// An oracle that writes results into caller-owned memory (ONNX Runtime I/O binding), so chunked methods can reuse one
/// set of buffers for every chunk instead of allocating inputs, outputs and gradients per chunk.
/// </summary>
internal interface IBufferedOracle : IGradientOracle
{
    /// <summary>The shape of one row of the output; <paramref name="firstRow"/> (one input row) is run when it is not yet known.</summary>
    int[] OutputRowShape(ReadOnlySpan<float> firstRow, int[] rowShape);

    /// <summary>Forward pass of <c>shape[0]</c> rows read from the start of <paramref name="inputs"/> into <paramref name="outputs"/>.</summary>
    void ForwardInto(float[] inputs, int[] shape, Memory<float> outputs);

    /// <summary>
    /// Forward and backward pass of <c>shape[0]</c> rows: outputs into <paramref name="outputs"/> and the gradient of
    /// the seeded outputs with respect to the input into <paramref name="gradients"/> (shaped like the inputs).
    /// </summary>
    void ForwardBackwardInto(float[] inputs, int[] shape, float[] seed, Memory<float> outputs, Memory<float> gradients);
}

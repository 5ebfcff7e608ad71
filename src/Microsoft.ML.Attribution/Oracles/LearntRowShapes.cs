using System.Collections.Concurrent;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>
/// Row shapes of a model's tensors (the batch axis excluded) as runs have shown them, per input row shape: a model with
/// a symbolic non-batch axis (a sequence length) gives other shapes for other input lengths. Outputs whose row shape is
/// known can be bound to caller memory before a run.
/// </summary>
internal sealed class LearntRowShapes
{
    private readonly ConcurrentDictionary<(string Tensor, string InputRowShape), int[]> _shapes = new();

    /// <summary>The row shape of <paramref name="tensor"/> for input rows shaped <paramref name="inputRowShape"/>, if a run has shown it.</summary>
    public int[]? Get(string tensor, ReadOnlySpan<int> inputRowShape) => _shapes.GetValueOrDefault((tensor, NdArray<float>.FormatShape(inputRowShape)));

    /// <summary>Records what a run (or the model's structure, e.g. a gradient shaped like its tensor) has shown.</summary>
    public void Learn(string tensor, ReadOnlySpan<int> inputRowShape, int[] rowShape) =>
        _shapes.TryAdd((tensor, NdArray<float>.FormatShape(inputRowShape)), rowShape);
}

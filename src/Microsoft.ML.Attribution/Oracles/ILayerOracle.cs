using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>
/// A model seen through one of its intermediate tensors (a "layer"): what the layer and neuron methods need. The
/// batched members (activations, gradients at the layer, gradients with the graph cut at the layer) are internal: they
/// stream chunks of expanded items (rows × steps) and are implemented by <see cref="OnnxLayerOracle"/> and by the
/// library's tests.
/// </summary>
public interface ILayerOracle
{
    /// <summary>The attributed model input.</summary>
    string InputName { get; }

    /// <summary>The explained output.</summary>
    string OutputName { get; }

    /// <summary>The layer tensor.</summary>
    string LayerName { get; }

    /// <summary>The layer's input (Captum's <c>attribute_to_layer_input</c>), or null when the layer is a model input.</summary>
    string? LayerInputName { get; }

    /// <summary>True when the attributed input holds token ids rather than float32 features.</summary>
    bool InputIsTokenIds { get; }

    /// <summary>The most rows one call may carry, or null for no limit.</summary>
    int? MaxRowsPerCall { get; }

    /// <summary>Checks that a batch fits the attributed input (element type, row shape, finite features).</summary>
    internal void Validate(InputRows inputs);

    /// <summary>Rows per call for items of <paramref name="rowSize"/> elements.</summary>
    internal int ChunkRows(int? internalBatchSize, int rowSize);

    /// <summary>The values of <paramref name="tensors"/> (the output, the layer, the layer's input) for every item: one <c>[items, …]</c> array each.</summary>
    internal NdArray<float>[] Evaluate(IReadOnlyList<string> tensors, InputSource source, int items, int chunkRows);

    /// <summary>
    /// For each item in order: the output row, the layer's activation and the gradient of output element
    /// <paramref name="targetOf"/>(item) with respect to the layer. <paramref name="layerRowShape"/> hears the layer's
    /// row shape before the first item is consumed.
    /// </summary>
    internal void LayerGradients(string layer, InputSource source, int items, int chunkRows, Func<int, int> targetOf,
        Action<int, ReadOnlySpan<float>, ReadOnlySpan<float>, ReadOnlySpan<float>> consume, Action<int[]>? layerRowShape = null);

    /// <summary>
    /// Gradients of the output with respect to the layer when the layer's values are given by <paramref name="fillLayer"/>
    /// (the model cut at the layer); whatever else the cut model reads from the input is row <paramref name="rowOf"/>(i)
    /// of <paramref name="originals"/>. Items consumed in order with their output row and layer gradient.
    /// </summary>
    internal void CutGradients(string layer, int[] layerRowShape, InputRows originals, Func<int, int> rowOf, int items, int chunkRows,
        Action<int, Span<float>> fillLayer, Func<int, int> targetOf, Action<int, ReadOnlySpan<float>, ReadOnlySpan<float>> consume);

    /// <summary>Gradient of one layer element (flat index within a row) with respect to the model input, per item in order.</summary>
    internal void NeuronInputGradients(string layer, int[] layerRowShape, int neuron, InputSource source, int items, int chunkRows,
        Action<int, ReadOnlySpan<float>> consume);

    /// <summary>A gradient oracle over the same model whose explained output is <paramref name="tensor"/> (e.g. the layer).</summary>
    internal IGradientOracle AsGradientOracle(string tensor);
}

/// <summary>Helpers every layer oracle shares.</summary>
internal static class LayerOracles
{
    /// <summary>The layer tensor, or its input when <paramref name="attributeToLayerInput"/> is set.</summary>
    public static string Resolve(this ILayerOracle oracle, bool attributeToLayerInput, string parameter = "attributeToLayerInput")
    {
        if (!attributeToLayerInput) return oracle.LayerName;
        return oracle.LayerInputName ?? throw new ArgumentException(
            $"Layer '{oracle.LayerName}' is a graph input; it has no producing node whose input could be attributed ({parameter}).");
    }

    /// <summary>The explained output's row shape, from one forward pass of the first item.</summary>
    public static int[] OutputRowShape(this ILayerOracle oracle, InputSource source) =>
        oracle.Evaluate([oracle.OutputName], source, 1, 1)[0].RowShape;
}

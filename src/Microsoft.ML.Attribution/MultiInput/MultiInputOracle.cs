using System.Collections.Concurrent;
using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.MultiInput;

/// <summary>One attributed model input inside the flat row vector: its name, row shape, offset and element kind.</summary>
internal sealed record InputSlot(string Name, int[] RowShape, int Offset, bool IsTokenIds)
{
    public int Size => (int)NdArray<float>.ShapeSize(RowShape);
}

/// <summary>
/// A model with several inputs seen as a single-input one, so every method works unchanged: the attributed inputs are
/// laid side by side in one flat row (<c>[n, Σ row sizes]</c>); each call splits the row back into the model's inputs
/// and feeds the held inputs (one row each, repeated for every item of the call). Token-id inputs may be attributed by
/// perturbation methods (their values replaced by baseline ids, carried exactly as floats below 2²⁴); gradients of them
/// are refused.
/// </summary>
internal sealed class MultiInputOracle : IRuleSetGradientOracle
{
    private readonly OnnxModel _model;
    private readonly ConcurrentDictionary<string, Lazy<(GradientGraph Graph, OnnxSession Session)>> _graphs = new(StringComparer.Ordinal);
    private readonly object _gate = new();
    private OnnxSession? _forward;
    private int[]? _outputRowShape;

    /// <param name="model">The full model.</param>
    /// <param name="outputName">The explained tensor.</param>
    /// <param name="slots">The attributed inputs, in flat order.</param>
    /// <param name="held">The held inputs, one row each (<c>[1, …]</c>).</param>
    /// <param name="options">Runtime settings.</param>
    public MultiInputOracle(OnnxModel model, string outputName, IReadOnlyList<InputSlot> slots, IReadOnlyList<NamedInput> held, RuntimeOptions options)
    {
        OutputName = outputName;
        Slots = slots;
        Held = held;
        Options = options;
        _model = model.Outputs.Count == 1 && model.Outputs[0].Name == outputName ? model : model.WithOutputs([outputName]);
        Width = slots.Sum(s => s.Size);
        InputName = string.Join("+", slots.Select(s => s.Name));
    }

    public IReadOnlyList<InputSlot> Slots { get; }

    /// <summary>The held inputs, one row each; swapped between rows when they differ per row.</summary>
    public IReadOnlyList<NamedInput> Held { get; set; }

    /// <summary>Elements per flat row.</summary>
    public int Width { get; }

    public RuntimeOptions Options { get; }

    /// <inheritdoc />
    public string InputName { get; }

    /// <inheritdoc />
    public string OutputName { get; }

    /// <inheritdoc />
    public int? MaxRowsPerCall => null;

    private OnnxSession Forward0
    {
        get { lock (_gate) return _forward ??= OnnxSession.Get(_model.ToBytes(), Options); }
    }

    /// <inheritdoc />
    public void ValidateInput(NdArray<float> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Rank == 0 || inputs.Rows == 0)
            throw new ArgumentException($"Inputs {InputName} have no rows (shape {inputs.ShapeText}).");
        if (inputs.RowSize != Width)
            throw new ArgumentException($"Inputs {InputName} take {Width} values per row; got {inputs.ShapeText}.");
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!float.IsFinite(inputs.Data[i]))
            {
                var slot = SlotAt(i % Width);
                throw new ArgumentException($"Input '{slot.Name}' holds {inputs.Data[i]} (row {i / Width}); inputs must be finite.");
            }
        }
    }

    private InputSlot SlotAt(int column) => Slots.Last(s => s.Offset <= column);

    /// <inheritdoc />
    public NdArray<float> Forward(NdArray<float> inputs)
    {
        var output = Forward0.Run(Feeds(Forward0, inputs), [OutputName])[0];
        return AsRows(output, inputs.Rows);
    }

    /// <inheritdoc />
    public (NdArray<float> Outputs, NdArray<float> Gradients) ForwardBackward(NdArray<float> inputs, NdArray<float> seed) =>
        ForwardBackward(inputs, seed, GradientRules.Standard);

    /// <inheritdoc />
    public (NdArray<float> Outputs, NdArray<float> Gradients) ForwardBackward(NdArray<float> inputs, NdArray<float> seed, GradientRules rules)
    {
        if (Slots.FirstOrDefault(s => s.IsTokenIds) is { } ids)
            throw new ArgumentException($"Input '{ids.Name}' holds integer ids, which have no gradient and are never interpolated; hold it fixed, " +
                "attribute it with a perturbation method (its values replaced by baseline ids), or attribute its embedding with a layer method.");
        var ruleSet = OnnxGradientOracle.RuleSet(rules);
        var (graph, session) = _graphs.GetOrAdd(ruleSet.Name, _ => new Lazy<(GradientGraph, OnnxSession)>(() =>
        {
            var g = GradientGraphBuilder.Build(_model, OutputName, Slots.Select(s => s.Name).ToList(), ruleSet);
            return (g, OnnxSession.Get(g.Model.ToBytes(), Options));
        })).Value;
        int n = inputs.Rows;
        var outputRowShape = _outputRowShape ?? LearnOutputRowShape(inputs);
        int[] seedShape = [n, .. outputRowShape];
        if (NdArray<float>.ShapeSize(seedShape) != seed.Length)
            throw new ArgumentException($"Seed of {seed.Length} values does not match output '{OutputName}' shaped {NdArray<float>.FormatShape(seedShape)}.");
        var feeds = Feeds(session, inputs);
        feeds.Add(new NamedInput(graph.SeedInput, seed.Data, seedShape));
        var results = session.Run(feeds, [OutputName, .. graph.GradientOutputs]);
        var gradients = new NdArray<float>(inputs.Shape);
        for (int k = 0; k < Slots.Count; k++)
        {
            var slot = Slots[k];
            var g = results[k + 1];
            if (g.Length != n * slot.Size)
                throw new InvalidOperationException($"The gradient of input '{slot.Name}' has shape {g.ShapeText}; expected {n} rows of {slot.Size}.");
            for (int r = 0; r < n; r++)
                g.Data.AsSpan(r * slot.Size, slot.Size).CopyTo(gradients.Data.AsSpan(r * Width + slot.Offset, slot.Size));
        }
        return (AsRows(results[0], n), gradients);
    }

    private int[] LearnOutputRowShape(NdArray<float> inputs)
    {
        var first = new NdArray<float>(inputs.Data[..Width], [1, Width]);
        var output = Forward0.Run(Feeds(Forward0, first), [OutputName])[0];
        return _outputRowShape = output.Shape[1..];
    }

    /// <summary>The model's feeds for <paramref name="inputs"/>: each attributed input cut out of the flat rows, held inputs repeated.</summary>
    internal List<NamedInput> Feeds(OnnxSession session, NdArray<float> inputs)
    {
        int n = inputs.Rows;
        if (inputs.RowSize != Width)
            throw new ArgumentException($"Inputs {InputName} take {Width} values per row; got {inputs.ShapeText}.");
        var feeds = new List<NamedInput>(Slots.Count + Held.Count + 1);
        foreach (var slot in Slots)
        {
            if (!session.InputNames.Contains(slot.Name)) continue;
            if (slot.IsTokenIds)
            {
                var ids = new long[n * slot.Size];
                for (int r = 0; r < n; r++)
                {
                    for (int j = 0; j < slot.Size; j++) ids[r * slot.Size + j] = (long)MathF.Round(inputs.Data[r * Width + slot.Offset + j]);
                }
                feeds.Add(new NamedInput(slot.Name, ids, [n, .. slot.RowShape]));
            }
            else
            {
                var values = new float[n * slot.Size];
                for (int r = 0; r < n; r++) inputs.Data.AsSpan(r * Width + slot.Offset, slot.Size).CopyTo(values.AsSpan(r * slot.Size));
                feeds.Add(new NamedInput(slot.Name, values, [n, .. slot.RowShape]));
            }
        }
        feeds.AddRange(Repeat(Held.Where(h => session.InputNames.Contains(h.Name)), n));
        return feeds;
    }

    /// <summary>Each one-row input repeated <paramref name="n"/> times.</summary>
    internal static IEnumerable<NamedInput> Repeat(IEnumerable<NamedInput> rows, int n)
    {
        foreach (var row in rows)
        {
            int size = row.Data.Length;
            var data = Array.CreateInstance(row.Data.GetType().GetElementType()!, n * size);
            for (int r = 0; r < n; r++) Array.Copy(row.Data, 0, data, r * size, size);
            yield return new NamedInput(row.Name, data, [n, .. row.Shape[1..]]);
        }
    }

    private NdArray<float> AsRows(NdArray<float> output, int rows)
    {
        if (output.Rank == 0 || output.Shape[0] != rows)
            throw new InvalidOperationException($"Output '{OutputName}' has shape {output.ShapeText} for {rows} input rows; its first axis must be the batch axis.");
        _outputRowShape ??= output.Shape[1..];
        return output.Reshape(rows, output.Length / Math.Max(1, rows));
    }
}

using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.MultiInput;

/// <summary>What to attribute in a multi-input run, and with which data-valued settings.</summary>
public sealed record MultiInputRequest
{
    /// <summary>
    /// The inputs to attribute; the others are held fixed at each row's values (Captum's <c>additional_forward_args</c>).
    /// Default: every float32 input for input-space methods; the model's first input for layer and neuron methods
    /// (which take exactly one).
    /// </summary>
    public IReadOnlyList<string>? Attributed { get; init; }

    /// <summary>
    /// Baselines per attributed input: one row or one per row (a distribution of B rows for the SHAP gradient methods,
    /// the same B for every input); inputs left out get zeros (id 0 for integer inputs). Null: every method's default.
    /// </summary>
    public ModelInputs? Baselines { get; init; }

    /// <summary>
    /// Feature group ids per attributed input (int64, one row or one per row). Ids are shared across inputs: one id
    /// used in two inputs makes one feature that spans both. When given, every attributed input needs one.
    /// </summary>
    public ModelInputs? FeatureMask { get; init; }

    /// <summary>The explained output element per row; null: each row's prediction.</summary>
    public Target? Target { get; init; }

    /// <summary>The method's options (its typed record); null: its defaults.</summary>
    public MethodOptions? Options { get; init; }

    /// <summary>Rows × steps (or perturbations) per model call.</summary>
    public int? InternalBatchSize { get; init; }
}

/// <summary>A multi-input attribution: one map per attributed input (or per layer, for layer methods).</summary>
/// <param name="Attributions">By input name (or the layer tensor's name for layer methods), each shaped like that tensor.</param>
/// <param name="Targets">The output index explained for each row.</param>
/// <param name="ConvergenceDelta">Per row, where the method has one (the sum runs over every attributed input).</param>
public sealed record MultiInputResult(IReadOnlyDictionary<string, NdArray<float>> Attributions, int[] Targets, float[]? ConvergenceDelta);

/// <summary>
/// An ONNX model with several inputs, explained by any registered method: chosen inputs are attributed, the rest held
/// at each row's values. Input-space methods see the attributed inputs side by side as one flat row (so baselines, noise,
/// random baselines and feature masks spanning inputs work unchanged) and the results are split back per input; layer
/// and neuron methods feed the attributed input through the model with the others held. Integer inputs (token ids,
/// masks) are never interpolated: they are held, replaced by baseline ids in perturbation methods, or attributed at
/// their embedding with a layer method. Rows are run in groups of equal held values (all rows at once when nothing is
/// held or the held values are the same on every row), so that every expanded item (steps, samples, perturbations)
/// carries its own row's held values.
/// </summary>
public sealed class MultiInputModel
{
    private readonly OnnxModel _model;

    /// <summary>Opens an ONNX model file.</summary>
    /// <param name="modelPath">Path of the <c>.onnx</c> file.</param>
    /// <param name="outputName">The explained output (any tensor of the graph); default: the model's first output.</param>
    /// <param name="options">ONNX Runtime settings; default CPU.</param>
    public MultiInputModel(string modelPath, string? outputName = null, RuntimeOptions? options = null)
        : this(OnnxModel.Load(modelPath), outputName, options) { }

    /// <summary>Wraps ONNX model bytes.</summary>
    /// <param name="modelBytes">The serialized model.</param>
    /// <param name="outputName">The explained output; default: the model's first output.</param>
    /// <param name="options">ONNX Runtime settings; default CPU.</param>
    public MultiInputModel(byte[] modelBytes, string? outputName = null, RuntimeOptions? options = null)
        : this(OnnxModel.Load(modelBytes), outputName, options) { }

    private MultiInputModel(OnnxModel model, string? outputName, RuntimeOptions? options)
    {
        _model = model;
        if (model.Inputs.Count == 0) throw new ArgumentException("The ONNX model has no inputs.");
        OutputName = outputName ?? model.Outputs[0].Name;
        model.RequireTensor(OutputName);
        Options = options ?? RuntimeOptions.Default;
    }

    /// <summary>The model's inputs, in declaration order.</summary>
    public IReadOnlyList<string> InputNames => _model.Inputs.Select(i => i.Name).ToList();

    /// <summary>The explained output.</summary>
    public string OutputName { get; }

    /// <summary>The ONNX Runtime settings.</summary>
    public RuntimeOptions Options { get; }

    /// <summary>True when input <paramref name="name"/> takes integers (int64 or int32) rather than float32.</summary>
    public bool IsIntegerInput(string name) => _model.Types.GetValueOrDefault(RequireInput(name)) is { ElemType: OnnxDataType.Int64 or OnnxDataType.Int32 };

    /// <summary>Attributes with the registered method <paramref name="method"/> (e.g. "integrated-gradients").</summary>
    public MultiInputResult Attribute(string method, ModelInputs inputs, MultiInputRequest? request = null) =>
        Attribute(MethodRegistry.Get(method), inputs, request);

    /// <summary>Attributes <paramref name="inputs"/> (every model input, <c>[N, …]</c> each) with <paramref name="method"/>.</summary>
    /// <exception cref="ArgumentException">An input is unknown, missing, mistyped or misshaped, or the batch sizes disagree.</exception>
    public MultiInputResult Attribute(AttributionMethod method, ModelInputs inputs, MultiInputRequest? request = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        request ??= new MultiInputRequest();
        var attributed = Validate(method, inputs, request);
        int n = inputs.Rows;
        var held = InputNames.Where(name => !attributed.Contains(name)).ToList();
        var groups = Groups(inputs, held, n);
        var options = request.Options ?? method.CreateDefaultOptions();
        bool layer = method.Has(MethodCapabilities.TakesLayer);
        string driver = attributed[0];
        var slots = Slots(inputs, attributed);
        var oracle = layer ? null : new MultiInputOracle(_model, OutputName, slots, HeldRows(inputs, held, 0), Options);
        var layerOracles = new Dictionary<string, OnnxLayerOracle>(StringComparer.Ordinal);
        var parts = new List<AttributionResult>();
        var targets = request.Target?.Explicit(n);
        var flatRows = layer ? null : Flatten(inputs, slots, 0, n);
        bool distribution = method.Has(MethodCapabilities.RequiresBaselines);
        var flatBaselines = layer ? null : FlatBaselines(request.Baselines, slots, n, distribution);
        var flatMask = layer ? null : FlatMask(request.FeatureMask, slots, n);
        foreach (var rows in groups)
        {
            var heldRows = HeldRows(inputs, held, rows[0]);
            var target = targets is null ? request.Target : Target.PerRow(rows.Select(r => targets[r]).ToArray());
            MethodInputs run;
            if (layer)
            {
                ILayerOracle LayerAt(string name)
                {
                    if (!layerOracles.TryGetValue(name, out var o))
                        layerOracles[name] = o = new OnnxLayerOracle(_model, name, driver, OutputName, Options, heldRows);
                    o.Held = heldRows;
                    return o;
                }
                var baseline = request.Baselines is { } b && b.Contains(driver) ? b : null;
                run = inputs.IsTokenIds(driver)
                    ? new MethodInputs
                    {
                        LayerModel = LayerAt, TokenIds = Gather(inputs.TokenIds(driver), rows),
                        TokenBaselines = baseline is null ? null : GatherIfPerRow(baseline.TokenIds(driver), n, rows),
                        Target = target, InternalBatchSize = request.InternalBatchSize,
                    }
                    : new MethodInputs
                    {
                        LayerModel = LayerAt, Rows = Gather(inputs.Floats(driver), rows),
                        Baselines = baseline is null ? null : GatherIfPerRow(baseline.Floats(driver), n, rows),
                        Target = target, InternalBatchSize = request.InternalBatchSize,
                    };
            }
            else
            {
                oracle!.Held = heldRows;
                run = new MethodInputs
                {
                    Model = oracle, Rows = Gather(flatRows!, rows),
                    Baselines = flatBaselines is null ? null : distribution ? flatBaselines : GatherIfPerRow(flatBaselines, n, rows),
                    FeatureMask = flatMask is null ? null : GatherIfPerRow(flatMask, n, rows),
                    Target = target, InternalBatchSize = request.InternalBatchSize,
                };
            }
            parts.Add(method.Attribute(run, options));
        }
        // Each group's rows back in their places. A run may give several maps per row (one per output index, [rows, C, …],
        // targets and deltas row-major): every per-row block moves as one.
        var rowShape = parts[0].Attributions.RowShape;
        int perRow = parts[0].Targets.Length / Math.Max(1, groups[0].Length);
        var all = new NdArray<float>([n, .. rowShape]);
        var resolved = new int[n * perRow];
        var deltas = parts.All(p => p.ConvergenceDelta is not null) ? new float[n * perRow] : null;
        for (int g = 0; g < groups.Count; g++)
        {
            for (int k = 0; k < groups[g].Length; k++)
            {
                int r = groups[g][k];
                parts[g].Attributions.Row(k).CopyTo(all.Row(r));
                parts[g].Targets.AsSpan(k * perRow, perRow).CopyTo(resolved.AsSpan(r * perRow));
                if (deltas is not null) parts[g].ConvergenceDelta.AsSpan(k * perRow, perRow).CopyTo(deltas.AsSpan(r * perRow));
            }
        }
        var result = new Dictionary<string, NdArray<float>>(StringComparer.Ordinal);
        if (layer && !method.Has(MethodCapabilities.AttributesToInput))
            result[((LayerMethodOptions)options).Layer!] = all;
        else if (layer)
            result[driver] = all;
        else
        {
            // Flat rows [n, W] (or [n, C, W]): each input's slots cut out of every block of W.
            int width = oracle!.Width, blocks = all.RowSize / width;
            int[] lead = all.Rank > 2 ? rowShape[..^1] : [];
            foreach (var slot in slots)
            {
                var values = new float[n * blocks * slot.Size];
                for (int b = 0; b < n * blocks; b++) all.Data.AsSpan(b * width + slot.Offset, slot.Size).CopyTo(values.AsSpan(b * slot.Size));
                result[slot.Name] = new NdArray<float>(values, [n, .. lead, .. slot.RowShape]);
            }
        }
        return new MultiInputResult(result, resolved, deltas);
    }

    /// <summary>
    /// Checks every input before any work: names known (with the nearest name when misspelt), every model input given,
    /// element types and row shapes as the model declares, one batch size, baselines and masks fitting. Returns the
    /// attributed inputs.
    /// </summary>
    public IReadOnlyList<string> Validate(AttributionMethod method, ModelInputs inputs, MultiInputRequest? request = null)
    {
        ArgumentNullException.ThrowIfNull(method);
        ArgumentNullException.ThrowIfNull(inputs);
        request ??= new MultiInputRequest();
        foreach (var name in inputs.Names) RequireInput(name);
        var missing = InputNames.Where(i => !inputs.Contains(i)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"Model input{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(m => $"'{m}'"))} not given; " +
                $"the model takes {string.Join(", ", InputNames)}.");
        int n = inputs.Rows;
        if (n == 0) throw new ArgumentException($"The inputs have 0 rows ({Shapes(inputs)}); at least one row is needed.");
        foreach (var name in InputNames) CheckType(name, inputs, "Input");
        bool layer = method.Has(MethodCapabilities.TakesLayer);
        foreach (var name in request.Attributed ?? []) RequireInput(name);
        foreach (var name in request.Attributed ?? [])
        {
            if (!inputs.Contains(name)) throw new ArgumentException($"Attributed input '{name}' is not given.");
        }
        var attributed = request.Attributed?.Distinct().ToList()
            ?? (layer ? [InputNames[0]] : InputNames.Where(i => !inputs.IsTokenIds(i)).ToList());
        if (attributed.Count == 0)
            throw new ArgumentException($"Every input holds integers ({string.Join(", ", InputNames)}); name the inputs to attribute " +
                "(a perturbation method replaces them by baseline ids) or use a layer method at their embedding.");
        if (layer && attributed.Count != 1)
            throw new ArgumentException($"Method '{method.Name}' works through a layer and takes one attributed input (fed through the model, " +
                $"the others held); got {string.Join(", ", attributed)}.");
        if (!layer && method.Has(MethodCapabilities.Gradients) && attributed.FirstOrDefault(inputs.IsTokenIds) is { } ids)
            throw new ArgumentException($"Input '{ids}' holds integers, which have no gradient and are never interpolated; hold it fixed, " +
                "attribute it with a perturbation method, or attribute its embedding with a layer method.");
        if (!layer && method.Name == "feature-permutation" && Groups(inputs, InputNames.Except(attributed).ToList(), n).Count > 1)
            throw new ArgumentException("Method 'feature-permutation' shuffles rows across the batch; held inputs that differ per row cannot follow it. " +
                "Attribute them too, or give held inputs equal on every row.");
        foreach (var name in attributed.Where(inputs.IsTokenIds))
        {
            var values = (long[])inputs.Data(name);
            if (values.Any(v => Math.Abs(v) > 1 << 24))
                throw new ArgumentException($"Input '{name}' holds ids beyond 2^24, which perturbation methods cannot carry exactly.");
        }
        if (request.Baselines is { } baselines)
        {
            foreach (var name in baselines.Names)
            {
                RequireInput(name);
                if (!attributed.Contains(name))
                    throw new ArgumentException($"A baseline was given for input '{name}', which is held, not attributed (attributed: {string.Join(", ", attributed)}).");
                CheckType(name, baselines, "Baseline of");
                CheckRowShape(name, inputs, baselines, "Baseline of", n, allowAnyRows: method.Has(MethodCapabilities.RequiresBaselines));
            }
            if (method.Has(MethodCapabilities.RequiresBaselines) && baselines.Names.Select(b => baselines.ShapeOf(b)[0]).Distinct().Count() > 1)
                throw new ArgumentException($"Baseline distributions disagree on their size: {Shapes(baselines)}; give the same number of rows for each input.");
        }
        if (request.FeatureMask is { } mask)
        {
            foreach (var name in mask.Names)
            {
                RequireInput(name);
                if (!attributed.Contains(name))
                    throw new ArgumentException($"A feature mask was given for input '{name}', which is held, not attributed.");
                if (!mask.IsTokenIds(name)) throw new ArgumentException($"The feature mask of input '{name}' must hold int64 group ids.");
                CheckRowShape(name, inputs, mask, "Feature mask of", n, allowAnyRows: false);
            }
            if (attributed.FirstOrDefault(a => !mask.Contains(a)) is { } uncovered)
                throw new ArgumentException($"The feature mask covers {string.Join(", ", mask.Names)} but not attributed input '{uncovered}'; give one for every attributed input.");
        }
        return attributed;
    }

    private string RequireInput(string name)
    {
        if (_model.IsInput(name)) return name;
        var nearest = MethodRegistry.Nearest(name, InputNames);
        throw new ArgumentException($"'{name}' is not an input of the model{(nearest is null ? "" : $"; did you mean '{nearest}'?")} " +
            $"Its inputs are {string.Join(", ", InputNames)}.");
    }

    private void CheckType(string name, ModelInputs given, string what)
    {
        var type = _model.Types.GetValueOrDefault(name);
        bool integer = type is { ElemType: OnnxDataType.Int64 or OnnxDataType.Int32 };
        if (type is not null && type.ElemType is not (OnnxDataType.Float or OnnxDataType.Int64 or OnnxDataType.Int32 or OnnxDataType.Undefined))
            throw new ArgumentException($"Input '{name}' has type {OnnxDataType.Name(type.ElemType)}; float32, int64 and int32 inputs are supported.");
        if (integer != given.IsTokenIds(name))
            throw new ArgumentException($"{what} '{name}' {(integer ? $"takes {OnnxDataType.Name(type!.ElemType)} values; got float32 ones" : "takes float32 values; got int64 ones")}.");
        if (type?.Shape is { Length: > 0 } shape)
        {
            var got = given.ShapeOf(name);
            bool fits = got.Length == shape.Length && shape.Skip(1).Zip(got.Skip(1)).All(p => p.First.Value is not long d || d == p.Second);
            if (!fits)
                throw new ArgumentException($"{what} '{name}' expects rows shaped [{string.Join(", ", shape.Skip(1).Select(d => d.Value?.ToString() ?? d.Symbol ?? "?"))}]; " +
                    $"got {NdArray<float>.FormatShape(got)}.");
            if (shape[0].Value is long batch && what == "Input" && batch != got[0])
                throw new ArgumentException($"The model is exported with a fixed batch of {batch} for input '{name}'; got {got[0]} rows.");
        }
    }

    private static void CheckRowShape(string name, ModelInputs inputs, ModelInputs given, string what, int n, bool allowAnyRows)
    {
        var shape = given.ShapeOf(name);
        if (!shape.AsSpan(1).SequenceEqual(inputs.ShapeOf(name).AsSpan(1)))
            throw new ArgumentException($"{what} '{name}' has rows shaped {NdArray<float>.FormatShape(shape.AsSpan(1))}; the input's rows are " +
                $"{NdArray<float>.FormatShape(inputs.ShapeOf(name).AsSpan(1))}.");
        if (!allowAnyRows && shape[0] != 1 && shape[0] != n)
            throw new ArgumentException($"{what} '{name}' has {shape[0]} rows; give one row or one per input row ({n}).");
    }

    private static string Shapes(ModelInputs inputs) =>
        string.Join(", ", inputs.Names.Select(n => $"'{n}' {NdArray<float>.FormatShape(inputs.ShapeOf(n))}"));

    private static List<InputSlot> Slots(ModelInputs inputs, IReadOnlyList<string> attributed)
    {
        var slots = new List<InputSlot>();
        int offset = 0;
        foreach (var name in attributed)
        {
            var slot = new InputSlot(name, inputs.ShapeOf(name)[1..], offset, inputs.IsTokenIds(name));
            slots.Add(slot);
            offset += slot.Size;
        }
        return slots;
    }

    /// <summary>
    /// Rows whose held inputs are equal, grouped (in row order): each group runs as one batch with its held values fed
    /// alongside every expanded item, so held inputs follow their rows however a method expands them.
    /// </summary>
    private static List<int[]> Groups(ModelInputs inputs, IReadOnlyList<string> held, int n)
    {
        if (held.Count == 0 || n == 1) return [Enumerable.Range(0, n).ToArray()];
        var groups = new List<List<int>>();
        var byHash = new Dictionary<int, List<int>>();
        for (int r = 0; r < n; r++)
        {
            var hash = new HashCode();
            foreach (var name in held)
            {
                var data = inputs.Data(name);
                int size = data.Length / n;
                switch (data)
                {
                    case float[] f: foreach (var v in f.AsSpan(r * size, size)) hash.Add(v); break;
                    case long[] l: foreach (var v in l.AsSpan(r * size, size)) hash.Add(v); break;
                }
            }
            int key = hash.ToHashCode();
            if (!byHash.TryGetValue(key, out var candidates)) byHash[key] = candidates = [];
            int found = candidates.FindIndex(g => SameHeld(inputs, held, groups[g][0], r, n));
            if (found >= 0) groups[candidates[found]].Add(r);
            else
            {
                candidates.Add(groups.Count);
                groups.Add([r]);
            }
        }
        return groups.Select(g => g.ToArray()).ToList();
    }

    private static bool SameHeld(ModelInputs inputs, IReadOnlyList<string> held, int a, int b, int n) => held.All(name =>
    {
        var data = inputs.Data(name);
        int size = data.Length / n;
        return data switch
        {
            float[] f => f.AsSpan(a * size, size).SequenceEqual(f.AsSpan(b * size, size)),
            long[] l => l.AsSpan(a * size, size).SequenceEqual(l.AsSpan(b * size, size)),
            _ => false,
        };
    });

    /// <summary>Row <paramref name="row"/> of each held input, as a one-row feed.</summary>
    private static List<NamedInput> HeldRows(ModelInputs inputs, IReadOnlyList<string> held, int row)
    {
        var rows = new List<NamedInput>(held.Count);
        foreach (var name in held)
        {
            var data = inputs.Data(name);
            var shape = inputs.ShapeOf(name);
            int size = data.Length / Math.Max(1, shape[0]);
            var copy = Array.CreateInstance(data.GetType().GetElementType()!, size);
            Array.Copy(data, row * size, copy, 0, size);
            rows.Add(new NamedInput(name, copy, [1, .. shape[1..]]));
        }
        return rows;
    }

    /// <summary>Rows [start, start + count) of the attributed inputs side by side, as floats.</summary>
    private static NdArray<float> Flatten(ModelInputs inputs, IReadOnlyList<InputSlot> slots, int start, int count)
    {
        int width = slots.Sum(s => s.Size);
        var flat = new float[count * width];
        foreach (var slot in slots) Place(inputs.Data(slot.Name), slot, start, count, flat, width);
        return new NdArray<float>(flat, [count, width]);
    }

    private static void Place(Array data, InputSlot slot, int start, int count, float[] flat, int width)
    {
        for (int r = 0; r < count; r++)
        {
            int from = (start + r) * slot.Size, to = r * width + slot.Offset;
            switch (data)
            {
                case float[] f: f.AsSpan(from, slot.Size).CopyTo(flat.AsSpan(to)); break;
                case long[] l: for (int j = 0; j < slot.Size; j++) flat[to + j] = l[from + j]; break;
            }
        }
    }

    /// <summary>Baselines side by side: every given input's rows (1, N, or a distribution of B), zeros for inputs left out.</summary>
    private static NdArray<float>? FlatBaselines(ModelInputs? baselines, IReadOnlyList<InputSlot> slots, int n, bool distribution)
    {
        if (baselines is null || baselines.Count == 0) return null;
        int rows = baselines.Names.Max(b => baselines.ShapeOf(b)[0]);
        int width = slots.Sum(s => s.Size);
        var flat = new float[rows * width];
        foreach (var slot in slots)
        {
            if (!baselines.Contains(slot.Name)) continue;
            int given = baselines.ShapeOf(slot.Name)[0];
            if (given == rows) Place(baselines.Data(slot.Name), slot, 0, rows, flat, width);
            else
            {
                // One row, repeated for every row of the others.
                var one = new float[width];
                Place(baselines.Data(slot.Name), slot, 0, 1, one, width);
                for (int r = 0; r < rows; r++) one.AsSpan(slot.Offset, slot.Size).CopyTo(flat.AsSpan(r * width + slot.Offset));
            }
        }
        return new NdArray<float>(flat, [rows, width]);
    }

    private static NdArray<long>? FlatMask(ModelInputs? mask, IReadOnlyList<InputSlot> slots, int n)
    {
        if (mask is null || mask.Count == 0) return null;
        int rows = mask.Names.Max(m => mask.ShapeOf(m)[0]);
        int width = slots.Sum(s => s.Size);
        var flat = new long[rows * width];
        foreach (var slot in slots)
        {
            var ids = (long[])mask.Data(slot.Name);
            bool one = mask.ShapeOf(slot.Name)[0] == 1;
            for (int r = 0; r < rows; r++) ids.AsSpan((one ? 0 : r) * slot.Size, slot.Size).CopyTo(flat.AsSpan(r * width + slot.Offset));
        }
        return new NdArray<long>(flat, [rows, width]);
    }

    private static NdArray<T> Gather<T>(NdArray<T> array, int[] rows) where T : unmanaged
    {
        if (rows.Length == array.Rows && rows.Select((r, k) => r == k).All(x => x)) return array;
        var result = new NdArray<T>([rows.Length, .. array.RowShape]);
        for (int k = 0; k < rows.Length; k++) array.Row(rows[k]).CopyTo(result.Row(k));
        return result;
    }

    /// <summary>The group's rows of a per-row array; arrays of one row (or a distribution) as they are.</summary>
    private static NdArray<T> GatherIfPerRow<T>(NdArray<T> array, int n, int[] rows) where T : unmanaged =>
        array.Rows == n && n > 1 ? Gather(array, rows) : array;
}

using System.Globalization;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>One attribution map: the class it explains (for <c>--target all</c>), the map [N, …], each row's target and delta.</summary>
internal sealed record AttributionMap(int? Class, NdArray<float> Attributions, int[] Targets, float[]? Delta);

/// <summary><c>--target N | all | predicted</c> (omitted: predicted).</summary>
internal sealed record TargetChoice(string Text, int? Index)
{
    public static TargetChoice Parse(string? text) => text switch
    {
        null or "predicted" => new("predicted", null),
        "all" => new("all", null),
        _ when int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int index) && index >= 0 => new(text, index),
        _ => throw new UsageException($"--target expects an integer (an output index ≥ 0), 'all' or 'predicted', got '{text}'"),
    };

    /// <summary>
    /// The runs to make: one, or one per output index for <c>all</c> (the maps <see cref="Target.All"/> stacks, run one by
    /// one here so that progress and Ctrl+C work between them; the model's declared width saves the forward pass).
    /// </summary>
    public IReadOnlyList<(int? Class, Target Target)> Resolve(OnnxModel model, string? outputName, MethodInputs inputs)
    {
        if (Index is int i) return [(null, Target.Class(i))];
        if (Text == "predicted") return [(null, Target.Predicted)];
        int width = InputSignature.OutputWidth(model, outputName)
            ?? (inputs.Model is { } oracle && inputs.Rows is { } rows
                ? Target.OutputCount(oracle, rows)
                : throw new UsageException("--target all needs the output's width, which the model does not declare; give --target N for each output index"));
        return Enumerable.Range(0, width).Select(c => ((int?)c, Target.Class(c))).ToArray();
    }
}

/// <summary>
/// Runs a method over the rows in batches, so that progress can be shown and Ctrl+C honoured between them. Methods that
/// draw random numbers run as one batch: their draws depend on the whole batch, and one batch keeps a seed's result
/// equal to the library's.
/// </summary>
internal sealed class BatchRunner(AttributionMethod method, MethodOptions options, MethodInputs inputs, CancellationToken cancellation, Progress progress)
{
    private int _done;

    private int Rows => inputs.Rows?.Rows ?? inputs.TokenIds!.Rows;

    /// <summary>Rows per batch: a fiftieth of the rows, at least 32 (few model calls, still a moving progress line).</summary>
    private int BatchRows => method.Has(MethodCapabilities.Seeded) ? Rows : Math.Max(32, (Rows + 49) / 50);

    public AttributionMap Run(Target target)
    {
        int rows = Rows, batch = BatchRows;
        var maps = new List<AttributionResult>();
        progress.Report(_done);
        for (int start = 0; start < rows; start += batch)
        {
            cancellation.ThrowIfCancellationRequested();
            int end = Math.Min(rows, start + batch);
            bool whole = start == 0 && end == rows;
            var result = method.Attribute(new MethodInputs
            {
                Model = inputs.Model,
                LayerModel = inputs.LayerModel,
                Rows = whole ? inputs.Rows : Slice(inputs.Rows, start, end),
                TokenIds = whole ? inputs.TokenIds : Slice(inputs.TokenIds, start, end),
                Baselines = whole || method.Has(MethodCapabilities.RequiresBaselines) ? inputs.Baselines : PerRow(inputs.Baselines, start, end, rows),
                TokenBaselines = whole ? inputs.TokenBaselines : PerRow(inputs.TokenBaselines, start, end, rows),
                FeatureMask = whole ? inputs.FeatureMask : PerRow(inputs.FeatureMask, start, end, rows),
                InternalBatchSize = inputs.InternalBatchSize,
                Target = target,
            }, options);
            if (result.Attributions.Rows != end - start)
                throw new InvalidOperationException($"method {method.Name} returned {result.Attributions.Rows} rows for a batch of {end - start}");
            maps.Add(result);
            _done += end - start;
            progress.Report(_done);
        }
        cancellation.ThrowIfCancellationRequested();
        return Concatenate(maps);
    }

    private static AttributionMap Concatenate(List<AttributionResult> parts)
    {
        if (parts.Count == 1) return new AttributionMap(null, parts[0].Attributions, parts[0].Targets, parts[0].ConvergenceDelta);
        var first = parts[0].Attributions;
        int rows = parts.Sum(p => p.Attributions.Rows);
        var data = parts.SelectMany(p => p.Attributions.Data).ToArray();
        float[]? delta = parts.All(p => p.ConvergenceDelta is not null) ? parts.SelectMany(p => p.ConvergenceDelta!).ToArray() : null;
        return new AttributionMap(null, new NdArray<float>(data, [rows, .. first.RowShape]), parts.SelectMany(p => p.Targets).ToArray(), delta);
    }

    private static NdArray<T>? Slice<T>(NdArray<T>? array, int start, int end) where T : unmanaged =>
        array is null ? null : new NdArray<T>(array.Data[(start * array.RowSize)..(end * array.RowSize)], [end - start, .. array.RowShape]);

    /// <summary>A per-row array (one entry per input row) is sliced with the rows; a shared one (one row, one value) is kept.</summary>
    private NdArray<T>? PerRow<T>(NdArray<T>? array, int start, int end, int rows) where T : unmanaged =>
        array is not null && rows > 1 && array.Rank == (inputs.Rows?.Rank ?? inputs.TokenIds!.Rank) && array.Shape[0] == rows
            ? Slice(array, start, end) : array;
}

using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Reports;

/// <summary>
/// A report on a fitted ML.NET chain (featurizers + trainer) through the pipeline explanation step: the chain is cut
/// before its predictor, the data featurized once, and the predictor explained by the same <see cref="AttributionTransformer"/>
/// that <c>.Explain(mlContext)</c> appends — its method choice (TreeSHAP, linear SHAP, else Kernel SHAP), its background,
/// and its feature groups (one per source column, so one-hot slots come back as their column).
/// </summary>
internal static class MLNetReportRunner
{
    /// <summary>Rows explained per method call (one progress report each).</summary>
    private const int Block = 256;

    /// <summary>True when the model holds a single-feature predictor this runner can cut the chain at.</summary>
    public static bool Handles(ITransformer model) => ReportRunner.ContainsPredictor(model);

    public static ReportData Run(ITransformer model, IDataView data, string? labelColumn, AttributionReportOptions o, List<ReportTiming> timings)
    {
        var clock = Stopwatch.StartNew();
        o.Progress?.Report(new("featurize", 0, 1));
        var (featurizers, predictor) = Split(model);
        var featurized = featurizers.Aggregate(data, (d, t) => t.Transform(d));
        var explained = ExplainedModel.MLNet(predictor);
        string featureColumn = explained.FeatureColumnName
            ?? throw new NotSupportedException($"{predictor.GetType().Name} does not name its feature column.");
        var column = featurized.Schema.GetColumnOrNull(featureColumn)
            ?? throw new ArgumentException($"The predictor reads column '{featureColumn}', which the chain before it does not produce; it produces " +
                $"{string.Join(", ", featurized.Schema.Where(c => !c.IsHidden).Select(c => c.Name))}.");
        var all = ReportRunner.ReadVectors(featurized, column);
        var slotNames = MLNetForwardOracle.ReadSlotNames(column, all.RowSize);
        var groups = o.FeatureNames is not null ? null : FeatureGroupSet.FromSchema(column, data.Schema);
        if (o.FeatureNames is { } given && given.Count != all.RowSize)
            throw new ArgumentException($"{given.Count} feature names for the {all.RowSize} slots of column '{featureColumn}'.", "options");
        groups ??= Enumerable.Range(0, all.RowSize).Select(j => new FeatureGroup(o.FeatureNames?[j] ?? slotNames[j], [j])).ToList();

        var scored = model.Transform(data);
        var score = ScoreColumn.Find(scored.Schema, "Score");
        var allOutputs = new NdArray<float>(score.Read(scored, all.Rows), all.Rows, score.Outputs);
        var allLabels = labelColumn is null ? null : ReportRunner.ReadLabels(scored, labelColumn, all.Rows);
        timings.Add(new("load", clock.Elapsed.TotalSeconds));
        o.Progress?.Report(new("featurize", 1, 1));

        clock.Restart();
        var options = new ExplainOptions
        {
            InputColumnName = featureColumn,
            Method = o.Method,
            MethodOptions = o.MethodOptions,
            FeatureGroups = groups,
            BackgroundSize = o.BackgroundSize,
            BackgroundSeed = o.Seed + 1,
        };
        if (options.Method is null) (options.Method, options.MethodReason) = explained.ChooseMethod(ExplainedOutput.Score);
        if (options.Method == "kernel-shap" && options.MethodOptions is null)
            options.MethodOptions = new KernelShapOptions { Samples = KernelShapBudget(groups.Count), Seed = o.Seed + 3 };
        var method = options.MethodInfo;
        if (!(method.Has(MethodCapabilities.BlackBox) || method.Has(MethodCapabilities.ExactForTrees) || method.Has(MethodCapabilities.ExactForLinear)))
            throw new NotSupportedException($"Method '{method.Name}' cannot explain an ML.NET model (it needs gradients or a layer); use tree-shap, linear-shap, kernel-shap or another black-box method.");
        var transformer = new AttributionEstimator(explained, options, null).Fit(featurized);
        var background = transformer.Options.Background;

        var ids = ReportRows.Sample(all.Rows, o.MaxRows, o.Seed);
        var x = ids.Length == all.Rows ? all : ReportRows.Take(all, ids);
        var outputs = ids.Length == all.Rows ? allOutputs : ReportRows.Take(allOutputs, ids);
        var targets = ReportRunner.Targets(outputs, o.Target);
        timings.Add(new("prepare", clock.Elapsed.TotalSeconds));

        clock.Restart();
        int n = x.Rows, g = groups.Count;
        var attributions = new NdArray<float>(n, g);
        var baseValues = new double[n];
        o.Progress?.Report(new("explain", 0, n));
        for (int start = 0; start < n; start += Block)
        {
            int count = Math.Min(Block, n - start);
            var block = new NdArray<float>(x.Data.AsSpan(start * x.RowSize, count * x.RowSize).ToArray(), count, x.RowSize);
            var result = transformer.ExplainBlock(featurized.Schema, block, targets[start..(start + count)]);
            result.Attributions.Data.AsSpan().CopyTo(attributions.Data.AsSpan(start * g, count * g));
            for (int r = 0; r < count; r++) baseValues[start + r] = result.BaseValues?[r] ?? double.NaN;
            o.Progress?.Report(new("explain", start + count, n));
        }
        timings.Add(new("attribute", clock.Elapsed.TotalSeconds));

        // A feature that takes one value over the explained and background rows cannot move the output: hide it.
        var constant = Enumerable.Range(0, g).Where(j => IsConstant(groups[j].Slots, x, background)).ToHashSet();
        var kept = Enumerable.Range(0, g).Where(j => !constant.Contains(j)).ToArray();

        // Tree models: exact TreeSHAP interaction values on a capped seeded sample of the rows (P times the work of the main values).
        NdArray<float>? interactions = null;
        int[]? interactionRows = null;
        if (o.InteractionRows > 0 && method.Has(MethodCapabilities.ExactForTrees))
        {
            clock.Restart();
            interactionRows = ReportRows.Sample(n, o.InteractionRows, o.Seed + 6);
            interactions = Interactions(explained, options, background, featurized, x, targets, interactionRows, kept, o.Progress);
            timings.Add(new("interactions", clock.Elapsed.TotalSeconds));
        }
        var values = new NdArray<float>(n, kept.Length);
        var keptAttributions = new NdArray<float>(n, kept.Length);
        var texts = new string[n][];
        for (int r = 0; r < n; r++)
        {
            var row = x.Row(r).ToArray();
            texts[r] = new string[kept.Length];
            for (int i = 0; i < kept.Length; i++)
            {
                var group = groups[kept[i]];
                keptAttributions.Data[r * kept.Length + i] = attributions.Data[r * g + kept[i]];
                values.Data[r * kept.Length + i] = group.Slots.Length == 1 ? row[group.Slots[0]] : float.NaN;
                texts[r][i] = ValueText(group, row, slotNames);
            }
        }

        bool binary = score.Outputs == 1 && scored.Schema.GetColumnOrNull("Probability") is not null;
        string what = binary ? "raw score (the margin before the calibrator, not a probability)" : score.Outputs > 1 ? "class score" : "score";
        int backgroundRows = background?.Length ?? 0;
        string baseNote = method.Has(MethodCapabilities.ExactForTrees)
            ? $"the trees' expected {what}, weighted by node covers from {backgroundRows} background rows"
            : $"the mean {what} over {backgroundRows} background rows";
        var settings = new List<(string, string)>
        {
            ("model", $"ML.NET {ReportRunner.Describe(model)}"),
            ("explained", $"column '{featureColumn}' ({all.RowSize} slots) through the pipeline explanation step, grouped into {g} features"),
            ("method choice", options.MethodReason ?? "given"),
        };
        if (options.MethodOptions is KernelShapOptions kernel) settings.Add(("Kernel SHAP samples", $"{kernel.Samples.ToString("#,##0", CultureInfo.InvariantCulture)} per row (2·F + 2048, F = {g})"));
        settings.Add(("background", $"{backgroundRows} rows (seeded sample)"));
        if (interactionRows is not null)
            settings.Add(("interactions", $"exact TreeSHAP interaction values of {interactionRows.Length} of the {n} explained rows " +
                $"({(interactionRows.Length < n ? "seeded sample; " : "")}at most {o.InteractionRows}, AttributionReportOptions.InteractionRows)"));
        settings.Add(("seed", o.Seed.ToString(CultureInfo.InvariantCulture)));
        var scoredNames = ReportRunner.ClassNamesOf(scored, score.Outputs);
        return new ReportData
        {
            Inputs = values,
            RowIds = ids,
            TotalRows = all.Rows,
            Outputs = outputs,
            Attributions = keptAttributions,
            Targets = targets,
            BaseValues = baseValues,
            Predictions = Enumerable.Range(0, n).Select(r => (double)outputs.Row(r)[targets[r]]).ToArray(),
            Labels = allLabels is null ? null : ids.Select(i => allLabels[i]).ToArray(),
            Method = ReportRunner.DisplayName(method),
            Settings = settings,
            FeatureNames = kept.Select(j => groups[j].Name).ToArray(),
            ClassNames = o.ClassNames is { } c && c.Count == score.Outputs ? c
                : scoredNames.Count == score.Outputs ? scoredNames
                : Enumerable.Range(0, score.Outputs).Select(k => score.Outputs == 1 ? "score" : "class " + k.ToString(CultureInfo.InvariantCulture)).ToArray(),
            Modality = ReportModality.Tabular,
            ValueTexts = texts,
            HiddenFeatures = constant.Order().Select(j => groups[j].Name).ToArray(),
            BaseValueLabel = $"base value (mean {(binary ? "raw score" : what)})",
            BaseValueNote = baseNote,
            Timings = timings,
            Interactions = interactions,
            InteractionRows = interactionRows,
        };
    }

    /// <summary>
    /// Exact TreeSHAP interaction values [M, K, K] of the rows <paramref name="rows"/> of <paramref name="x"/> for their
    /// targets, over the kept feature groups: the explanation step of <paramref name="main"/> with
    /// <see cref="ExplainOptions.Interactions"/> set, on the same background, so each matrix's rows sum to the report's attributions.
    /// </summary>
    private static NdArray<float> Interactions(ExplainedModel explained, ExplainOptions main, float[][]? background, IDataView featurized,
        NdArray<float> x, int[] targets, int[] rows, int[] kept, IProgress<ReportProgress>? progress)
    {
        var options = new ExplainOptions
        {
            InputColumnName = main.InputColumnName,
            Method = main.Method,
            MethodOptions = main.MethodOptions,
            MethodReason = main.MethodReason,
            FeatureGroups = main.FeatureGroups,
            Background = background,
            BackgroundSize = main.BackgroundSize,
            BackgroundSeed = main.BackgroundSeed,
            Interactions = true,
        };
        var transformer = new AttributionEstimator(explained, options, null).Fit(featurized);
        int m = rows.Length, g = main.FeatureGroups!.Count, k = kept.Length;
        var result = new NdArray<float>(m, k, k);
        progress?.Report(new("interactions", 0, m));
        for (int start = 0; start < m; start += Block)
        {
            var ids = rows[start..Math.Min(m, start + Block)];
            var block = transformer.ExplainBlock(featurized.Schema, ReportRows.Take(x, ids), ids.Select(r => targets[r]).ToArray());
            var values = block.Interactions ?? throw new InvalidOperationException("The explanation step returned no interaction values.");
            for (int r = 0; r < ids.Length; r++)
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++)
                        result.Data[((start + r) * k + i) * k + j] = values.Data[(r * g + kept[i]) * g + kept[j]];
            progress?.Report(new("interactions", start + ids.Length, m));
        }
        return result;
    }

    /// <summary>Kernel SHAP's coalitions per row: 2·F + 2048, the budget SHAP's KernelExplainer picks for F features.</summary>
    internal static int KernelShapBudget(int features) => 2 * features + 2048;

    /// <summary>The transformers before the chain's last predictor (nested chains flattened), and that predictor.</summary>
    internal static (List<ITransformer> Before, ITransformer Predictor) Split(ITransformer model)
    {
        var flat = new List<ITransformer>();
        void Flatten(ITransformer t)
        {
            if (t is IEnumerable<ITransformer> chain && t is not ISingleFeaturePredictionTransformer<object>) foreach (var part in chain) Flatten(part);
            else flat.Add(t);
        }
        Flatten(model);
        int last = flat.FindLastIndex(t => t is ISingleFeaturePredictionTransformer<object>);
        if (last < 0) throw new NotSupportedException($"{model.GetType().Name} holds no single-feature prediction transformer (a trainer's output).");
        return (flat.GetRange(0, last), flat[last]);
    }

    private static bool IsConstant(int[] slots, NdArray<float> rows, float[][]? background)
    {
        foreach (int s in slots)
        {
            float first = rows.Data[s];
            for (int r = 1; r < rows.Rows; r++) if (!rows.Data[r * rows.RowSize + s].Equals(first)) return false;
            if (background is not null) foreach (var b in background) if (!b[s].Equals(first)) return false;
        }
        return true;
    }

    /// <summary>
    /// The value of one feature of one row as a person reads it: the number of a one-slot feature; the category of a
    /// one-hot group (the name of its non-zero slot without the group's prefix); else the non-zero slots, a few by name.
    /// </summary>
    internal static string ValueText(FeatureGroup group, float[] row, IReadOnlyList<string> slotNames)
    {
        if (group.Slots.Length == 1 && !IsIndicator(slotNames[group.Slots[0]], group.Name)) return Visualization.Svg.Label(row[group.Slots[0]]);
        var on = group.Slots.Where(s => row[s] != 0).ToArray();
        if (on.Length == 0) return "(none)";
        var names = on.Take(3).Select(s => Category(slotNames[s], group.Name)).ToArray();
        bool indicators = on.All(s => row[s] == 1);
        string text = indicators ? string.Join(", ", names) : string.Join(", ", on.Take(3).Select((s, i) => $"{names[i]}: {Visualization.Svg.Label(row[s])}"));
        return on.Length > 3 ? $"{text}, … ({on.Length} non-zero)" : text;
    }

    private static bool IsIndicator(string slot, string group) => slot.Length > group.Length && slot.Contains(group + ".", StringComparison.Ordinal);

    private static string Category(string slot, string group)
    {
        int at = slot.IndexOf(group + ".", StringComparison.Ordinal);
        return at >= 0 ? slot[(at + group.Length + 1)..] : slot;
    }
}

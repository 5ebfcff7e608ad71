using System.Diagnostics;
using System.Globalization;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Reports;

/// <summary>Runs the model and the attribution method once over all explained rows and collects a <see cref="ReportData"/>.</summary>
internal static class ReportRunner
{
    /// <summary>Any forward oracle (ONNX, ML.NET feature vectors): IG for gradient oracles, Kernel SHAP otherwise.</summary>
    public static ReportData ForOracle(IForwardOracle oracle, NdArray<float> inputs, float[]? labels, AttributionReportOptions o,
        IReadOnlyList<string>? modelFeatureNames, List<ReportTiming> timings, string model)
    {
        var clock = Stopwatch.StartNew();
        oracle.ValidateInput(inputs);
        if (labels is not null && labels.Length != inputs.Rows)
            throw new ArgumentException($"{labels.Length} labels for {inputs.Rows} input rows.", nameof(labels));
        var modality = Modality(inputs, o);
        var ids = ReportRows.Sample(inputs.Rows, o.MaxRows, o.Seed);
        var x = ids.Length == inputs.Rows ? inputs : ReportRows.Take(inputs, ids);
        var background = ReportRows.Take(inputs, ReportRows.Sample(inputs.Rows, o.BackgroundSize, o.Seed + 1));
        var baseline = o.Baseline ?? (modality == ReportModality.Tabular ? ReportRows.MeanRow(background) : new NdArray<float>([1, .. inputs.RowShape]));
        timings.Add(new("prepare", clock.Elapsed.TotalSeconds));

        clock.Restart();
        int chunk = Batcher.ChunkRows(oracle, null, x.RowSize);
        var outputs = Batcher.ForwardRows(oracle, x, chunk);
        var baseOutputs = Batcher.ForwardRows(oracle, Baselines.Expand(baseline, new NdArray<float>([1, .. x.RowShape]), oracle.InputName), 1);
        var targets = Targets(outputs, o.Target);
        timings.Add(new("predict", clock.Elapsed.TotalSeconds));

        clock.Restart();
        var method = MethodRegistry.Get(o.Method ?? (oracle is IGradientOracle ? "integrated-gradients" : "kernel-shap"));
        if (method.Has(MethodCapabilities.ExactForTrees))
            throw new NotSupportedException("TreeSHAP needs an ML.NET tree model: call AttributionReport.Generate(ITransformer, IDataView, …).");
        if (!AttributionReportOptions.Accepts(method))
            throw new NotSupportedException($"A report explains the model's input features; method '{method.Name}' does not. " +
                $"Use one of {string.Join(", ", AttributionReportOptions.OracleMethods.Select(m => m.Name))}.");
        if (method.Has(MethodCapabilities.Gradients) && oracle is not IGradientOracle)
            throw new NotSupportedException($"Method '{method.Name}' needs a model that gives gradients (an ONNX model); {oracle.GetType().Name} does not. " +
                "Use kernel-shap, shapley-value-sampling or feature-ablation.");
        var methodOptions = o.MethodOptions ?? (method.Name == "kernel-shap" && modality == ReportModality.Tabular
            ? new KernelShapOptions { Samples = MLNetReportRunner.KernelShapBudget(x.RowSize), Seed = o.Seed + 3 } : method.CreateDefaultOptions());
        var target = Target.PerRow(targets);
        // Methods that need a baseline distribution (gradient-shap, deeplift-shap) take the background rows.
        var baselines = method.Has(MethodCapabilities.RequiresBaselines) ? background : baseline;
        var result = method.Attribute(new MethodInputs { Model = oracle, Rows = x, Baselines = baselines, Target = target }, methodOptions);
        var settings = Settings(methodOptions);
        timings.Add(new("attribute", clock.Elapsed.TotalSeconds));

        settings.Add(("baseline", method.Has(MethodCapabilities.RequiresBaselines) ? $"distribution of {background.Rows} background rows"
            : o.Baseline is not null ? "given" : modality == ReportModality.Tabular
            ? $"mean of {background.Rows} background rows" : "zeros"));
        settings.Add(("seed", Invariant(o.Seed)));
        clock.Restart();
        var faithfulness = FaithfulnessSection.Compute(oracle, x, result.Targets, baseline, background, method.Name, result.Attributions, o);
        if (faithfulness is not null) timings.Add(new("faithfulness", clock.Elapsed.TotalSeconds));
        var data = new ReportData
        {
            Faithfulness = faithfulness,
            FaithfulnessRows = Math.Min(o.Faithfulness?.MaxRows ?? 0, x.Rows),
            Inputs = x,
            RowIds = ids,
            TotalRows = inputs.Rows,
            Outputs = outputs,
            Attributions = result.Attributions,
            Targets = result.Targets,
            BaseValues = result.Targets.Select(t => (double)baseOutputs.Data[t]).ToArray(),
            Predictions = Enumerable.Range(0, x.Rows).Select(r => (double)outputs.Row(r)[result.Targets[r]]).ToArray(),
            Labels = labels is null ? null : ids.Select(i => labels[i]).ToArray(),
            Method = DisplayName(method),
            Settings = [("model", model), ("explained output", $"'{oracle.OutputName}'"), .. settings],
            FeatureNames = [],
            ClassNames = [],
            Modality = modality,
            OriginalImages = o.OriginalImages is { } images ? ReportRows.Take(CheckImages(images, inputs), ids) : null,
            Tokens = o.Tokens is { } tokens ? ids.Select(i => tokens[i]).ToArray() : null,
            BaseValueLabel = "f(baseline)",
            BaseValueNote = "the model's output at the baseline row, " + (o.Baseline is not null ? "as given" : modality == ReportModality.Tabular
                ? $"the mean of {background.Rows} background rows (not the mean output over them)" : "all zeros"),
            Timings = timings,
        };
        return Named(data, o, modelFeatureNames);
    }

    /// <summary>A fitted ML.NET model over its data: TreeSHAP on the predictor's features for tree ensembles, otherwise
    /// any other method on the <paramref name="featureColumn"/> vector through <see cref="MLNetForwardOracle"/>.</summary>
    public static ReportData ForMLNet(ITransformer model, IDataView data, string featureColumn, string? labelColumn, AttributionReportOptions o, List<ReportTiming> timings)
    {
        var clock = Stopwatch.StartNew();
        TreeEnsemble? trees = null;
        if (o.Method is null || MethodRegistry.Get(o.Method).Has(MethodCapabilities.ExactForTrees))
        {
            try { trees = TreeEnsemble.FromTransformer(model); }
            catch (NotSupportedException) when (o.Method is null) { }
        }
        var scored = model.Transform(data);
        if (trees is null)
        {
            var oracle = new MLNetForwardOracle(model, data.Schema, featureColumn);
            var inputs = oracle.ReadFeatures(data);
            var labels = labelColumn is null ? null : ReadLabels(scored, labelColumn, inputs.Rows);
            timings.Add(new("load", clock.Elapsed.TotalSeconds));
            var o2 = o.ClassNames is null && ClassNamesOf(scored, oracle.OutputCount) is { Count: > 0 } names ? o with { ClassNames = names } : o;
            return ForOracle(oracle, inputs, labels, o2, oracle.FeatureNames, timings, $"ML.NET {Describe(model)}");
        }

        var (featurized, predictorFeatures) = Featurize(model, data);
        var column = featurized.Schema.GetColumnOrNull(predictorFeatures)
            ?? throw new ArgumentException($"The tree model reads column '{predictorFeatures}', which its featurizer does not produce.");
        var all = ReadVectors(featurized, column);
        var score = ScoreColumn.Find(scored.Schema, "Score");
        var allOutputs = new NdArray<float>(score.Read(scored, all.Rows), all.Rows, score.Outputs);
        var allLabels = labelColumn is null ? null : ReadLabels(scored, labelColumn, all.Rows);
        timings.Add(new("load", clock.Elapsed.TotalSeconds));

        clock.Restart();
        var ids = ReportRows.Sample(all.Rows, o.MaxRows, o.Seed);
        var x = ids.Length == all.Rows ? all : ReportRows.Take(all, ids);
        var outputs = ids.Length == all.Rows ? allOutputs : ReportRows.Take(allOutputs, ids);
        var background = ReportRows.Take(all, ReportRows.Sample(all.Rows, o.BackgroundSize, o.Seed + 1));
        if (trees.OutputCount != outputs.RowSize)
            throw new NotSupportedException($"The trees give {trees.OutputCount} outputs but the Score column has {outputs.RowSize}.");
        var targets = Targets(outputs, o.Target);
        timings.Add(new("prepare", clock.Elapsed.TotalSeconds));

        clock.Restart();
        // The tree options were ignored here once (always path-dependent): the algorithm comes from TreeShapOptions.
        var treeOptions = o.MethodOptions switch
        {
            null => new TreeShapOptions(),
            TreeShapOptions given => given,
            var other => throw new ArgumentException($"The report explains this tree model with TreeSHAP, which takes TreeShapOptions; got {other.GetType().Name}.", nameof(o)),
        };
        var shap = new TreeShap(trees, background, treeOptions.Algorithm).Explain(x);
        var attributions = new NdArray<float>(x.Shape);
        int k = trees.OutputCount, f = x.RowSize;
        for (int r = 0; r < x.Rows; r++)
            shap.Values.Data.AsSpan((r * k + targets[r]) * f, f).CopyTo(attributions.Row(r));
        timings.Add(new("attribute", clock.Elapsed.TotalSeconds));

        var result = new ReportData
        {
            Inputs = x,
            RowIds = ids,
            TotalRows = all.Rows,
            Outputs = outputs,
            Attributions = attributions,
            Targets = targets,
            BaseValues = targets.Select(t => shap.ExpectedValues[t]).ToArray(),
            AllOutputs = k > 1 ? shap.Values : null,
            Labels = allLabels is null ? null : ids.Select(i => allLabels[i]).ToArray(),
            Method = treeOptions.Algorithm == TreeShapAlgorithm.PathDependent ? "TreeSHAP (exact, path-dependent)" : "TreeSHAP (exact, interventional)",
            Settings = [("model", $"ML.NET {Describe(model)}, {trees.TreeCount} trees"), ("explained output", trees.Explained),
                ("features", $"column '{predictorFeatures}' as the trees see it (after the featurizer)"),
                treeOptions.Algorithm == TreeShapAlgorithm.PathDependent ? ("node covers", $"{background.Rows} background rows")
                    : ("background", $"{background.Rows} rows (interventional expectation)"), ("seed", Invariant(o.Seed))],
            FeatureNames = [],
            ClassNames = o.ClassNames ?? ClassNamesOf(scored, k),
            Modality = ReportModality.Tabular,
            Timings = timings,
        };
        return Named(result, o, MLNetForwardOracle.ReadSlotNames(column, f));
    }

    private static ReportData Named(ReportData data, AttributionReportOptions o, IReadOnlyList<string>? modelNames)
    {
        int f = data.FeatureCount, k = data.OutputCount;
        if (o.FeatureNames is { } given && given.Count != f)
            throw new ArgumentException($"{given.Count} feature names for {f} features" +
                (data.Modality == ReportModality.Tabular ? "." : $" ({data.Modality.ToString().ToLowerInvariant()} inputs name one feature per {(data.Modality == ReportModality.Image ? "channel" : "token position")})."));
        if (o.ClassNames is { } classes && classes.Count != k && data.ClassNames.Count == 0)
            throw new ArgumentException($"{classes.Count} class names for a model with {k} outputs.");
        string prefix = data.Modality switch { ReportModality.Image => "channel ", ReportModality.Text => "token ", _ => "f" };
        var names = o.FeatureNames ?? (modelNames is not null && modelNames.Count == f ? modelNames
            : Enumerable.Range(0, f).Select(j => prefix + Invariant(j)).ToArray());
        var classNames = data.ClassNames.Count == k ? data.ClassNames
            : o.ClassNames ?? Enumerable.Range(0, k).Select(c => k == 1 ? "score" : "class " + Invariant(c)).ToArray();
        return new ReportData
        {
            Inputs = data.Inputs, RowIds = data.RowIds, TotalRows = data.TotalRows, Outputs = data.Outputs,
            Attributions = data.Attributions, Targets = data.Targets, BaseValues = data.BaseValues, Predictions = data.Predictions,
            AllOutputs = data.AllOutputs, Labels = data.Labels, Method = data.Method, Settings = data.Settings,
            FeatureNames = names, ClassNames = classNames, Modality = data.Modality, OriginalImages = data.OriginalImages,
            Tokens = data.Tokens, Timings = data.Timings, ValueTexts = data.ValueTexts, HiddenFeatures = data.HiddenFeatures,
            BaseValueLabel = data.BaseValueLabel, BaseValueNote = data.BaseValueNote,
            Faithfulness = data.Faithfulness, FaithfulnessRows = data.FaithfulnessRows,
        };
    }

    private static ReportModality Modality(NdArray<float> inputs, AttributionReportOptions o)
    {
        if (o.Tokens is { } tokens)
        {
            if (inputs.Rank is not (2 or 3))
                throw new ArgumentException($"Tokens were given, so inputs must be [N, T] or [N, T, D]; got {inputs.ShapeText}.");
            if (tokens.Count != inputs.Rows)
                throw new ArgumentException($"{tokens.Count} token rows for {inputs.Rows} input rows.");
            for (int r = 0; r < tokens.Count; r++)
            {
                if (tokens[r] is null || tokens[r].Count != inputs.Shape[1])
                    throw new ArgumentException($"Token row {r} has {tokens[r]?.Count ?? 0} tokens; inputs have {inputs.Shape[1]} positions per row.");
            }
            return ReportModality.Text;
        }
        if (inputs.Rank == 4) return ReportModality.Image;
        if (inputs.Rank == 2) return ReportModality.Tabular;
        throw new ArgumentException($"Report inputs must be tabular [N, F], images [N, C, H, W], or token rows with Tokens given; got {inputs.ShapeText}.");
    }

    private static NdArray<float> CheckImages(NdArray<float> images, NdArray<float> inputs)
    {
        if (inputs.Rank != 4 || images.Rank != 4 || images.Rows != inputs.Rows || images.Shape[2] != inputs.Shape[2] || images.Shape[3] != inputs.Shape[3])
            throw new ArgumentException($"Original images {images.ShapeText} must be [N, C, H, W] with the N, H and W of the image inputs {inputs.ShapeText}.");
        return images;
    }

    internal static int[] Targets(NdArray<float> outputs, int? target)
    {
        if (target is int t)
        {
            if (t < 0 || t >= outputs.RowSize)
                throw new ArgumentOutOfRangeException(nameof(target), t, $"Target {t} is out of range: the model has {outputs.RowSize} output(s) per row.");
            return Enumerable.Repeat(t, outputs.Rows).ToArray();
        }
        return ReportRows.Predicted(outputs);
    }

    /// <summary>The data as the chain's last predictor sees it, and the predictor's feature column.</summary>
    private static (IDataView Data, string FeatureColumn) Featurize(ITransformer model, IDataView data)
    {
        if (model is ISingleFeaturePredictionTransformer<object> predictor) return (data, predictor.FeatureColumnName);
        if (model is IEnumerable<ITransformer> chain)
        {
            var parts = chain.ToArray();
            int last = Array.FindLastIndex(parts, ContainsPredictor);
            if (last >= 0)
            {
                for (int i = 0; i < last; i++) data = parts[i].Transform(data);
                return Featurize(parts[last], data);
            }
        }
        throw new NotSupportedException($"{model.GetType().Name} holds no single-feature prediction transformer.");
    }

    internal static bool ContainsPredictor(ITransformer t) =>
        t is ISingleFeaturePredictionTransformer<object> || (t is IEnumerable<ITransformer> chain && chain.Any(ContainsPredictor));

    internal static NdArray<float> ReadVectors(IDataView data, DataViewSchema.Column column)
    {
        if (column.Type is not VectorDataViewType { IsKnownSize: true } vector || vector.ItemType != NumberDataViewType.Single)
            throw new ArgumentException($"Column '{column.Name}' has type {column.Type}, expected known-size Vector<Single>.");
        var values = new List<float>();
        using var cursor = data.GetRowCursor([column]);
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        VBuffer<float> buffer = default;
        int n = 0;
        while (cursor.MoveNext())
        {
            getter(ref buffer);
            foreach (var v in buffer.DenseValues()) values.Add(v);
            n++;
        }
        return new NdArray<float>([.. values], n, vector.Size);
    }

    /// <summary>Labels as numbers: keys become 0-based class indices (the Score slot order), booleans 0/1.</summary>
    internal static float[] ReadLabels(IDataView scored, string name, int rows)
    {
        var column = scored.Schema.GetColumnOrNull(name)
            ?? throw new ArgumentException($"The data has no label column '{name}'.", nameof(name));
        var c = column;
        var result = new float[rows];
        using var cursor = scored.GetRowCursor([c]);
        int r = 0;
        Func<float> read = c.Type switch
        {
            KeyDataViewType => Getter<uint>(cursor, c, k => k == 0 ? float.NaN : k - 1f),
            BooleanDataViewType => Getter<bool>(cursor, c, b => b ? 1f : 0f),
            var t when t == NumberDataViewType.Single => Getter<float>(cursor, c, v => v),
            var t when t == NumberDataViewType.Double => Getter<double>(cursor, c, v => (float)v),
            var t when t == NumberDataViewType.Int32 => Getter<int>(cursor, c, v => v),
            var t when t == NumberDataViewType.Int64 => Getter<long>(cursor, c, v => v),
            var t => throw new ArgumentException($"Label column '{name}' has type {t}; expected a key, Boolean or number."),
        };
        while (r < rows && cursor.MoveNext()) result[r++] = read();
        if (r != rows) throw new InvalidOperationException($"Label column '{name}' has {r} rows; the features have {rows}.");
        return result;
    }

    private static Func<float> Getter<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Func<T, float> convert)
    {
        var getter = cursor.GetGetter<T>(column);
        T value = default!;
        return () => { getter(ref value); return convert(value); };
    }

    internal static IReadOnlyList<string> ClassNamesOf(IDataView scored, int outputs)
    {
        if (outputs < 2 || scored.Schema.GetColumnOrNull("Score") is not { } score) return [];
        var names = MLNetForwardOracle.ReadSlotNames(score, outputs);
        return names.SequenceEqual(Enumerable.Range(0, outputs).Select(i => $"f{i}")) ? [] : names;
    }

    internal static string Describe(ITransformer model) =>
        model is IEnumerable<ITransformer> chain ? string.Join(" → ", chain.Select(Describe)) : model.GetType().Name.Split('`')[0];

    private static string Invariant(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>The method's name as a heading: its registry summary up to the colon.</summary>
    internal static string DisplayName(AttributionMethod method) => method.Summary.Split(':')[0];

    /// <summary>The method's settings as the report lists them: every property of its options record.</summary>
    private static List<(string, string)> Settings(MethodOptions options) => options.GetType()
        .GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
        .Where(p => p.Name != "EqualityContract" && p.GetValue(options) is not null)
        .Select(p => (p.Name, p.GetValue(options) switch
        {
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            int[] ints => string.Join(",", ints),
            var v => v!.ToString() ?? "",
        }))
        .ToList();
}

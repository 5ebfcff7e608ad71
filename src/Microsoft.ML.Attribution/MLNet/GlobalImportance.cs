using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>
/// How much one source column (one feature group of an explanation step) matters over a data set, two ways: the spread
/// of its attributions φ, and permutation feature importance (PFI) over the same group — every slot of the group
/// shuffled together across rows, so a one-hot column is permuted as the one feature it is.
/// </summary>
/// <param name="Name">The source column (or source slot) name: the attribution column's slot name.</param>
/// <param name="MeanAbsoluteAttribution">Mean of |φ| over the rows (SHAP's global importance).</param>
/// <param name="StdAbsoluteAttribution">Standard deviation of |φ| over the rows (population).</param>
/// <param name="P10Attribution">10th percentile of φ (signed).</param>
/// <param name="P90Attribution">90th percentile of φ (signed).</param>
/// <param name="MeanAttribution">Mean of φ (signed): which way the column pushes the output on average.</param>
/// <param name="PermutationImportance">
/// Per metric (<see cref="GlobalImportanceReport.PermutationMetrics"/>), how much worse the model gets when the group is
/// permuted, averaged over the permutations: a drop for metrics where higher is better (AUC, R², macro accuracy), a rise
/// for those where lower is better (log-loss, RMSE), the mean |Δ score| without a label. Positive: the column matters.
/// </param>
public sealed record SourceColumnImportance(string Name, double MeanAbsoluteAttribution, double StdAbsoluteAttribution, double P10Attribution,
    double P90Attribution, double MeanAttribution, IReadOnlyDictionary<string, double> PermutationImportance);

/// <summary>Global importance of the source columns of an explained model over a data set (see <see cref="SourceColumnImportance"/>).</summary>
public sealed class GlobalImportanceReport
{
    internal GlobalImportanceReport(IReadOnlyList<SourceColumnImportance> columns, string task, IReadOnlyList<string> metrics, string method, long rows)
    {
        Columns = columns;
        Task = task;
        PermutationMetrics = metrics;
        Method = method;
        Rows = rows;
    }

    /// <summary>One record per source column (feature group), most important (mean |φ|) first.</summary>
    public IReadOnlyList<SourceColumnImportance> Columns { get; }

    /// <summary>The task the metrics come from: "binary", "regression", "multiclass", "ranking", "onnx" or "no label".</summary>
    public string Task { get; }

    /// <summary>The PFI metrics (ML.NET's metric names, or "MeanAbsoluteScoreChange"), the keys of <see cref="SourceColumnImportance.PermutationImportance"/>.</summary>
    public IReadOnlyList<string> PermutationMetrics { get; }

    /// <summary>The attribution method that gave φ.</summary>
    public string Method { get; }

    /// <summary>Rows the importances were computed on.</summary>
    public long Rows { get; }

    /// <summary>
    /// The report as an <see cref="IDataView"/>: one row per source column with Name, MeanAbsoluteAttribution,
    /// StdAbsoluteAttribution, P10Attribution, P90Attribution, MeanAttribution and PermutationImportance (a vector of
    /// Double whose slot names are <see cref="PermutationMetrics"/>).
    /// </summary>
    public IDataView ToDataView(MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        var rows = Columns.Select(c => new ReportRow
        {
            Name = c.Name,
            MeanAbsoluteAttribution = c.MeanAbsoluteAttribution,
            StdAbsoluteAttribution = c.StdAbsoluteAttribution,
            P10Attribution = c.P10Attribution,
            P90Attribution = c.P90Attribution,
            MeanAttribution = c.MeanAttribution,
            PermutationImportance = PermutationMetrics.Select(m => c.PermutationImportance[m]).ToArray(),
        }).ToList();
        var definition = SchemaDefinition.Create(typeof(ReportRow));
        var pfi = definition[nameof(ReportRow.PermutationImportance)];
        pfi.ColumnType = new VectorDataViewType(NumberDataViewType.Double, PermutationMetrics.Count);
        var names = new VBuffer<ReadOnlyMemory<char>>(PermutationMetrics.Count, PermutationMetrics.Select(m => m.AsMemory()).ToArray());
        pfi.AddAnnotation("SlotNames", names, new VectorDataViewType(TextDataViewType.Instance, PermutationMetrics.Count));
        return mlContext.Data.LoadFromEnumerable(rows, definition);
    }

    private sealed class ReportRow
    {
        public string Name { get; set; } = "";

        public double MeanAbsoluteAttribution { get; set; }

        public double StdAbsoluteAttribution { get; set; }

        public double P10Attribution { get; set; }

        public double P90Attribution { get; set; }

        public double MeanAttribution { get; set; }

        public double[] PermutationImportance { get; set; } = [];
    }
}

/// <summary>Computes a <see cref="GlobalImportanceReport"/>: attribution statistics and group PFI on the same feature groups.</summary>
internal static class GlobalImportance
{
    private enum Quality { HigherIsBetter, LowerIsBetter }

    public static GlobalImportanceReport Compute(MLContext mlContext, ITransformer head, AttributionTransformer explainer, IDataView data,
        string labelColumnName, int permutationCount, int seed)
    {
        if (permutationCount < 1) throw new ArgumentOutOfRangeException(nameof(permutationCount), permutationCount, "permutationCount must be at least 1.");
        var options = explainer.Options;
        if (options.TopK > 1 || options.AllOutputs || options.Layer is not null)
            throw new ArgumentException("GlobalImportance needs one attribution vector per row over the feature vector: the explanation step must have TopK = 1, no AllOutputs and no Layer.");
        var scored = mlContext.Data.Cache(head.Transform(data));
        var explained = explainer.Transform(scored);
        var attributionColumn = explained.Schema[options.OutputColumnName];
        var phi = explained.GetColumn<float[]>(attributionColumn).ToArray();
        if (phi.Length == 0) throw new ArgumentException("GlobalImportance: the data has no rows.", nameof(data));
        int width = phi[0].Length;
        var names = OracleNames(attributionColumn, width);
        var featureColumn = scored.Schema[options.InputColumnName];
        var features = scored.GetColumn<float[]>(featureColumn).ToArray();
        int f = features[0].Length;
        var groups = explainer.Grouped ? options.FeatureGroups!.Select(g => g.Slots).ToArray() : Enumerable.Range(0, f).Select(j => new[] { j }).ToArray();
        if (groups.Length != width)
            throw new InvalidOperationException($"GlobalImportance: the attribution column has {width} slots but the step has {groups.Length} feature groups.");

        var scorer = Scorer.For(mlContext, explainer, scored, labelColumnName);
        var baseline = scorer.Evaluate(features);
        var random = new Random(seed);
        var records = new List<SourceColumnImportance>(width);
        for (int g = 0; g < width; g++)
        {
            var totals = new double[scorer.Metrics.Count];
            for (int p = 0; p < permutationCount; p++)
            {
                var order = Enumerable.Range(0, features.Length).ToArray();
                random.Shuffle(order);
                var permuted = new float[features.Length][];
                for (int r = 0; r < features.Length; r++)
                {
                    permuted[r] = (float[])features[r].Clone();
                    foreach (int s in groups[g]) permuted[r][s] = features[order[r]][s];
                }
                var metrics = scorer.Evaluate(permuted, baseline);
                for (int m = 0; m < totals.Length; m++)
                {
                    var (_, quality) = scorer.Metrics[m];
                    totals[m] += quality == Quality.HigherIsBetter ? baseline.Values[m] - metrics.Values[m] : metrics.Values[m] - baseline.Values[m];
                }
            }
            var values = phi.Select(row => (double)row[g]).ToArray();
            var absolute = values.Select(Math.Abs).ToArray();
            double meanAbs = absolute.Average();
            double std = Math.Sqrt(absolute.Average(v => (v - meanAbs) * (v - meanAbs)));
            Array.Sort(values);
            var pfi = new Dictionary<string, double>(StringComparer.Ordinal);
            for (int m = 0; m < totals.Length; m++) pfi[scorer.Metrics[m].Name] = totals[m] / permutationCount;
            records.Add(new SourceColumnImportance(names[g], meanAbs, std, Percentile(values, 0.1), Percentile(values, 0.9), values.Average(), pfi));
        }
        return new GlobalImportanceReport(records.OrderByDescending(r => r.MeanAbsoluteAttribution).ToList(), scorer.Task,
            scorer.Metrics.Select(m => m.Name).ToList(), options.Method!, phi.Length);
    }

    private static string[] OracleNames(DataViewSchema.Column column, int width) => Oracles.MLNetForwardOracle.ReadSlotNames(column, width).ToArray();

    /// <summary>Linear interpolation between order statistics of sorted values.</summary>
    private static double Percentile(double[] sorted, double p)
    {
        double position = p * (sorted.Length - 1);
        int low = (int)Math.Floor(position), high = Math.Min(sorted.Length - 1, low + 1);
        return sorted[low] + (position - low) * (sorted[high] - sorted[low]);
    }

    /// <summary>Metric values of one pass, with the scores (kept for |Δ score| against the unpermuted pass).</summary>
    private sealed record Pass(double[] Values, float[][]? Scores);

    /// <summary>Scores feature vectors with the explained model and measures them by the task's metrics.</summary>
    private sealed class Scorer
    {
        private readonly MLContext _ml;
        private readonly ITransformer? _predictor;
        private readonly Oracles.IForwardOracle? _oracle;
        private readonly IDataView _scored;
        private readonly DataViewSchema.Column _feature;
        private readonly string _label;

        private Scorer(MLContext ml, AttributionTransformer explainer, IDataView scored, string label, string task, IReadOnlyList<(string, Quality)> metrics)
        {
            _ml = ml;
            _scored = scored;
            _feature = scored.Schema[explainer.Options.InputColumnName];
            _label = label;
            Task = task;
            Metrics = metrics;
            if (explainer.Model.Kind == ModelKind.Onnx) _oracle = explainer.Model.Oracle(explainer.Options, scored.Schema, explainer.Log);
            else _predictor = explainer.Model.Predictor;
        }

        public string Task { get; }

        public IReadOnlyList<(string Name, Quality Quality)> Metrics { get; }

        public static Scorer For(MLContext ml, AttributionTransformer explainer, IDataView scored, string label)
        {
            bool hasLabel = scored.Schema.GetColumnOrNull(label) is not null;
            if (explainer.Model.Kind == ModelKind.Onnx) return new(ml, explainer, scored, label, "onnx", [(MeanAbsoluteScoreChange, Quality.LowerIsBetter)]);
            var predictor = explainer.Model.Predictor!;
            var task = Is(predictor, typeof(BinaryPredictionTransformer<>)) ? "binary"
                : Is(predictor, typeof(RegressionPredictionTransformer<>)) ? "regression"
                : Is(predictor, typeof(MulticlassPredictionTransformer<>)) ? "multiclass"
                : Is(predictor, typeof(RankingPredictionTransformer<>)) ? "ranking" : "no label";
            if (!hasLabel && task != "ranking") task = "no label";
            (string, Quality)[] metrics = task switch
            {
                "binary" => [(nameof(BinaryClassificationMetrics.AreaUnderRocCurve), Quality.HigherIsBetter), (nameof(CalibratedBinaryClassificationMetrics.LogLoss), Quality.LowerIsBetter)],
                "regression" => [(nameof(RegressionMetrics.RSquared), Quality.HigherIsBetter), (nameof(RegressionMetrics.RootMeanSquaredError), Quality.LowerIsBetter)],
                "multiclass" => [(nameof(MulticlassClassificationMetrics.MacroAccuracy), Quality.HigherIsBetter), (nameof(MulticlassClassificationMetrics.LogLoss), Quality.LowerIsBetter)],
                _ => [(MeanAbsoluteScoreChange, Quality.LowerIsBetter)],
            };
            return new(ml, explainer, scored, label, task, metrics);
        }

        private static bool Is(ITransformer predictor, Type generic)
        {
            for (var t = predictor.GetType(); t is not null; t = t.BaseType)
                if (t.IsGenericType && t.GetGenericTypeDefinition() == generic) return true;
            return false;
        }

        /// <summary>The metrics of the model on these feature vectors; |Δ score| is measured against <paramref name="reference"/>.</summary>
        public Pass Evaluate(float[][] features, Pass? reference = null)
        {
            if (_oracle is not null)
            {
                int f = features[0].Length;
                var flat = new float[features.Length * f];
                for (int r = 0; r < features.Length; r++) features[r].CopyTo(flat, r * f);
                var outputs = _oracle.Forward(new NdArray<float>(flat, features.Length, f));
                var scores = Enumerable.Range(0, outputs.Rows).Select(r => outputs.Row(r).ToArray()).ToArray();
                return new Pass([reference is null ? 0 : MeanAbsoluteChange(reference.Scores!, scores)], scores);
            }
            var predicted = _predictor!.Transform(new ReplacedColumnView(_scored, _feature, features));
            switch (Task)
            {
                case "binary":
                    if (predicted.Schema.GetColumnOrNull("Probability") is not null)
                    {
                        var m = _ml.BinaryClassification.Evaluate(predicted, _label);
                        return new Pass([m.AreaUnderRocCurve, m.LogLoss], null);
                    }
                    return new Pass([_ml.BinaryClassification.EvaluateNonCalibrated(predicted, _label).AreaUnderRocCurve, double.NaN], null);
                case "regression":
                {
                    var m = _ml.Regression.Evaluate(predicted, _label);
                    return new Pass([m.RSquared, m.RootMeanSquaredError], null);
                }
                case "multiclass":
                {
                    var m = _ml.MulticlassClassification.Evaluate(predicted, _label);
                    return new Pass([m.MacroAccuracy, m.LogLoss], null);
                }
                default:
                {
                    var score = predicted.Schema["Score"];
                    var scores = score.Type is VectorDataViewType
                        ? predicted.GetColumn<float[]>(score).ToArray()
                        : predicted.GetColumn<float>(score).Select(v => new[] { v }).ToArray();
                    return new Pass([reference is null ? 0 : MeanAbsoluteChange(reference.Scores!, scores)], scores);
                }
            }
        }

        private static double MeanAbsoluteChange(float[][] before, float[][] after)
        {
            double total = 0;
            long count = 0;
            for (int r = 0; r < before.Length; r++)
                for (int j = 0; j < before[r].Length; j++, count++) total += Math.Abs((double)after[r][j] - before[r][j]);
            return count == 0 ? 0 : total / count;
        }
    }

    /// <summary>The report's metric when there is no label (ranking, ONNX, unlabelled data).</summary>
    public const string MeanAbsoluteScoreChange = "MeanAbsoluteScoreChange";

    /// <summary>A data view passing every column of its source through, except one vector column read from an array by row.</summary>
    private sealed class ReplacedColumnView(IDataView source, DataViewSchema.Column column, float[][] values) : IDataView
    {
        private float[][] Values => values;

        private int ColumnIndex => column.Index;

        public bool CanShuffle => false;

        public DataViewSchema Schema => source.Schema;

        public long? GetRowCount() => values.Length;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
            new Cursor(this, source.GetRowCursor(columnsNeeded.Where(c => c.Index != column.Index)), columnsNeeded);

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
            [GetRowCursor(columnsNeeded, rand)];

        private sealed class Cursor(ReplacedColumnView view, DataViewRowCursor inner, IEnumerable<DataViewSchema.Column> active) : DataViewRowCursor
        {
            private readonly HashSet<int> _active = active.Select(c => c.Index).ToHashSet();

            public override DataViewSchema Schema => view.Schema;

            public override long Position => inner.Position;

            public override long Batch => inner.Batch;

            public override ValueGetter<DataViewRowId> GetIdGetter() => inner.GetIdGetter();

            public override bool IsColumnActive(DataViewSchema.Column column) => _active.Contains(column.Index);

            public override bool MoveNext()
            {
                if (!inner.MoveNext()) return false;
                if (inner.Position >= view.Values.Length)
                    throw new InvalidOperationException("GlobalImportance: the data gave more rows on a second pass than on the first.");
                return true;
            }

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (column.Index != view.ColumnIndex) return inner.GetGetter<TValue>(column);
                ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> dst) =>
                {
                    var row = view.Values[inner.Position];
                    var editor = VBufferEditor.Create(ref dst, row.Length);
                    row.CopyTo(editor.Values);
                    dst = editor.Commit();
                };
                return getter as ValueGetter<TValue> ?? throw new InvalidOperationException($"Column '{column.Name}' is Vector<Single>; it cannot be read as {typeof(TValue).Name}.");
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing) inner.Dispose();
                base.Dispose(disposing);
            }
        }
    }
}

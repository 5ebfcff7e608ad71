using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Robust;

/// <summary>An attack compared by <see cref="AttackComparator"/>: the attacked rows, given the rows and their labels.</summary>
public delegate NdArray<float> ComparedAttack(NdArray<float> inputs, int[] labels);

/// <summary>A metric of the model's outputs <c>[N, …]</c> on a batch (one value, or one per row), given the labels.</summary>
public delegate float[] AttackMetric(NdArray<float> outputs, int[] labels);

/// <summary>
/// The metric of one batch under one attack: its mean over the attempts, and with several attempts its element-wise
/// minimum and maximum (null for one attempt and for the original rows).
/// </summary>
public sealed record AttackStatistics(float[] Mean, float[]? Min, float[]? Max);

/// <summary>
/// A model's metric on the original rows and under a set of attacks or perturbations, as Captum's
/// <c>AttackComparator</c>: <see cref="Evaluate"/> gives each attack's metric on one batch (mean, and min/max over attempts
/// for random attacks), and <see cref="Summary"/> the running mean, over every batch evaluated so far, of the metric
/// averaged over the batch's rows. Attacked batches go through the model <c>perturbationsPerEval</c> at a time.
/// </summary>
public sealed class AttackComparator
{
    /// <summary>The key of the unattacked rows in results and summaries.</summary>
    public const string OriginalKey = "Original";

    private readonly IForwardOracle _oracle;
    private readonly AttackMetric _metric;
    private readonly List<(string Name, ComparedAttack Attack, int Attempts)> _attacks = [];
    private readonly Dictionary<string, (double Mean, int Count)> _summary = [];
    private readonly List<string> _summaryOrder = [];

    /// <summary>Compares attacks on <paramref name="oracle"/> by <paramref name="metric"/>.</summary>
    public AttackComparator(IForwardOracle oracle, AttackMetric metric)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        _metric = metric ?? throw new ArgumentNullException(nameof(metric));
    }

    /// <summary>The metric "probability of the label" per row, from logits through a softmax (a common robustness metric).</summary>
    public static AttackMetric LabelProbability { get; } = (outputs, labels) =>
    {
        var result = new float[outputs.Rows];
        for (int r = 0; r < outputs.Rows; r++)
        {
            var row = outputs.Row(r);
            float max = float.NegativeInfinity;
            foreach (float v in row) max = MathF.Max(max, v);
            double sum = 0;
            foreach (float v in row) sum += Math.Exp(v - max);
            result[r] = (float)(Math.Exp(row[labels[r]] - max) / sum);
        }
        return result;
    };

    /// <summary>The metric "argmax equals the label" per row, 1 or 0 (its mean is the accuracy).</summary>
    public static AttackMetric Accuracy { get; } = (outputs, labels) =>
    {
        var result = new float[outputs.Rows];
        for (int r = 0; r < outputs.Rows; r++)
        {
            var row = outputs.Row(r);
            int best = 0;
            for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
            result[r] = best == labels[r] ? 1f : 0f;
        }
        return result;
    };

    /// <summary>Adds an attack under a unique name; random attacks take several <paramref name="attempts"/>.</summary>
    public void AddAttack(string name, ComparedAttack attack, int attempts = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(attack);
        if (attempts < 1) throw new ArgumentOutOfRangeException(nameof(attempts), attempts, "At least one attempt is needed.");
        if (name == OriginalKey || _attacks.Any(a => a.Name == name))
            throw new ArgumentException($"An attack named '{name}' already exists (or the name is reserved for the original rows).", nameof(name));
        _attacks.Add((name, attack, attempts));
    }

    /// <summary>Names of the attacks added, in order.</summary>
    public IReadOnlyList<string> AttackNames => _attacks.Select(a => a.Name).ToList();

    /// <summary>The metric on <paramref name="inputs"/> and under every attack; updates the running summary.</summary>
    /// <param name="inputs">Rows <c>[N, …]</c>.</param>
    /// <param name="labels">Each row's label (for the metric and the attacks); default the model's prediction on the rows.</param>
    /// <param name="perturbationsPerEval">Batches (original and attacked) per model call.</param>
    public IReadOnlyDictionary<string, AttackStatistics> Evaluate(NdArray<float> inputs, Target? labels = null, int perturbationsPerEval = 1)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (perturbationsPerEval < 1) throw new ArgumentOutOfRangeException(nameof(perturbationsPerEval), perturbationsPerEval, "At least one batch per evaluation is needed.");
        _oracle.ValidateInput(inputs);
        int chunk = Batcher.ChunkRows(_oracle, null, inputs.RowSize);
        var targets = (labels ?? Target.Predicted).Resolve(_oracle, inputs, chunk);

        var metrics = new Dictionary<string, List<float[]>> { [OriginalKey] = [] };
        var pendingInputs = new List<NdArray<float>> { inputs };
        var pendingKeys = new List<string> { OriginalKey };
        void Flush(bool force)
        {
            if (pendingInputs.Count == 0 || (!force && pendingInputs.Count < perturbationsPerEval)) return;
            var outputs = ForwardMany(_oracle, pendingInputs, chunk);
            for (int i = 0; i < outputs.Count; i++)
                metrics[pendingKeys[i]].Add(_metric(outputs[i], targets) ?? throw new InvalidOperationException("The metric returned no values."));
            pendingInputs.Clear();
            pendingKeys.Clear();
        }
        Flush(false);
        foreach (var (name, attack, attempts) in _attacks)
        {
            metrics[name] = [];
            for (int a = 0; a < attempts; a++)
            {
                var attacked = attack(inputs, targets) ?? throw new InvalidOperationException($"Attack '{name}' returned no rows.");
                if (!attacked.Shape.SequenceEqual(inputs.Shape))
                    throw new InvalidOperationException($"Attack '{name}' returned shape {attacked.ShapeText}; expected the inputs' shape {inputs.ShapeText}.");
                pendingInputs.Add(attacked);
                pendingKeys.Add(name);
                Flush(false);
            }
        }
        Flush(true);

        var results = new Dictionary<string, AttackStatistics> { [OriginalKey] = new(Mean(metrics[OriginalKey]), null, null) };
        Update(OriginalKey, results[OriginalKey].Mean);
        foreach (var (name, _, attempts) in _attacks)
        {
            var values = metrics[name];
            var stats = attempts == 1 ? new AttackStatistics(Mean(values), null, null)
                : new AttackStatistics(Mean(values), Reduce(values, MathF.Min), Reduce(values, MathF.Max));
            results[name] = stats;
            if (attempts == 1)
            {
                Update(name, stats.Mean);
                continue;
            }
            Update($"{name} Mean Attempt", stats.Mean);
            Update($"{name} Min Attempt", stats.Min!);
            Update($"{name} Max Attempt", stats.Max!);
        }
        return results;
    }

    /// <summary>
    /// Per key (<see cref="OriginalKey"/>, each single-attempt attack's name, and "name Mean/Min/Max Attempt" for
    /// attacks with several attempts), the mean over every evaluated batch of the metric averaged over the batch.
    /// </summary>
    public IReadOnlyDictionary<string, float> Summary() => _summaryOrder.ToDictionary(k => k, k => (float)_summary[k].Mean);

    /// <summary>Forgets the running summary.</summary>
    public void Reset()
    {
        _summary.Clear();
        _summaryOrder.Clear();
    }

    private void Update(string key, float[] values)
    {
        double batchMean = values.Length == 0 ? 0 : values.Average(v => (double)v);
        if (!_summary.TryGetValue(key, out var running)) _summaryOrder.Add(key);
        int count = running.Count + 1;
        _summary[key] = (running.Mean + (batchMean - running.Mean) / count, count);
    }

    private static float[] Mean(List<float[]> values)
    {
        var result = new double[values[0].Length];
        foreach (var v in values)
        {
            if (v.Length != result.Length) throw new InvalidOperationException($"The metric returned {v.Length} values, then {result.Length}; it must return the same count for every batch.");
            for (int i = 0; i < v.Length; i++) result[i] += v[i];
        }
        return result.Select(s => (float)(s / values.Count)).ToArray();
    }

    private static float[] Reduce(List<float[]> values, Func<float, float, float> pick)
    {
        var result = (float[])values[0].Clone();
        foreach (var v in values.Skip(1))
            for (int i = 0; i < v.Length; i++) result[i] = pick(result[i], v[i]);
        return result;
    }

    /// <summary>The model's outputs for several batches of the same row shape, run together in chunks.</summary>
    internal static List<NdArray<float>> ForwardMany(IForwardOracle oracle, List<NdArray<float>> batches, int chunk)
    {
        if (batches.Count == 1) return [Batcher.ForwardRows(oracle, batches[0], chunk)];
        int rowSize = batches[0].RowSize;
        var all = new NdArray<float>([batches.Sum(b => b.Rows), .. batches[0].RowShape]);
        int offset = 0;
        foreach (var b in batches)
        {
            b.Data.CopyTo(all.Data, offset);
            offset += b.Length;
        }
        var outputs = Batcher.ForwardRows(oracle, all, chunk);
        var result = new List<NdArray<float>>(batches.Count);
        int row = 0;
        foreach (var b in batches)
        {
            result.Add(new NdArray<float>(outputs.Data.AsSpan(row * outputs.RowSize, b.Rows * outputs.RowSize).ToArray(), b.Rows, outputs.RowSize));
            row += b.Rows;
        }
        return result;
    }
}

using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Robust;

/// <summary>An attack with one numeric parameter (e.g. FGSM's epsilon): the perturbed rows for a parameter value.</summary>
public delegate NdArray<float> ParameterizedAttack(NdArray<float> inputs, double parameter);

/// <summary>Whether the model is still right on a batch: its outputs <c>[N, …]</c> and each row's label.</summary>
public delegate bool CorrectnessCheck(NdArray<float> outputs, int[] labels);

/// <summary>How <see cref="MinParamPerturbation"/> walks the parameter range.</summary>
public enum ParameterSearch
{
    /// <summary>Every value min, min + step, … below max, in order; the first that flips the prediction wins.</summary>
    Linear,

    /// <summary>Bisection on the grid of steps, assuming a larger parameter flips at least as often.</summary>
    Binary,
}

/// <summary>The smallest parameter found and the perturbed rows it gave, or nulls when no value flipped the prediction.</summary>
/// <param name="Perturbed">The attacked rows at <paramref name="Parameter"/>.</param>
/// <param name="Parameter">The smallest parameter that made the model wrong.</param>
public sealed record MinParamResult(NdArray<float>? Perturbed, double? Parameter)
{
    /// <summary>Whether some parameter in the range flipped the prediction.</summary>
    public bool Found => Parameter is not null;
}

/// <summary>
/// The smallest value of an attack's parameter (noise level, epsilon, …) for which the model stops being correct, by a
/// linear or binary search over [min, max) in steps, as Captum's <c>MinParamPerturbation</c>: each value is tried
/// <c>attempts</c> times (for random attacks), attacked batches go through the model
/// <c>perturbationsPerEval</c> at a time, and by default "correct" means every row's argmax equals its label.
/// </summary>
public sealed class MinParamPerturbation
{
    private readonly IForwardOracle _oracle;
    private readonly ParameterizedAttack _attack;
    private readonly CorrectnessCheck _correct;

    /// <summary>Creates the search.</summary>
    /// <param name="oracle">The model.</param>
    /// <param name="attack">The attack, given the rows and the parameter.</param>
    /// <param name="min">Smallest parameter tried.</param>
    /// <param name="max">The range's end (not tried).</param>
    /// <param name="step">Step between tried values; the range must hold more than one step.</param>
    /// <param name="mode">Linear or binary search.</param>
    /// <param name="attempts">Attacks per parameter value (more than one for random attacks).</param>
    /// <param name="correct">When the model counts as correct; default: every row's argmax equals its label.</param>
    public MinParamPerturbation(IForwardOracle oracle, ParameterizedAttack attack, double min, double max, double step,
        ParameterSearch mode = ParameterSearch.Linear, int attempts = 1, CorrectnessCheck? correct = null)
    {
        _oracle = oracle ?? throw new ArgumentNullException(nameof(oracle));
        _attack = attack ?? throw new ArgumentNullException(nameof(attack));
        if (!double.IsFinite(min) || !double.IsFinite(max) || !(step > 0) || !double.IsFinite(step))
            throw new ArgumentOutOfRangeException(nameof(step), $"The range [{min}, {max}) and step {step} must be finite with a positive step.");
        if (!(max > min + step))
            throw new ArgumentException($"The range [{min}, {max}) must be longer than one step ({step}).", nameof(max));
        if (attempts < 1) throw new ArgumentOutOfRangeException(nameof(attempts), attempts, "At least one attempt per value is needed.");
        if (mode is not (ParameterSearch.Linear or ParameterSearch.Binary)) throw new ArgumentOutOfRangeException(nameof(mode), mode, "The search must be linear or binary.");
        (Min, Max, Step, Mode, Attempts) = (min, max, step, mode, attempts);
        _correct = correct ?? AllPredictionsMatch;
    }

    /// <summary>Smallest parameter tried.</summary>
    public double Min { get; }

    /// <summary>End of the range (not tried).</summary>
    public double Max { get; }

    /// <summary>Step between tried values.</summary>
    public double Step { get; }

    /// <summary>Linear or binary search.</summary>
    public ParameterSearch Mode { get; }

    /// <summary>Attacks per parameter value.</summary>
    public int Attempts { get; }

    /// <summary>Searches the smallest parameter that makes the model wrong on <paramref name="inputs"/>.</summary>
    /// <param name="inputs">Rows attacked together <c>[N, …]</c>.</param>
    /// <param name="labels">Each row's correct output index; default the model's prediction on the rows.</param>
    /// <param name="perturbationsPerEval">Attacked batches per model call.</param>
    public MinParamResult Evaluate(NdArray<float> inputs, Target? labels = null, int perturbationsPerEval = 1)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (perturbationsPerEval < 1) throw new ArgumentOutOfRangeException(nameof(perturbationsPerEval), perturbationsPerEval, "At least one batch per evaluation is needed.");
        _oracle.ValidateInput(inputs);
        int chunk = Batcher.ChunkRows(_oracle, null, inputs.RowSize);
        var targets = (labels ?? Target.Predicted).Resolve(_oracle, inputs, chunk);
        return Mode == ParameterSearch.Linear ? Linear(inputs, targets, perturbationsPerEval, chunk) : Binary(inputs, targets, perturbationsPerEval, chunk);
    }

    private MinParamResult Linear(NdArray<float> inputs, int[] targets, int perEval, int chunk)
    {
        var pending = new List<(NdArray<float> Attacked, double Parameter)>();
        // Accumulated, not multiplied, as Captum's drange: the values tried are the same doubles.
        for (double value = Min; value < Max; value += Step)
        {
            for (int a = 0; a < Attempts; a++)
            {
                pending.Add((Attack(inputs, value), value));
                if (pending.Count == perEval && FirstWrong(pending, targets, chunk) is int hit) return new(pending[hit].Attacked, pending[hit].Parameter);
                if (pending.Count == perEval) pending.Clear();
            }
        }
        return pending.Count > 0 && FirstWrong(pending, targets, chunk) is int last ? new(pending[last].Attacked, pending[last].Parameter) : new(null, null);
    }

    private MinParamResult Binary(NdArray<float> inputs, int[] targets, int perEval, int chunk)
    {
        double low = Min, high = Max;
        double? best = null;
        NdArray<float>? bestInput = null;
        while (high > low)
        {
            // Python's float floor division, as Captum computes the midpoint (1.0 // 0.1 is 9, not 10).
            double midStep = FloorDivide(FloorDivide(high - low, Step), 2);
            if (midStep == 0 && low + Step < high) midStep = 1;
            double mid = low + midStep * Step;
            bool success = false;
            var pending = new List<(NdArray<float> Attacked, double Parameter)>();
            for (int a = 0; a < Attempts; a++)
            {
                pending.Add((Attack(inputs, mid), mid));
                if (pending.Count != perEval && a != Attempts - 1) continue;
                if (FirstWrong(pending, targets, chunk) is int hit)
                {
                    success = true;
                    high = mid;
                    if (best is null || best > mid) (best, bestInput) = (mid, pending[hit].Attacked);
                    break;
                }
                pending.Clear();
            }
            if (IsClose(low, mid)) break;
            if (!success) low = mid;
        }
        return new(bestInput, best);
    }

    private NdArray<float> Attack(NdArray<float> inputs, double parameter)
    {
        var attacked = _attack(inputs, parameter) ?? throw new InvalidOperationException($"The attack returned no rows for parameter {parameter}.");
        if (!attacked.Shape.SequenceEqual(inputs.Shape))
            throw new InvalidOperationException($"The attack returned shape {attacked.ShapeText} for parameter {parameter}; expected the inputs' shape {inputs.ShapeText}.");
        return attacked;
    }

    /// <summary>Runs the attacked batches through the model together; the index of the first the model gets wrong.</summary>
    private int? FirstWrong(List<(NdArray<float> Attacked, double Parameter)> batches, int[] targets, int chunk)
    {
        var outputs = AttackComparator.ForwardMany(_oracle, batches.Select(b => b.Attacked).ToList(), chunk);
        for (int i = 0; i < outputs.Count; i++)
            if (!_correct(outputs[i], targets)) return i;
        return null;
    }

    /// <summary>Captum's default: every row's argmax (first on ties) equals its label.</summary>
    public static bool AllPredictionsMatch(NdArray<float> outputs, int[] labels)
    {
        for (int r = 0; r < outputs.Rows; r++)
        {
            var row = outputs.Row(r);
            int best = 0;
            for (int j = 1; j < row.Length; j++) if (row[j] > row[best]) best = j;
            if (best != labels[r]) return false;
        }
        return true;
    }

    /// <summary>Python's <c>a // b</c> on floats (floor of the exact quotient, from fmod, as CPython computes it).</summary>
    internal static double FloorDivide(double a, double b)
    {
        double mod = a % b;
        double div = (a - mod) / b;
        if (mod != 0 && (b < 0) != (mod < 0)) div -= 1.0;
        if (div == 0) return 0.0;
        double floor = Math.Floor(div);
        return div - floor > 0.5 ? floor + 1.0 : floor;
    }

    private static bool IsClose(double a, double b) => a == b || Math.Abs(a - b) <= 1e-9 * Math.Max(Math.Abs(a), Math.Abs(b));
}

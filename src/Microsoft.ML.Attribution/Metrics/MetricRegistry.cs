using Microsoft.ML.Attribution.Robust;

namespace Microsoft.ML.Attribution.Metrics;

/// <summary>What a metric entry measures.</summary>
public enum MetricKind
{
    /// <summary>Scores attributions of a method per row (infidelity, sensitivity, deletion/insertion).</summary>
    Attribution,

    /// <summary>Perturbs rows to change the model's prediction (FGSM, PGD); its output is adversarial rows.</summary>
    Attack,
}

/// <summary>One metric or attack: its name (as the CLI and the report take it), kind, summary and options with defaults.</summary>
/// <param name="Name">Registry name, kebab-case.</param>
/// <param name="Kind">Attribution metric or attack.</param>
/// <param name="Summary">One line: what it measures and which way is better.</param>
/// <param name="Options">Its options with their defaults, as command-line flags.</param>
public sealed record MetricEntry(string Name, MetricKind Kind, string Summary, string Options);

/// <summary>
/// The metrics and attacks, the one table the CLI's <c>metric</c> and <c>attack</c> commands list, validate and document
/// from (as <c>MethodRegistry</c> is for attribution methods).
/// </summary>
public static class MetricRegistry
{
    /// <summary>Every entry, attribution metrics first.</summary>
    public static IReadOnlyList<MetricEntry> All { get; } =
    [
        new("infidelity", MetricKind.Attribution,
            "Infidelity (Yeh et al. 2019): mean squared gap between Iᵀ·attributions and f(x) − f(x − I) under noise I; lower is better",
            FormattableString.Invariant($"[--samples {Infidelity.DefaultSamples}] [--noise-stdev {Infidelity.DefaultNoiseStdev}] [--normalize false] [--seed N (default: random)]")),
        new("sensitivity-max", MetricKind.Attribution,
            "Max-sensitivity (Yeh et al. 2019): largest change of the explanation under input noise within a radius; lower is better",
            FormattableString.Invariant($"[--samples {SensitivityMax.DefaultSamples}] [--radius {SensitivityMax.DefaultRadius}] [--norm frobenius|l1|infinity (default: frobenius)] [--seed N (default: random)]")),
        new("deletion-insertion", MetricKind.Attribution,
            "Deletion and insertion curves (Petsiuk et al. 2018): output as top-attributed features are removed or inserted; deletion AUC lower, insertion AUC higher is better",
            "[--curve-steps N (default: one point per feature)]  (writes the deletion and insertion AUC per row)"),
        new("fgsm", MetricKind.Attack,
            "Fast Gradient Sign Method (Goodfellow et al. 2015): one signed-gradient step of the loss",
            "--epsilon E  (one signed-gradient step of size E)"),
        new("pgd", MetricKind.Attack,
            "Projected Gradient Descent (Madry et al. 2018): signed-gradient steps projected onto an L∞ or L2 ball",
            FormattableString.Invariant($"--radius R [--steps {DefaultPgdSteps}] [--step-size S (default: 2.5·R/steps)] [--norm linf|l2 (default: linf)] [--random-start false] [--seed N (default: random)]")),
    ];

    /// <summary>PGD steps when none are given (the CLI's default).</summary>
    public const int DefaultPgdSteps = 10;

    /// <summary>The entries of one kind, in order.</summary>
    public static IReadOnlyList<MetricEntry> OfKind(MetricKind kind) => All.Where(e => e.Kind == kind).ToArray();

    /// <summary>An entry by name, or null.</summary>
    public static MetricEntry? Find(string name) => All.FirstOrDefault(e => e.Name == name);

    /// <summary>The losses an attack entry can climb, by the names <see cref="AttackLoss.FromName"/> takes.</summary>
    public static IReadOnlyList<string> AttackLosses { get; } = [AttackLoss.NegativeLog.Name, AttackLoss.CrossEntropy.Name, AttackLoss.TargetOutput.Name];
}

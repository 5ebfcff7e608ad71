using System.Diagnostics;
using System.Text;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Metrics;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Reports;

/// <summary>
/// The report's "How faithful is this explanation?" section: per attribution method, the mean infidelity (standard
/// Gaussian noise, lower is better) and the mean deletion and insertion AUC (lower and higher are better) of its
/// attributions on the first explained rows. Off unless set on <see cref="AttributionReportOptions.Faithfulness"/>.
/// </summary>
public sealed record FaithfulnessOptions
{
    /// <summary>
    /// Registry names of the methods compared, each with its default options (the report's own method keeps the report's
    /// attributions and options); empty for the report's own method alone. Tree reports (TreeSHAP) have no section.
    /// </summary>
    public IReadOnlyList<string> Methods { get; init; } = [];

    /// <summary>Explained rows scored (the first ones of the report); the metrics cost many model calls per row.</summary>
    public int MaxRows { get; init; } = 64;

    /// <summary>Infidelity perturbations per row.</summary>
    public int Samples { get; init; } = Infidelity.DefaultSamples;

    /// <summary>σ of the infidelity noise.</summary>
    public double NoiseStdev { get; init; } = Infidelity.DefaultNoiseStdev;

    /// <summary>Points of each deletion/insertion curve after its start (features removed per point grow accordingly).</summary>
    public int CurveSteps { get; init; } = 20;
}

/// <summary>One method's faithfulness on the scored rows.</summary>
internal sealed record FaithfulnessRow(string Method, double Infidelity, double DeletionAuc, double InsertionAuc, double Seconds);

internal static class FaithfulnessSection
{
    /// <summary>Scores each method's attributions of the report's rows and targets; null when the section is off.</summary>
    public static IReadOnlyList<FaithfulnessRow>? Compute(IForwardOracle oracle, NdArray<float> rows, int[] targets, NdArray<float> baseline,
        NdArray<float>? background, string reportMethod, NdArray<float> reportAttributions, AttributionReportOptions o)
    {
        if (o.Faithfulness is not { } f) return null;
        if (f.MaxRows < 1) throw new ArgumentOutOfRangeException(nameof(o), f.MaxRows, "Faithfulness.MaxRows must be at least 1.");
        if (f.Samples < 1) throw new ArgumentOutOfRangeException(nameof(o), f.Samples, "Faithfulness.Samples must be at least 1.");
        if (f.CurveSteps < 1) throw new ArgumentOutOfRangeException(nameof(o), f.CurveSteps, "Faithfulness.CurveSteps must be at least 1.");
        var methods = f.Methods.Count == 0 ? [reportMethod] : f.Methods;
        foreach (var name in methods)
        {
            var method = MethodRegistry.Get(name);
            if (!AttributionReportOptions.Accepts(method))
                throw new NotSupportedException($"Faithfulness method '{name}' does not attribute the model's input features.");
            if (method.Has(MethodCapabilities.Gradients) && oracle is not IGradientOracle)
                throw new NotSupportedException($"Faithfulness method '{name}' needs a model that gives gradients; {oracle.GetType().Name} does not.");
        }
        int n = Math.Min(f.MaxRows, rows.Rows);
        var x = n == rows.Rows ? rows : new NdArray<float>(rows.Data[..(n * rows.RowSize)], [n, .. rows.RowShape]);
        var target = Target.PerRow(targets[..n]);
        var result = new List<FaithfulnessRow>();
        foreach (var name in methods)
        {
            var clock = Stopwatch.StartNew();
            var method = MethodRegistry.Get(name);
            NdArray<float> attributions;
            if (name == reportMethod)
                attributions = new NdArray<float>(reportAttributions.Data[..(n * rows.RowSize)], x.Shape);
            else
            {
                var baselines = method.Has(MethodCapabilities.RequiresBaselines) ? background ?? baseline : baseline;
                attributions = method.Attribute(new MethodInputs { Model = oracle, Rows = x, Baselines = baselines, Target = target }).Attributions;
            }
            var infidelity = new Infidelity(oracle).Compute(x, attributions, target, f.Samples, f.NoiseStdev, seed: o.Seed + 7);
            var curves = new DeletionInsertion(oracle).Compute(x, attributions, baseline, target, steps: Math.Min(f.CurveSteps, x.RowSize));
            result.Add(new(ReportRunner.DisplayName(method), infidelity.Average(v => (double)v), curves.DeletionAuc.Average(v => (double)v),
                curves.InsertionAuc.Average(v => (double)v), clock.Elapsed.TotalSeconds));
        }
        return result;
    }

    public static void Render(StringBuilder h, ReportData d)
    {
        if (d.Faithfulness is not { Count: > 0 } rows) return;
        h.Append("<section id=\"faithfulness\"><h2>How faithful is this explanation?</h2><p class=\"note\">")
         .Append(ReportHtml.Esc($"On the first {d.FaithfulnessRows} explained rows: infidelity (mean squared gap between the attributions' "
            + "prediction of an output change and the change itself under small Gaussian noise; lower is better), and the area under the "
            + "deletion curve (the explained output as the most-attributed features are replaced by the baseline; lower is better) and "
            + "the insertion curve (features put back into the baseline; higher is better)."))
         .Append("</p><table id=\"faithfulness-table\"><tr><th>Method</th><th class=\"num\">Infidelity</th><th class=\"num\">Deletion AUC</th>")
         .Append("<th class=\"num\">Insertion AUC</th><th class=\"num\">Seconds</th></tr>");
        double bestInfidelity = rows.Min(r => r.Infidelity), bestDeletion = rows.Min(r => r.DeletionAuc), bestInsertion = rows.Max(r => r.InsertionAuc);
        foreach (var r in rows)
        {
            h.Append("<tr><td>").Append(ReportHtml.Esc(r.Method)).Append("</td>");
            Cell(h, r.Infidelity, rows.Count > 1 && r.Infidelity == bestInfidelity, "G4");
            Cell(h, r.DeletionAuc, rows.Count > 1 && r.DeletionAuc == bestDeletion, "G4");
            Cell(h, r.InsertionAuc, rows.Count > 1 && r.InsertionAuc == bestInsertion, "G4");
            h.Append("<td class=\"num\">").Append(ReportHtml.Num(r.Seconds, "0.000")).Append("</td></tr>");
        }
        h.Append("</table></section>\n");
    }

    private static void Cell(StringBuilder h, double value, bool best, string format) =>
        h.Append("<td class=\"num\">").Append(best ? "<strong>" : "").Append(ReportHtml.Num(value, format)).Append(best ? "</strong>" : "").Append("</td>");
}

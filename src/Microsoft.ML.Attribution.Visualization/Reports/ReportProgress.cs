namespace Microsoft.ML.Attribution.Reports;

/// <summary>How far a report has got, as reported through <see cref="AttributionReportOptions.Progress"/>.</summary>
/// <param name="Phase">The phase: "featurize", "explain" or "render".</param>
/// <param name="Completed">Units done in the phase (rows for "explain", else 0 or 1).</param>
/// <param name="Total">Units in the phase.</param>
public sealed record ReportProgress(string Phase, int Completed, int Total)
{
    /// <summary>The fraction done in this phase, in [0, 1].</summary>
    public double Fraction => Total <= 0 ? 1 : Math.Clamp((double)Completed / Total, 0, 1);
}

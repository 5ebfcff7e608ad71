namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// A surrogate model Lime fits on (interpretable samples, model outputs, similarity weights); its coefficients are the
/// attributions.
/// </summary>
public interface IInterpretableModel
{
    /// <summary>Fits y ≈ X·β + b with sample weights; returns β (one coefficient per column of X).</summary>
    /// <param name="x">Samples × features, row-major.</param>
    /// <param name="samples">Number of samples (rows of <paramref name="x"/>).</param>
    /// <param name="features">Number of features (columns).</param>
    /// <param name="y">Target per sample.</param>
    /// <param name="weights">Non-negative weight per sample.</param>
    double[] Fit(double[] x, int samples, int features, double[] y, double[] weights);
}

/// <summary>Weighted least squares with an intercept (the surrogate of KernelShap; Captum's SkLearnLinearRegression).</summary>
public sealed class WeightedLinearRegression : IInterpretableModel
{
    /// <inheritdoc />
    public double[] Fit(double[] x, int samples, int features, double[] y, double[] weights)
    {
        // Normal equations on [X, 1]; a tiny ridge on the diagonal only guards rank deficiency (e.g. a feature never
        // switched off) and is far below the data's scale.
        int p = features + 1;
        var a = new double[p * p];
        var rhs = new double[p];
        var row = new double[p];
        for (int s = 0; s < samples; s++)
        {
            for (int j = 0; j < features; j++) row[j] = x[s * features + j];
            row[features] = 1;
            double w = weights[s];
            for (int i = 0; i < p; i++)
            {
                double wi = w * row[i];
                rhs[i] += wi * y[s];
                for (int j = 0; j < p; j++) a[i * p + j] += wi * row[j];
            }
        }
        double scale = 0;
        for (int i = 0; i < p; i++) scale = Math.Max(scale, Math.Abs(a[i * p + i]));
        for (int i = 0; i < p; i++) a[i * p + i] += 1e-12 * Math.Max(scale, 1);
        var beta = LinearSystems.SolveSymmetric(a, rhs, p);
        return beta[..features];
    }
}

/// <summary>
/// Lasso with an intercept (Lime's default surrogate; Captum's SkLearnLasso, alpha 0.01), by cyclic coordinate descent
/// on ½·Σwᵢ(yᵢ − xᵢβ − b)² / Σwᵢ + α‖β‖₁ — the objective scikit-learn minimises with sample weights.
/// </summary>
public sealed class LassoRegression : IInterpretableModel
{
    /// <summary>Creates the model with L1 strength <paramref name="alpha"/>.</summary>
    public LassoRegression(double alpha = 0.01)
    {
        if (alpha < 0) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must be non-negative.");
        Alpha = alpha;
    }

    /// <summary>The L1 strength.</summary>
    public double Alpha { get; }

    /// <inheritdoc />
    public double[] Fit(double[] x, int samples, int features, double[] y, double[] weights)
    {
        double total = weights.Sum();
        if (total <= 0) throw new ArgumentException("Lasso needs a positive total sample weight.");
        // Weighted centring removes the intercept from the problem.
        var mean = new double[features];
        double yMean = 0;
        for (int s = 0; s < samples; s++)
        {
            double w = weights[s] / total;
            yMean += w * y[s];
            for (int j = 0; j < features; j++) mean[j] += w * x[s * features + j];
        }
        var xc = new double[samples * features];
        var residual = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            residual[s] = y[s] - yMean;
            for (int j = 0; j < features; j++) xc[s * features + j] = x[s * features + j] - mean[j];
        }
        var norm = new double[features];
        for (int j = 0; j < features; j++)
        {
            for (int s = 0; s < samples; s++) norm[j] += weights[s] * xc[s * features + j] * xc[s * features + j] / total;
        }
        var beta = new double[features];
        for (int iteration = 0; iteration < 100_000; iteration++)
        {
            double largestStep = 0;
            for (int j = 0; j < features; j++)
            {
                if (norm[j] == 0) continue;
                double rho = 0;
                for (int s = 0; s < samples; s++) rho += weights[s] * xc[s * features + j] * (residual[s] + xc[s * features + j] * beta[j]);
                rho /= total;
                double updated = Math.Sign(rho) * Math.Max(Math.Abs(rho) - Alpha, 0) / norm[j];
                double step = updated - beta[j];
                if (step == 0) continue;
                for (int s = 0; s < samples; s++) residual[s] -= step * xc[s * features + j];
                beta[j] = updated;
                largestStep = Math.Max(largestStep, Math.Abs(step));
            }
            if (largestStep < 1e-12) break;
        }
        return beta;
    }
}

/// <summary>Dense solves for the small systems of the surrogate fits.</summary>
internal static class LinearSystems
{
    /// <summary>Solves A·x = b for a symmetric positive (semi-)definite A by Gaussian elimination with partial pivoting.</summary>
    public static double[] SolveSymmetric(double[] a, double[] b, int n)
    {
        var m = (double[])a.Clone();
        var x = (double[])b.Clone();
        for (int col = 0; col < n; col++)
        {
            int pivot = col;
            for (int r = col + 1; r < n; r++) if (Math.Abs(m[r * n + col]) > Math.Abs(m[pivot * n + col])) pivot = r;
            if (m[pivot * n + col] == 0) continue; // a free direction: leave its coefficient at 0
            if (pivot != col)
            {
                for (int c = 0; c < n; c++) (m[col * n + c], m[pivot * n + c]) = (m[pivot * n + c], m[col * n + c]);
                (x[col], x[pivot]) = (x[pivot], x[col]);
            }
            for (int r = col + 1; r < n; r++)
            {
                double factor = m[r * n + col] / m[col * n + col];
                if (factor == 0) continue;
                for (int c = col; c < n; c++) m[r * n + c] -= factor * m[col * n + c];
                x[r] -= factor * x[col];
            }
        }
        var result = new double[n];
        for (int r = n - 1; r >= 0; r--)
        {
            double sum = x[r];
            for (int c = r + 1; c < n; c++) sum -= m[r * n + c] * result[c];
            result[r] = m[r * n + r] == 0 ? 0 : sum / m[r * n + r];
        }
        return result;
    }
}

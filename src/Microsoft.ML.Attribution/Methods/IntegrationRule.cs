namespace Microsoft.ML.Attribution.Methods;

/// <summary>How the path integral of Integrated Gradients is approximated (Captum's <c>method</c> argument).</summary>
public enum IntegrationMethod
{
    /// <summary>Gauss–Legendre quadrature on [0, 1] (Captum's default).</summary>
    GaussLegendre,

    /// <summary>Left Riemann sum: α = 0, 1/n, …, (n−1)/n.</summary>
    RiemannLeft,

    /// <summary>Right Riemann sum: α = 1/n, …, 1.</summary>
    RiemannRight,

    /// <summary>Midpoint Riemann sum: α = 1/(2n), …, 1 − 1/(2n).</summary>
    RiemannMiddle,

    /// <summary>Trapezoid rule on α = 0, 1/(n−1), …, 1 with Captum's weights (they sum to (n−1)/n).</summary>
    RiemannTrapezoid,
}

/// <summary>Points (α) and weights of each integration method, matching Captum's approximation_methods.</summary>
public static class IntegrationRule
{
    /// <summary>The α values in [0, 1] and their weights for <paramref name="steps"/> points.</summary>
    public static (double[] Alphas, double[] Weights) Points(IntegrationMethod method, int steps)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "The number of steps must be at least 1.");
        int n = steps;
        switch (method)
        {
            case IntegrationMethod.GaussLegendre:
                {
                    var (nodes, weights) = GaussLegendreNodes(n);
                    return (nodes.Select(x => 0.5 * (1 + x)).ToArray(), weights.Select(w => 0.5 * w).ToArray());
                }
            case IntegrationMethod.RiemannLeft:
                return (Linspace(0, 1 - 1.0 / n, n), Uniform(n));
            case IntegrationMethod.RiemannRight:
                return (Linspace(1.0 / n, 1, n), Uniform(n));
            case IntegrationMethod.RiemannMiddle:
                return (Linspace(1.0 / (2 * n), 1 - 1.0 / (2 * n), n), Uniform(n));
            case IntegrationMethod.RiemannTrapezoid:
                {
                    if (n < 2) throw new ArgumentOutOfRangeException(nameof(steps), steps, "riemann_trapezoid needs at least 2 steps.");
                    // Captum's trapezoid: interior weights 1/n, end weights 1/(2n); they sum to (n−1)/n.
                    var weights = Uniform(n);
                    weights[0] = weights[^1] = 1.0 / (2 * n);
                    return (Linspace(0, 1, n), weights);
                }
            default:
                throw new ArgumentOutOfRangeException(nameof(method), method, "Unknown integration method.");
        }
    }

    /// <summary>Parses Captum's and the CLI's names (<c>gausslegendre</c>, <c>riemann_left</c>, <c>riemann-left</c>, …).</summary>
    public static IntegrationMethod Parse(string name)
    {
        return name.Trim().ToLowerInvariant().Replace('_', '-') switch
        {
            "gausslegendre" or "gauss-legendre" => IntegrationMethod.GaussLegendre,
            "riemann-left" => IntegrationMethod.RiemannLeft,
            "riemann-right" => IntegrationMethod.RiemannRight,
            "riemann-middle" => IntegrationMethod.RiemannMiddle,
            "riemann-trapezoid" => IntegrationMethod.RiemannTrapezoid,
            _ => throw new ArgumentException($"Integration method '{name}' is not one of gausslegendre, riemann-left, riemann-right, riemann-middle, riemann-trapezoid."),
        };
    }

    private static double[] Uniform(int n) => Enumerable.Repeat(1.0 / n, n).ToArray();

    private static double[] Linspace(double from, double to, int n) =>
        n == 1 ? [from] : Enumerable.Range(0, n).Select(i => from + (to - from) * i / (n - 1)).ToArray();

    /// <summary>Nodes (ascending, in [−1, 1]) and weights of n-point Gauss–Legendre quadrature, by Newton's method on Pₙ.</summary>
    internal static (double[] Nodes, double[] Weights) GaussLegendreNodes(int n)
    {
        var nodes = new double[n];
        var weights = new double[n];
        for (int i = 0; i < (n + 1) / 2; i++)
        {
            double x = Math.Cos(Math.PI * (i + 0.75) / (n + 0.5)); // Tricomi's initial guess for the i-th largest root
            double derivative = 0;
            for (int iteration = 0; iteration < 100; iteration++)
            {
                (double p, derivative) = Legendre(n, x);
                double dx = p / derivative;
                x -= dx;
                if (Math.Abs(dx) < 1e-16) break;
            }
            (_, derivative) = Legendre(n, x);
            double w = 2 / ((1 - x * x) * derivative * derivative);
            nodes[i] = -x;
            nodes[n - 1 - i] = x;
            weights[i] = weights[n - 1 - i] = w;
        }
        if (n % 2 == 1) nodes[n / 2] = 0;
        return (nodes, weights);
    }

    private static (double Value, double Derivative) Legendre(int n, double x)
    {
        double p0 = 1, p1 = x;
        if (n == 0) return (1, 0);
        for (int k = 2; k <= n; k++)
        {
            double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
            p0 = p1;
            p1 = p2;
        }
        return (p1, n * (x * p1 - p0) / (x * x - 1));
    }
}

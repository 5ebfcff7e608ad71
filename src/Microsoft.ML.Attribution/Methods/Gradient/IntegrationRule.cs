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

    /// <summary>
    /// Nodes (ascending, in [−1, 1]) and weights of n-point Gauss–Legendre quadrature in O(n): Newton's method on
    /// Pₙ(cos θ), evaluated by the three-term recurrence for small n and for the few nodes nearest ±1, and by Stieltjes'
    /// asymptotic expansion (Hale and Townsend 2013, "Fast and accurate computation of Gauss–Legendre and Gauss–Jacobi
    /// quadrature nodes and weights") in O(1) per node everywhere else.
    /// </summary>
    internal static (double[] Nodes, double[] Weights) GaussLegendreNodes(int n)
    {
        if (n <= RecurrenceOnlyBelow) return GaussLegendreByRecurrence(n);
        var nodes = new double[n];
        var weights = new double[n];
        var stieltjes = new StieltjesExpansion(n);
        for (int i = 0; i < (n + 1) / 2; i++)
        {
            double x, w;
            // The expansion's terms shrink roughly like m / (2πk) at the k-th node from an end, so the first nodes
            // need the recurrence (a fixed count: O(n) in all); from the 20th on 30 terms reach double precision.
            if (i < EdgeNodesByRecurrence) (x, w) = NodeByRecurrence(n, i);
            else (x, w) = stieltjes.Node(i);
            nodes[i] = -x;
            nodes[n - 1 - i] = x;
            weights[i] = weights[n - 1 - i] = w;
        }
        if (n % 2 == 1) nodes[n / 2] = 0;
        return (nodes, weights);
    }

    /// <summary>Below this many points every node comes from the recurrence (identical to the O(n²) rule of old).</summary>
    internal const int RecurrenceOnlyBelow = 100;

    private const int EdgeNodesByRecurrence = 20;

    /// <summary>The O(n²) reference: Newton's method with Pₙ from the three-term recurrence at every node.</summary>
    internal static (double[] Nodes, double[] Weights) GaussLegendreByRecurrence(int n)
    {
        var nodes = new double[n];
        var weights = new double[n];
        for (int i = 0; i < (n + 1) / 2; i++)
        {
            var (x, w) = NodeByRecurrence(n, i);
            nodes[i] = -x;
            nodes[n - 1 - i] = x;
            weights[i] = weights[n - 1 - i] = w;
        }
        if (n % 2 == 1) nodes[n / 2] = 0;
        return (nodes, weights);
    }

    /// <summary>The i-th largest root of Pₙ and its weight, by Newton's method with the recurrence (O(n) per step).</summary>
    private static (double Node, double Weight) NodeByRecurrence(int n, int i)
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
        return (x, 2 / ((1 - x * x) * derivative * derivative));
    }

    /// <summary>
    /// Pₙ(cos θ) ≈ Cₙ Σₘ hₙ,ₘ cos((n+m+½)θ − (m+½)π/2) / (2 sin θ)^(m+½), with Cₙ = (4/π) Πⱼ j/(j+½) and
    /// hₙ,ₘ = Πⱼ≤ₘ (j−½)² / (j(n+j+½)); the remainder is below twice the first omitted term (Szegő, Theorem 8.21.5).
    /// </summary>
    private sealed class StieltjesExpansion
    {
        private const int MaxTerms = 30;
        private readonly int _n;
        private readonly double _c;
        private readonly double[] _h = new double[MaxTerms];

        public StieltjesExpansion(int n)
        {
            _n = n;
            // Cₙ in logarithms: a product of n factors near 1 would round n times; the log sum rounds like √n.
            double logC = Math.Log(4 / Math.PI);
            for (int j = 1; j <= n; j++) logC -= Math.Log(1 + 0.5 / j);
            _c = Math.Exp(logC);
            _h[0] = 1;
            for (int m = 1; m < MaxTerms; m++) _h[m] = _h[m - 1] * (m - 0.5) * (m - 0.5) / (m * (n + m + 0.5));
        }

        /// <summary>The i-th largest root (i counted from +1, at least <see cref="EdgeNodesByRecurrence"/>) and its weight.</summary>
        public (double Node, double Weight) Node(int i)
        {
            // Tricomi's guess in θ; Newton in θ keeps full relative precision for nodes near ±1.
            double theta = Math.PI * (i + 0.75) / (_n + 0.5);
            double derivative = 0;
            for (int iteration = 0; iteration < 10; iteration++)
            {
                (double p, derivative) = Evaluate(theta);
                double step = p / derivative;
                theta -= step;
                if (Math.Abs(step) < 1e-16 * theta) break;
            }
            (_, derivative) = Evaluate(theta);
            // dPₙ/dθ = −sin θ Pₙ'(x), so the weight 2 / ((1 − x²) Pₙ'(x)²) is 2 / (dPₙ/dθ)².
            return (Math.Cos(theta), 2 / (derivative * derivative));
        }

        /// <summary>Pₙ(cos θ) and dPₙ(cos θ)/dθ.</summary>
        private (double Value, double Derivative) Evaluate(double theta)
        {
            double sin = Math.Sin(theta), cos = Math.Cos(theta);
            double twoSin = 2 * sin;
            double scale = 1 / Math.Sqrt(twoSin); // (2 sin θ)^−(m+½), starting at m = 0
            double value = 0, derivative = 0;
            for (int m = 0; m < MaxTerms; m++)
            {
                double phase = (_n + m + 0.5) * theta - (m + 0.5) * Math.PI / 2;
                double c = Math.Cos(phase), s = Math.Sin(phase);
                double term = _h[m] * scale;
                value += term * c;
                derivative -= term * ((_n + m + 0.5) * s + (m + 0.5) * c * 2 * cos / twoSin);
                if (Math.Abs(term) < 1e-18 * Math.Abs(_h[0] / Math.Sqrt(twoSin))) break;
                scale /= twoSin;
            }
            return (_c * value, _c * derivative);
        }
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

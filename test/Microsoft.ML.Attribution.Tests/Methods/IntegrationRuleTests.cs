using Microsoft.ML.Attribution.Methods;

namespace Microsoft.ML.Attribution.Tests.Methods;

/// <summary>Gauss–Legendre points: exactness at 32,000 points and agreement with the recurrence-only rule.</summary>
[TestClass]
public sealed class IntegrationRuleTests
{
    /// <summary>∫₀¹ α^k dα = 1/(k+1); an n-point rule is exact up to degree 2n − 1.</summary>
    private static void AssertIntegratesPolynomials(double[] alphas, double[] weights, int maxDegree, double tolerance)
    {
        for (int k = 0; k <= maxDegree; k++)
        {
            double sum = 0, compensation = 0;
            for (int i = 0; i < alphas.Length; i++)
            {
                // Kahan summation: 32,000 terms would otherwise add their own rounding to the rule's error.
                double y = weights[i] * Math.Pow(alphas[i], k) - compensation;
                double t = sum + y;
                compensation = (t - sum) - y;
                sum = t;
            }
            Assert.AreEqual(1.0 / (k + 1), sum, tolerance, $"∫ α^{k} with {alphas.Length} points");
        }
    }

    [TestMethod]
    public void GaussLegendre_32000Steps_WeightsSumToOne_AndIntegratePolynomialsExactly()
    {
        var (alphas, weights) = IntegrationRule.Points(IntegrationMethod.GaussLegendre, 32_000);
        Assert.AreEqual(32_000, alphas.Length);
        for (int i = 1; i < alphas.Length; i++) Assert.IsTrue(alphas[i] > alphas[i - 1], $"alphas ascend at {i}");
        Assert.IsTrue(alphas[0] > 0 && alphas[^1] < 1);
        // Degrees far below 2n − 1, up to a high one whose mass sits on the nodes nearest 1 (the recurrence-built ones).
        AssertIntegratesPolynomials(alphas, weights, 40, 1e-13);
        foreach (int k in new[] { 101, 1_000, 10_000, 63_999 })
        {
            double sum = 0;
            for (int i = 0; i < alphas.Length; i++) sum += weights[i] * Math.Pow(alphas[i], k);
            Assert.AreEqual(1.0 / (k + 1), sum, 1e-12 / (k + 1) + 1e-15, $"∫ α^{k}");
        }
    }

    [TestMethod]
    public void GaussLegendre_SmallStepCounts_EqualTheRecurrenceRuleTo1e12()
    {
        foreach (int n in new[] { 1, 2, 3, 7, 50, 99, 100, 101, 128, 257, 1_000, 2_001 })
        {
            var (nodes, weights) = IntegrationRule.GaussLegendreNodes(n);
            var (referenceNodes, referenceWeights) = IntegrationRule.GaussLegendreByRecurrence(n);
            for (int i = 0; i < n; i++)
            {
                Assert.AreEqual(referenceNodes[i], nodes[i], 1e-12, $"node {i} of {n}");
                Assert.AreEqual(referenceWeights[i], weights[i], 1e-12 * referenceWeights[i] + 1e-16, $"weight {i} of {n}");
            }
        }
    }
}

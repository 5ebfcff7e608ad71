using System.Text.Json;
using Microsoft.ML.Attribution.Robust;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Robust;

/// <summary>
/// Captum parity of <see cref="Fgsm"/> and <see cref="Pgd"/> adversarial inputs on the MNIST-style CNN and the wine MLP
/// (Fixtures/robust, written by build/fixtures/generate_robust.py; PGD's random start replayed from Captum's draws).
/// </summary>
[TestClass]
public sealed class AttackParityTests
{
    private const double Tolerance = 1e-5;

    public static IEnumerable<object[]> FgsmCases => Fixtures.NamesOf("fgsm");
    public static IEnumerable<object[]> PgdCases => Fixtures.NamesOf("pgd");

    [TestMethod]
    [DynamicData(nameof(FgsmCases))]
    public void Fgsm_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var fgsm = new Fgsm(c.Oracle(), AttackLoss.FromName(c.String("loss")!), Lower(c), Upper(c));
        var adversarial = fgsm.Perturb(c.Input, (float)c.Double("epsilon", 0), c.Target, c.Bool("targeted", false), c.FloatArray("mask"));
        AssertArrays.Close(c.Expected, adversarial, Tolerance, name);
        Assert.IsTrue(Changed(c.Input, adversarial) > 0, $"{name}: the attack moved nothing, so the case pins nothing");
    }

    [TestMethod]
    [DynamicData(nameof(PgdCases))]
    public void Pgd_MatchesCaptum(string name)
    {
        var c = Fixtures.Case(name);
        var pgd = new Pgd(c.Oracle(), AttackLoss.FromName(c.String("loss")!), Lower(c), Upper(c));
        var norm = c.String("norm") == "L2" ? PerturbationNorm.L2 : PerturbationNorm.LInfinity;
        var adversarial = pgd.Perturb(c.Input, (float)c.Double("radius", 0), (float)c.Double("step_size", 0), c.Int("steps", 0),
            c.Target, c.Bool("targeted", false), norm, startOffsets: c.FloatArray("start"), internalBatchSize: 3);
        AssertArrays.Close(c.Expected, adversarial, Tolerance, name);
        Assert.IsTrue(Changed(c.Input, adversarial) > 0, $"{name}: the attack moved nothing, so the case pins nothing");
    }

    [TestMethod]
    public void Pgd_StaysInTheBallAndTheRange_WithASeededRandomStart()
    {
        var c = Fixtures.Case("rb_mnist_cnn_pgd_l2");
        var pgd = new Pgd(c.Oracle(), AttackLoss.CrossEntropy, 0f, 1f);
        foreach (var norm in new[] { PerturbationNorm.L2, PerturbationNorm.LInfinity })
        {
            var a = pgd.Perturb(c.Input, 0.5f, 0.2f, 3, norm: norm, randomStart: true, seed: 11);
            var b = pgd.Perturb(c.Input, 0.5f, 0.2f, 3, norm: norm, randomStart: true, seed: 11);
            CollectionAssert.AreEqual(a.Data, b.Data, $"{norm}: the same seed gave different starts");
            for (int r = 0; r < a.Rows; r++)
            {
                double squares = 0, largest = 0;
                for (int j = 0; j < a.RowSize; j++)
                {
                    double d = a.Row(r)[j] - c.Input.Row(r)[j];
                    squares += d * d;
                    largest = Math.Max(largest, Math.Abs(d));
                    Assert.IsTrue(a.Row(r)[j] is >= 0f and <= 1f, $"{norm}: row {r} element {j} left [0, 1]");
                }
                double size = norm == PerturbationNorm.L2 ? Math.Sqrt(squares) : largest;
                Assert.IsTrue(size <= 0.5 + 1e-5, $"{norm}: row {r} moved {size}, beyond the radius 0.5");
            }
        }
    }

    [TestMethod]
    public void Fgsm_TargetedAndUntargeted_StepOppositeWays_AndAZeroMaskMovesNothing()
    {
        var c = Fixtures.Case("rb_wine_mlp_fgsm_cross_entropy");
        var fgsm = new Fgsm(c.Oracle(), AttackLoss.CrossEntropy);
        var away = fgsm.Perturb(c.Input, 0.1f, c.Target);
        var towards = fgsm.Perturb(c.Input, 0.1f, c.Target, targeted: true);
        for (int i = 0; i < c.Input.Length; i++)
            Assert.AreEqual(c.Input.Data[i] - away.Data[i], towards.Data[i] - c.Input.Data[i], 1e-6, $"element {i}");
        var still = fgsm.Perturb(c.Input, 0.1f, c.Target, mask: new NdArray<float>(c.Input.RowShape));
        CollectionAssert.AreEqual(c.Input.Data, still.Data);
    }

    [TestMethod]
    public void Attacks_RejectBadArguments_NamingThem()
    {
        var c = Fixtures.Case("rb_wine_mlp_fgsm");
        var oracle = c.Oracle();
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new Fgsm(oracle, lowerBound: 1, upperBound: 0)).Message, "lower bound");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new Fgsm(oracle).Perturb(c.Input, float.NaN)).Message, "epsilon");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new Fgsm(oracle).Perturb(c.Input, 0.1f, mask: new NdArray<float>(5))).Message, "mask");
        var pgd = new Pgd(oracle);
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pgd.Perturb(c.Input, -1, 0.1f, 2)).Message, "radius");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => pgd.Perturb(c.Input, 1, 0.1f, -2)).Message, "steps");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => pgd.Perturb(c.Input, 1, 0.1f, 2, startOffsets: new NdArray<float>(2, 13))).Message, "start offsets");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => AttackLoss.FromName("hinge")).Message, "hinge");
    }

    private static float Lower(FixtureCase c) => c.Params.TryGetProperty("lower", out var v) && v.ValueKind == JsonValueKind.Number ? v.GetSingle() : float.NegativeInfinity;

    private static float Upper(FixtureCase c) => c.Params.TryGetProperty("upper", out var v) && v.ValueKind == JsonValueKind.Number ? v.GetSingle() : float.PositiveInfinity;

    private static int Changed(NdArray<float> before, NdArray<float> after) => before.Data.Zip(after.Data).Count(p => p.First != p.Second);
}

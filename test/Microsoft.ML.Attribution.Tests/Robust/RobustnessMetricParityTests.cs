using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Robust;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Robust;

/// <summary>
/// Captum parity of <see cref="MinParamPerturbation"/> (linear and binary search over FGSM's epsilon) and
/// <see cref="AttackComparator"/> (FGSM, PGD and a replayed random noise attack) on the MNIST-style CNN and the wine MLP
/// (Fixtures/robust, written by build/fixtures/generate_robust.py).
/// </summary>
[TestClass]
public sealed class RobustnessMetricParityTests
{
    public static IEnumerable<object[]> SearchCases => Fixtures.NamesOf("min-param-perturbation");
    public static IEnumerable<object[]> ComparatorCases => Fixtures.NamesOf("attack-comparator");

    [TestMethod]
    [DynamicData(nameof(SearchCases))]
    public void MinParamPerturbation_FindsCaptumsParameterAndInput(string name)
    {
        var c = Fixtures.Case(name);
        var oracle = c.Oracle();
        var fgsm = new Fgsm(oracle, AttackLoss.FromName(c.String("loss")!));
        var labels = c.Target;
        int calls = 0;
        var search = new MinParamPerturbation(oracle, (x, eps) => { calls++; return fgsm.Perturb(x, (float)eps, labels); },
            c.Double("min", 0), c.Double("max", 1), c.Double("step", 0.1),
            c.String("mode") == "binary" ? ParameterSearch.Binary : ParameterSearch.Linear);
        var result = search.Evaluate(c.Input, labels, c.Int("per_eval", 1));
        Assert.IsTrue(result.Found, $"{name}: nothing found");
        Assert.AreEqual(c.Double("found", double.NaN), result.Parameter!.Value, 1e-12, name);
        AssertArrays.Close(c.Expected, result.Perturbed!, 1e-5, name);
        Assert.IsTrue(calls > 1, $"{name}: the search stopped at its first value, so it pins no search order");
    }

    [TestMethod]
    public void MinParamPerturbation_ReportsNothing_WhenNoValueFlips_AndRejectsAShortRange()
    {
        var c = Fixtures.Case("rb_wine_mlp_min_param_linear_1");
        var oracle = c.Oracle();
        foreach (var mode in new[] { ParameterSearch.Linear, ParameterSearch.Binary })
        {
            var identity = new MinParamPerturbation(oracle, (x, _) => x.Clone(), 0, 1, 0.25, mode);
            var result = identity.Evaluate(c.Input, c.Target);
            Assert.IsFalse(result.Found, $"{mode}");
            Assert.IsNull(result.Perturbed);
        }
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => new MinParamPerturbation(oracle, (x, _) => x, 0, 0.1, 0.1)).Message, "longer than one step");
    }

    [TestMethod]
    public void FloorDivide_IsPythonsFloatFloorDivision()
    {
        // Values Python prints for a // b.
        Assert.AreEqual(9.0, MinParamPerturbation.FloorDivide(1.0, 0.1));
        Assert.AreEqual(2.0, MinParamPerturbation.FloorDivide(0.3, 0.1));
        Assert.AreEqual(-4.0, MinParamPerturbation.FloorDivide(-7.0, 2.0));
        Assert.AreEqual(3.0, MinParamPerturbation.FloorDivide(7.0, 2.0));
    }

    [TestMethod]
    [DynamicData(nameof(ComparatorCases))]
    public void AttackComparator_MatchesCaptum_PerBatchAndInSummary(string name)
    {
        var c = Fixtures.Case(name);
        var oracle = c.Oracle();
        float eps = (float)c.Double("epsilon", 0.1);
        var loss = AttackLoss.FromName(c.String("loss")!);
        var noise = c.FloatArray("noise")!;
        int attempts = c.Int("attempts", 1), drawn = 0;
        var fgsm = new Fgsm(oracle, loss);
        var pgd = new Pgd(oracle, loss);
        var comparator = new AttackComparator(oracle, AttackComparator.LabelProbability);
        comparator.AddAttack("FGSM", (x, labels) => fgsm.Perturb(x, eps, Target.PerRow(labels)));
        comparator.AddAttack("PGD", (x, labels) => pgd.Perturb(x, eps, eps / 4, 3, Target.PerRow(labels)));
        comparator.AddAttack("Noise", (x, _) =>
        {
            var draw = noise.Data.AsSpan(drawn++ * x.Length, x.Length);
            var result = x.Clone();
            for (int i = 0; i < x.Length; i++) result.Data[i] += draw[i];
            return result;
        }, attempts);
        var expected = c.Expected; // [2 calls, 6 results, N rows]
        int n = c.Input.Rows;
        var scaled = c.Input.Clone();
        for (int i = 0; i < scaled.Length; i++) scaled.Data[i] *= (float)c.Double("second_scale", 1);
        int call = 0;
        foreach (var inputs in new[] { c.Input, scaled })
        {
            var r = comparator.Evaluate(inputs, c.Target, perturbationsPerEval: 2);
            var got = new[] { r["Original"].Mean, r["FGSM"].Mean, r["PGD"].Mean, r["Noise"].Mean, r["Noise"].Min!, r["Noise"].Max! };
            for (int k = 0; k < got.Length; k++)
                AssertArrays.Close(expected.Data.AsSpan((call * 6 + k) * n, n).ToArray(), got[k], 1e-4, $"{name} call {call} result {k}");
            Assert.IsNull(r["FGSM"].Min, "one attempt has no minimum");
            call++;
        }
        var summary = comparator.Summary();
        var keys = c.Params.GetProperty("keys").EnumerateArray().Select(e => e.GetString()!).ToArray();
        var values = c.Params.GetProperty("summary").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        CollectionAssert.AreEqual(keys, summary.Keys.ToArray());
        AssertArrays.Close(values, keys.Select(k => summary[k]).ToArray(), 1e-4, name + " summary");
        comparator.Reset();
        Assert.AreEqual(0, comparator.Summary().Count);
    }

    [TestMethod]
    public void AttackComparator_RejectsADuplicateName_AndAnAttackOfTheWrongShape()
    {
        var c = Fixtures.Case("rb_wine_mlp_comparator");
        var comparator = new AttackComparator(c.Oracle(), AttackComparator.Accuracy);
        comparator.AddAttack("same", (x, _) => x);
        Assert.ThrowsExactly<ArgumentException>(() => comparator.AddAttack("same", (x, _) => x));
        Assert.ThrowsExactly<ArgumentException>(() => comparator.AddAttack(AttackComparator.OriginalKey, (x, _) => x));
        comparator.AddAttack("bad", (x, _) => new NdArray<float>(1, x.RowSize));
        StringAssert.Contains(Assert.ThrowsExactly<InvalidOperationException>(() => comparator.Evaluate(c.Input)).Message, "'bad'");
    }
}

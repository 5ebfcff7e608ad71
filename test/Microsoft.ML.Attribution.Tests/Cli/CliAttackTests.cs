using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Robust;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Support;
using static Microsoft.ML.Attribution.Tests.Cli.CliFormatTests;

namespace Microsoft.ML.Attribution.Tests.Cli;

/// <summary><c>mlnet-explain attack fgsm|pgd …</c>: the adversarial rows equal Captum's (through the fixtures) and the library's.</summary>
[TestClass]
public sealed class CliAttackTests
{
    [TestMethod]
    public void Pgd_WritesCaptumsAdversarialRows()
    {
        var c = Fixtures.Case("rb_mnist_cnn_pgd_linf");
        string output = Temp("adv.npy");
        var (code, stdout, err) = Run("attack", "pgd", "--model", c.ModelPath, "--input", c.InputPath, "--out", output,
            "--radius", "0.1", "--step-size", "0.025", "--steps", "5", "--lower", "0", "--upper", "1");
        Assert.AreEqual(0, code, err);
        AssertArrays.Close(c.Expected, Npy.ReadFloat(output), 1e-5, "cli pgd");
        StringAssert.Contains(stdout, "pgd (negative-log loss) on 4 rows: prediction changed on");
    }

    [TestMethod]
    public void TargetedFgsm_WritesRowsLabelsAndPredictionsToNpz()
    {
        var c = Fixtures.Case("rb_wine_mlp_fgsm_cross_entropy");
        string output = Temp("adv.npz");
        var (code, stdout, err) = Run("attack", "fgsm", "--model", c.ModelPath, "--input", c.InputPath, "--out", output,
            "--epsilon", "0.5", "--loss", "cross-entropy", "--target", "2", "--targeted", "true");
        Assert.AreEqual(0, code, err);
        var oracle = new OnnxGradientOracle(c.ModelPath);
        var expected = new Fgsm(oracle, AttackLoss.CrossEntropy).Perturb(c.Input, 0.5f, Target.Class(2), targeted: true);
        var entries = NpzEntries(output);
        CollectionAssert.AreEqual(expected.Data, Npy.ReadFloat(entries["adversarial.npy"]).Data);
        CollectionAssert.AreEqual(Enumerable.Repeat(2L, c.Input.Rows).ToArray(), Npy.ReadInt64(entries["label.npy"]).Data);
        var after = Npy.ReadInt64(entries["adversarial_prediction.npy"]).Data;
        StringAssert.Contains(stdout, $"{after.Count(p => p == 2)} now predict the target");
    }

    [TestMethod]
    public void BadArguments_FailBeforeTheModelLoads()
    {
        var c = Fixtures.Case("rb_wine_mlp_fgsm");
        string missing = Temp("no-such-model.onnx");
        (string[] Args, string Message)[] cases =
        [
            (["attack"], "attack name first"),
            (["attack", "fgms"], "did you mean 'fgsm'"),
            (["attack", "fgsm", "--model", missing, "--input", c.InputPath, "--out", Temp("a.npy")], "--epsilon is required"),
            (["attack", "fgsm", "--model", missing, "--input", c.InputPath, "--out", Temp("a.npy"), "--epsilon", "0.1", "--radius", "1"], "not used by attack fgsm"),
            (["attack", "pgd", "--model", missing, "--input", c.InputPath, "--out", Temp("a.npy"), "--radius", "1", "--norm", "l3"], "--norm 'l3'"),
            (["attack", "pgd", "--model", missing, "--input", c.InputPath, "--out", Temp("a.npy"), "--radius", "1", "--seed", "3"], "--random-start true"),
            (["attack", "fgsm", "--model", missing, "--input", c.InputPath, "--out", Temp("a.npy"), "--epsilon", "0.1", "--targeted", "true"], "--targeted needs --target N"),
            (["attack", "fgsm", "--model", missing, "--input", c.InputPath, "--out", Temp("a.npy"), "--epsilon", "0.1", "--loss", "hinge"], "hinge"),
            (["attack", "fgsm", "--model", missing, "--input", c.InputPath, "--out", Temp("a.txt"), "--epsilon", "0.1"], "unknown extension '.txt'"),
            (["attack", "fgsm", "--model", missing, "--input", c.InputPath, "--out", Temp("a.npy"), "--epsilon", "0.1", "--lower", "1", "--upper", "0"], "exceeds --upper"),
        ];
        foreach (var (args, message) in cases)
        {
            var (code, _, err) = Run(args);
            Assert.AreEqual(2, code, string.Join(" ", args) + ": " + err);
            StringAssert.Contains(err, message, string.Join(" ", args));
        }
        var (missingCode, _, missingErr) = Run("attack", "fgsm", "--model", missing, "--input", c.InputPath, "--out", Temp("a.npy"), "--epsilon", "0.1");
        Assert.AreEqual(1, missingCode);
        StringAssert.Contains(missingErr, "does not exist");
    }

    [TestMethod]
    public void Help_ListsBothAttacksAndTheirOptions()
    {
        var (code, stdout, _) = Run("attack", "--help");
        Assert.AreEqual(0, code);
        StringAssert.Contains(stdout, "fgsm --epsilon");
        StringAssert.Contains(stdout, "pgd --radius");
        StringAssert.Contains(Run("--help").Out, "mlnet-explain attack fgsm|pgd");
    }
}

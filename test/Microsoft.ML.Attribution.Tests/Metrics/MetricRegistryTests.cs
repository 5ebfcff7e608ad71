using Microsoft.ML.Attribution.Metrics;
using static Microsoft.ML.Attribution.Tests.Cli.CliFormatTests;

namespace Microsoft.ML.Attribution.Tests.Metrics;

/// <summary>The metric registry is the table the CLI's metric and attack commands read.</summary>
[TestClass]
public sealed class MetricRegistryTests
{
    [TestMethod]
    public void Names_AreUnique_AndEachKindIsWhatItsCommandAccepts()
    {
        var names = MetricRegistry.All.Select(e => e.Name).ToArray();
        CollectionAssert.AllItemsAreUnique(names);
        CollectionAssert.AreEqual(MetricRegistry.OfKind(MetricKind.Attribution).Select(e => e.Name).ToArray(),
            Microsoft.ML.Attribution.Cli.MetricCommand.Metrics.Select(m => m.Name).ToArray());
        CollectionAssert.AreEqual(MetricRegistry.OfKind(MetricKind.Attack).Select(e => e.Name).ToArray(),
            Microsoft.ML.Attribution.Cli.AttackCommand.Attacks.Select(m => m.Name).ToArray());
        string metricHelp = Run("metric", "--help").Out, attackHelp = Run("attack", "--help").Out;
        foreach (var e in MetricRegistry.All)
            StringAssert.Contains(e.Kind == MetricKind.Attack ? attackHelp : metricHelp, $"{e.Name} {e.Options}", e.Name);
        foreach (var loss in MetricRegistry.AttackLosses)
            Assert.AreEqual(loss, Microsoft.ML.Attribution.Robust.AttackLoss.FromName(loss).Name);
    }
}

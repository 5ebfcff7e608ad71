using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

[TestClass]
public sealed class UnsupportedOperatorTests
{
    [TestMethod]
    public void OpsWithoutRules_FailAtBuildTime_ListingEveryOpType_AndSuggestingPerturbationMethods()
    {
        var g = new TestGraph().Input("x", "batch", 3);
        var s = g.Node("Sin", ["x"]);
        var c = g.Node("Cos", [s]);
        var s2 = g.Node("Sin", [c]);
        g.Output(g.Node("Relu", [s2]));
        var model = g.Build();
        var e = Assert.ThrowsExactly<UnsupportedOperatorException>(() => GradientGraphBuilder.Build(model, model.Outputs[0].Name, ["x"]));
        CollectionAssert.AreEqual(new[] { "Sin", "Cos" }, e.OpTypes.ToArray(), "each op type once, in graph order");
        Assert.AreEqual(3, e.NodeNames.Count);
        StringAssert.Contains(e.Message, "Sin, Cos");
        StringAssert.Contains(e.Message, "feature-ablation");
        StringAssert.Contains(e.Message, "occlusion");
    }

    [TestMethod]
    public void OpsOffThePathToTheOutput_DoNotNeedRules()
    {
        // Sin only feeds a second output; the differentiated output does not depend on it.
        var g = new TestGraph().Input("x", "batch", 3);
        var y = g.Node("Tanh", ["x"]);
        var other = g.Node("Sin", ["x"]);
        g.Output(y).Output(other);
        var model = g.Build();
        var graph = GradientGraphBuilder.Build(model, y, ["x"]);
        Assert.AreEqual(1, graph.GradientOutputs.Count);
    }

    [TestMethod]
    public void UnknownOutputTensor_ListsNearestNames()
    {
        var g = new TestGraph().Input("x", "batch", 3);
        var y = g.Node("Tanh", ["x"]);
        g.Output(y);
        var model = g.Build();
        var e = Assert.ThrowsExactly<ArgumentException>(() => GradientGraphBuilder.Build(model, y + "x", ["x"]));
        StringAssert.Contains(e.Message, $"'{y}x' does not exist");
        StringAssert.Contains(e.Message, y);
    }
}

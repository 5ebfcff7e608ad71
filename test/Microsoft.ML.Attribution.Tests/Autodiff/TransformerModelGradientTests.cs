using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Runtime;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Tests.Autodiff;

/// <summary>
/// Whole transformer text classifiers exported by PyTorch (build/bench/models.py): BERT-style embedding (token Gather +
/// learned position Add), one encoder layer (attention with Reshape/Transpose/Slice, Softmax, GELU-free FFN with Relu),
/// LayerNorm decomposed at opset 14 (ReduceMean/Sub/Pow/Sqrt/Div) and as LayerNormalization at opset 17.
/// </summary>
[TestClass]
public sealed class TransformerModelGradientTests
{
    private const string Embedding = "/Add_output_0"; // token embedding + position embedding

    private static string ModelPath(string name) => Path.Combine(AppContext.BaseDirectory, "BenchModels", name, "model.onnx");

    private static NdArray<long> Ids(string name, int rows) =>
        Npy.ReadInt64(Path.Combine(AppContext.BaseDirectory, "BenchModels", name, "input.npy")) is var all
            ? new NdArray<long>(all.Data[..(rows * all.RowSize)], rows, all.RowSize) : null!;

    [TestMethod]
    [DataRow("text")]
    [DataRow("text17")]
    public void GradientAtTheEmbedding_MatchesCentralDifferences(string name)
    {
        var model = OnnxModel.Load(ModelPath(name));
        var ids = Ids(name, 2);
        var embeddings = OnnxSession.Get(model.WithOutputs([Embedding]).ToBytes(), RuntimeOptions.Default)
            .Run([NamedInput.Of("input", ids)], [Embedding])[0];
        var cut = model.CutAt(Embedding);
        var others = cut.Inputs.Where(i => i.Name != Embedding).Select(i => NamedInput.Of(i.Name, ids)).ToList();
        var graph = GradientGraphBuilder.Build(cut, cut.Outputs[0].Name, [Embedding]);
        var seed = new NdArray<float>([1f, 0f, 1f, 0f], 2, 2); // target 0 for both rows
        var gradient = OnnxSession.Get(graph.Model.ToBytes(), RuntimeOptions.Default)
            .Run([NamedInput.Of(Embedding, embeddings), new NamedInput(graph.SeedInput, seed.Data, [2, 2]), .. others], graph.GradientOutputs)[0];
        CollectionAssert.AreEqual(embeddings.Shape, gradient.Shape);

        var forward = OnnxSession.Get(cut.WithOutputs([cut.Outputs[0].Name]).ToBytes(), RuntimeOptions.Default);
        double Objective(NdArray<float> e)
        {
            var y = forward.Run([NamedInput.Of(Embedding, e), .. others], [cut.Outputs[0].Name])[0];
            return y.Data[0] + (double)y.Data[2];
        }
        var random = new Random(4);
        const float h = 1e-3f;
        for (int check = 0; check < 40; check++)
        {
            int i = random.Next(embeddings.Length);
            var plus = embeddings.Clone();
            var minus = embeddings.Clone();
            plus.Data[i] += h;
            minus.Data[i] -= h;
            double numeric = (Objective(plus) - Objective(minus)) / (2 * h);
            Assert.AreEqual(numeric, gradient.Data[i], 2e-3 + 2e-2 * Math.Abs(numeric), $"{name}: element {i}");
        }
    }

    [TestMethod]
    [DataRow("text")]
    [DataRow("text17")]
    public void LayerIntegratedGradients_OnTheEmbedding_IsComplete(string name)
    {
        var oracle = new OnnxLayerOracle(ModelPath(name), Embedding);
        var ids = Ids(name, 4);
        var result = new LayerIntegratedGradients(oracle).Attribute(ids, baselines: null, target: Target.Class(1), steps: 200);
        CollectionAssert.AreEqual(new[] { 4, 16, 32 }, result.Attributions.Shape);
        foreach (var delta in result.ConvergenceDelta!) Assert.IsLessThan(5e-3, Math.Abs(delta));
        Assert.IsTrue(result.Attributions.Data.Any(v => Math.Abs(v) > 1e-3), "tokens get attributions");
    }

    [TestMethod]
    public void Opset14AndOpset17Exports_GiveTheSameAttributions()
    {
        var ids = Ids("text", 3);
        var a = new LayerIntegratedGradients(new OnnxLayerOracle(ModelPath("text"), Embedding)).Attribute(ids, target: Target.Class(0), steps: 32);
        var b = new LayerIntegratedGradients(new OnnxLayerOracle(ModelPath("text17"), Embedding)).Attribute(ids, target: Target.Class(0), steps: 32);
        Support.AssertArrays.Close(a.Attributions.Data, b.Attributions.Data, 1e-4, "decomposed LayerNorm vs LayerNormalization");
    }
}

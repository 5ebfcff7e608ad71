using System.Text.RegularExpressions;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Tests.SharedData;

/// <summary>
/// The detox text transformer trained by others (../shared/data/models/detox_tiny_transformer_opset17.onnx: token Gather,
/// position Add, LayerNormalization, GELU through Erf, attention MatMul/Softmax at opset 17) on real Wikipedia comments.
/// </summary>
[TestClass]
public sealed partial class TransformerModelTests
{
    private const string Embedding = "/Add_output_0";

    private static NdArray<long> Sentences(int count)
    {
        var vocab = File.ReadLines(Support.SharedData.Require("models/detox_tiny_transformer.vocab.txt"))
            .Select((word, id) => (word, id)).ToDictionary(p => p.word, p => (long)p.id);
        var lines = File.ReadLines(Support.SharedData.Require("datasets/wikipedia-detox-250-line-test.tsv")).Skip(1).Take(count).ToList();
        var ids = new long[count * 32];
        for (int r = 0; r < count; r++)
        {
            var words = Word().Matches(lines[r].Split('\t')[1].ToLowerInvariant()).Select(m => m.Value).Take(32).ToList();
            for (int i = 0; i < words.Count; i++) ids[r * 32 + i] = vocab.GetValueOrDefault(words[i], 1);
        }
        return new NdArray<long>(ids, count, 32);
    }

    [GeneratedRegex("[a-z']+")]
    private static partial Regex Word();

    [TestMethod]
    public void DetoxTransformer_LayerIntegratedGradients_OnTheEmbedding_IsComplete()
    {
        var oracle = new OnnxLayerOracle(Support.SharedData.Require("models/detox_tiny_transformer_opset17.onnx"), Embedding);
        var ids = Sentences(4);
        var result = new LayerIntegratedGradients(oracle).Attribute(ids, target: Target.Class(1), steps: 200);
        CollectionAssert.AreEqual(new[] { 4, 32, 32 }, result.Attributions.Shape);
        foreach (var delta in result.ConvergenceDelta!) Assert.IsLessThan(1e-2, Math.Abs(delta));
    }

    [TestMethod]
    public void DetoxTransformer_EmbeddingGradient_MatchesCentralDifferences()
    {
        // Gradient of logit 1 w.r.t. the embedding, against differences of the forward pass through the cut graph.
        var path = Support.SharedData.Require("models/detox_tiny_transformer_opset17.onnx");
        var ids = Sentences(2);
        var oracle = new OnnxLayerOracle(path, Embedding);
        var activations = new LayerActivation(oracle).Attribute(ids);
        var gxa = new LayerGradientXActivation(oracle, multiplyByInputs: false).Attribute(ids, Target.Class(1));
        var cut = Microsoft.ML.Attribution.Onnx.OnnxModel.Load(path).CutAt(Embedding);
        var others = cut.Inputs.Where(i => i.Name != Embedding).Select(i => Microsoft.ML.Attribution.Runtime.NamedInput.Of(i.Name, ids)).ToList();
        var session = Microsoft.ML.Attribution.Runtime.OnnxSession.Get(cut.ToBytes(), Microsoft.ML.Attribution.Runtime.RuntimeOptions.Default);
        double Logit(NdArray<float> e) => session.Run([Microsoft.ML.Attribution.Runtime.NamedInput.Of(Embedding, e), .. others], ["logits"])[0].Data[1];
        var random = new Random(2);
        const float h = 1e-3f;
        for (int check = 0; check < 30; check++)
        {
            int i = random.Next(activations.Length / 2); // row 0
            var plus = activations.Clone();
            var minus = activations.Clone();
            plus.Data[i] += h;
            minus.Data[i] -= h;
            double numeric = (Logit(plus) - Logit(minus)) / (2 * h);
            Assert.AreEqual(numeric, gxa.Attributions.Data[i], 2e-3 + 2e-2 * Math.Abs(numeric), $"element {i}");
        }
    }
}

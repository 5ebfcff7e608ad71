using System.Text.RegularExpressions;
using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tests.Support;

namespace Microsoft.ML.Attribution.Tests.SharedData;

/// <summary>
/// The tiny toxic-comment transformer trained by torch 1.13 and exported at opset 17 (../shared/data): token Gather,
/// position embedding Add, attention with in-projection Slices whose bounds come from Shape arithmetic, Softmax,
/// LayerNormalization, Erf-form GELU, ReduceMean pooling, Gemm head.
/// </summary>
[TestClass]
public sealed partial class DetoxEmbeddingGradientTests
{
    private const int SequenceLength = 32;
    private const string ModelPath = "models/detox_tiny_transformer_opset17.onnx";

    [GeneratedRegex("[a-z']+")]
    private static partial Regex Word();

    /// <summary>Tokenises as the model was trained: lower-cased [a-z']+ words, 1 = unknown, padded with 0 to 32.</summary>
    private static long[] Tokenize(string text, Dictionary<string, long> vocabulary)
    {
        var ids = new long[SequenceLength];
        int i = 0;
        foreach (Match m in Word().Matches(text.ToLowerInvariant()))
        {
            if (i == SequenceLength) break;
            ids[i++] = vocabulary.GetValueOrDefault(m.Value, 1);
        }
        return ids;
    }

    private static long[] TwoSentences()
    {
        var vocabulary = File.ReadLines(Support.SharedData.Require("models/detox_tiny_transformer.vocab.txt"))
            .Select((word, id) => (word, id)).ToDictionary(p => p.word, p => (long)p.id);
        var texts = File.ReadLines(Support.SharedData.Require("datasets/wikipedia-detox-250-line-test.tsv"))
            .Skip(1).Select(l => l.Split('\t', 2)[1]).Take(2).ToList();
        var ids = texts.SelectMany(t => Tokenize(t, vocabulary)).ToArray();
        Assert.IsTrue(ids.Count(id => id > 1) >= 10, "the sentences are mostly in the vocabulary");
        return ids;
    }

    /// <summary>The token-embedding Gather: its table is an initializer and its indices the ids input.</summary>
    private static EmbeddingTensors FindEmbedding(OnnxModel model)
    {
        var gather = model.TopologicalOrder.Single(n => n.OpType == "Gather" && model.Initializers.ContainsKey(n.Input[0]) && model.IsInput(n.Input[1]));
        var sum = model.Consumers(gather.Output[0]).Single(n => n.OpType == "Add");
        return new(gather.Output[0], sum.Output[0]);
    }

    private sealed record EmbeddingTensors(string TokenEmbedding, string EmbeddingSum);

    [TestMethod]
    public void DetoxTransformer_UsesOnlyOpsWithGradientRules()
    {
        var model = OnnxModel.Load(Support.SharedData.Require(ModelPath));
        var embedding = FindEmbedding(model);
        Assert.AreEqual("/emb/Gather_output_0", embedding.TokenEmbedding);
        Assert.AreEqual("/Add_output_0", embedding.EmbeddingSum);
        CollectionAssert.IsSubsetOf(new[] { "Gather", "LayerNormalization", "Erf", "Softmax", "Slice", "ReduceMean" }, model.OpTypes.ToArray());
        var graph = GradientGraphBuilder.Build(model.CutAt(embedding.EmbeddingSum), "logits", [embedding.EmbeddingSum]);
        Assert.AreEqual("logits/seed", graph.SeedInput);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public void DetoxTransformer_GradientAtTheEmbedding_MatchesCentralDifferences(bool atTokenEmbedding)
    {
        var model = OnnxModel.Load(Support.SharedData.Require(ModelPath));
        var names = FindEmbedding(model);
        string embedding = atTokenEmbedding ? names.TokenEmbedding : names.EmbeddingSum;
        var ids = TwoSentences();
        var idsFeed = new Dictionary<string, (double[] Data, int[] Shape)> { ["input_ids"] = (ids.Select(i => (double)i).ToArray(), [2, SequenceLength]) };

        using var probe = new GradientCheck.Session(model.WithOutputs([embedding, "logits"]).ToBytes());
        var forward = probe.Run(idsFeed, [embedding, "logits"]);
        CollectionAssert.AreEqual(new[] { 2, SequenceLength, 32 }, forward[0].Shape);

        var cut = model.CutAt(embedding);
        Assert.AreEqual(embedding, cut.Inputs.Single().Name, "the cut graph reads only the embedding, not the ids");
        // d logit[toxic] / d embedding for both rows: float32 model, step 1e-2, tolerance 1e-3 + 2%.
        double[] seed = [0, 1, 0, 1];
        GradientCheck.AssertMatchesFloat32(cut, new() { [embedding] = [2, SequenceLength, 32] }, output: "logits",
            values: new() { [embedding] = forward[0].Data }, seedValues: seed, relativeTolerance: 2e-2);

        // The uncut model, fed the ids and differentiated at the same intermediate tensor, gives the same gradient.
        var whole = GradientGraphBuilder.Build(model, "logits", [embedding]);
        var cutGraph = GradientGraphBuilder.Build(cut, "logits", [embedding]);
        using var wholeSession = new GradientCheck.Session(whole.Model.ToBytes());
        using var cutSession = new GradientCheck.Session(cutGraph.Model.ToBytes());
        var viaIds = wholeSession.Run(new(idsFeed) { [whole.SeedInput] = (seed, [2, 2]) }, whole.GradientOutputs)[0].Data;
        var viaCut = cutSession.Run(new() { [embedding] = forward[0], [cutGraph.SeedInput] = (seed, [2, 2]) }, cutGraph.GradientOutputs)[0].Data;
        for (int i = 0; i < viaIds.Length; i++) Assert.AreEqual(viaCut[i], viaIds[i], 1e-5, $"element {i}");
    }
}

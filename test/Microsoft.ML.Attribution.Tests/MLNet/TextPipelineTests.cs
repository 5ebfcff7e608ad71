using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Text;
using Microsoft.ML.Data;
using Microsoft.ML.Tokenizers;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>
/// Text in a pipeline: BERT WordPiece token ids (Microsoft.ML.Tokenizers) into an ONNX transformer classifier
/// (build/bench/models text model: token Gather + position Add + encoder layer), Layer Integrated Gradients on the
/// embedding summed to tokens inside the pipeline, then merged to words.
/// </summary>
[TestClass]
public sealed class TextPipelineTests
{
    private const string Embedding = "/embedding/Gather_output_0";
    private const int Length = 16;

    private static string Model => Path.Combine(AppContext.BaseDirectory, "BenchModels", "text", "model.onnx");

    private static BertTokenizer Tokenizer() =>
        BertTokenizer.Create(Path.Combine(AppContext.BaseDirectory, "Data", "text_vocab.txt"), new BertOptions { LowerCaseBeforeTokenization = true });

    private sealed class Review
    {
        public string Text { get; set; } = "";
    }

    private sealed class Ids
    {
        [VectorType(Length)]
        public long[] TokenIds { get; set; } = [];
    }

    private static readonly string[] Reviews =
    [
        "The movie was brilliant and the acting great",
        "A boring film, the plot was very slow",
        "I hated the ending but loved the music",
    ];

    private static long[] Encode(BertTokenizer tokenizer, string text)
    {
        var ids = tokenizer.EncodeToIds(text).Select(i => (long)i).Take(Length).ToList();
        while (ids.Count < Length) ids.Add(0); // [PAD]
        return ids.ToArray();
    }

    [TestMethod]
    public void TokenIds_ExplainedAtTheEmbedding_InsideThePipeline_EqualLayerIG_SummedPerToken_AndMergeToWords()
    {
        var ml = new MLContext(seed: 1);
        var tokenizer = Tokenizer();
        var data = ml.Data.LoadFromEnumerable(Reviews.Select(r => new Review { Text = r }));
        var pipeline = ml.Transforms.CustomMapping<Review, Ids>((input, output) => output.TokenIds = Encode(tokenizer, input.Text), null)
            .Append(ml.Attribution().Explain(Model, new ExplainOptions
            {
                InputColumnName = "TokenIds", OutputColumnName = "TokenAttributions", Layer = Embedding,
                Method = "layer-integrated-gradients", MethodOptions = new LayerIntegratedGradientsOptions { Steps = 24 }, Target = 1,
            }));
        var output = pipeline.Fit(data).Transform(data);
        var perToken = output.GetColumn<float[]>("TokenAttributions").ToArray();
        var deltas = output.GetColumn<float>("ConvergenceDelta").ToArray();

        var ids = new NdArray<long>(Reviews.SelectMany(r => Encode(tokenizer, r)).ToArray(), Reviews.Length, Length);
        var direct = new LayerIntegratedGradients(new OnnxLayerOracle(Model, Embedding)).Attribute(ids, target: Target.Class(1), steps: 24);
        for (int r = 0; r < Reviews.Length; r++)
        {
            for (int t = 0; t < Length; t++)
            {
                double sum = 0;
                for (int d = 0; d < 32; d++) sum += direct.Attributions.Data[(r * Length + t) * 32 + d];
                Assert.AreEqual(sum, perToken[r][t], 1e-4, $"review {r}, token {t}");
            }
            Assert.AreEqual(direct.ConvergenceDelta![r], deltas[r], 1e-4, $"delta {r}");
        }

        // Back to words: "brilliant" is one token; every word of the review gets the sum of its tokens.
        var tokens = tokenizer.EncodeToTokens(Reviews[0], out string? normalized);
        var spans = tokens.Take(Length).Select(t => (t.Offset.Start.Value, t.Offset.End.Value - t.Offset.Start.Value)).ToList();
        var words = WordAttributions.Merge(normalized ?? Reviews[0], spans, perToken[0]);
        CollectionAssert.AreEqual(Reviews[0].ToLowerInvariant().Split(' '), words.Select(w => w.Word).ToArray());
        double tokenTotal = spans.Select((s, i) => s.Item2 > 0 ? perToken[0][i] : 0).Sum();
        Assert.AreEqual(tokenTotal, words.Sum(w => w.Attribution), 1e-4);
    }

    [TestMethod]
    public void WordMerge_SumsWordPiecesIntoTheirWord()
    {
        var words = WordAttributions.Merge("great acting", [(0, 0), (0, 5), (6, 3), (9, 3), (0, 0)], [9f, 1f, 2f, 0.5f, 7f]);
        Assert.HasCount(2, words);
        Assert.AreEqual(1f, words[0].Attribution);
        Assert.AreEqual(2.5f, words[1].Attribution);
        Assert.AreEqual(6, words[1].Offset);
    }
}

using System.Text.RegularExpressions;
using Microsoft.ML;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Text;

namespace TextClassification;

/// <summary>One word of a comment and its share of the explanation.</summary>
public sealed record WordScore(string Word, float Attribution);

/// <summary>A comment explained toward "toxic".</summary>
/// <param name="Text">The comment.</param>
/// <param name="Probability">P(toxic).</param>
/// <param name="Words">The words in reading order, each with its attribution toward "toxic".</param>
/// <param name="Rest">What the words shown do not carry: for linear SHAP, the known words absent from the comment
/// (each −w·E[x]); for Layer IG, the padding positions.</param>
/// <param name="BaseValue">The output the attributions start from (E[margin] over the background; the all-padding
/// input's logit gap for Layer IG).</param>
/// <param name="Output">The explained output (the margin; the logit gap toxic − not toxic for Layer IG).</param>
public sealed record ExplainedComment(string Text, float Probability, IReadOnlyList<WordScore> Words, float Rest, float BaseValue, float Output);

/// <summary>
/// ML.NET's text featurizer (lower-cased word unigrams, L2-normalised counts) and an SDCA logistic regression trained
/// on the Wikipedia Detox comments, explained with linear SHAP: slot j of a comment gets wⱼ·(xⱼ − E[xⱼ]) (exact for a
/// linear margin), and a word that occurs k times gets 1/k of its slot at each occurrence, so the words and
/// <see cref="ExplainedComment.Rest"/> add up to margin − E[margin].
/// </summary>
public sealed partial class LinearToxicityModel
{
    private readonly MLContext _ml;
    private readonly ITransformer _model;
    private readonly Dictionary<string, int> _slots;

    private LinearToxicityModel(MLContext ml, ITransformer model, Dictionary<string, int> slots)
    {
        _ml = ml;
        _model = model;
        _slots = slots;
    }

    /// <summary>Trains on a Detox TSV (Sentiment = 1 for toxic, SentimentText, LoggedIn).</summary>
    public static LinearToxicityModel Train(MLContext ml, string trainingTsv)
    {
        var data = Load(ml, trainingTsv);
        var featurizer = new TextFeaturizingEstimator.Options
        {
            CaseMode = TextNormalizingEstimator.CaseMode.Lower,
            KeepPunctuations = false,
            KeepNumbers = false,
            StopWordsRemoverOptions = new StopWordsRemovingEstimator.Options { Language = TextFeaturizingEstimator.Language.English },
            WordFeatureExtractor = new WordBagEstimator.Options { NgramLength = 1, UseAllLengths = false },
            CharFeatureExtractor = null,
        };
        var pipeline = ml.Transforms.Text.FeaturizeText("Features", featurizer, "Text")
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression());
        // .Explain picks linear SHAP for SDCA; one attribution per slot (word) instead of one for the whole text column.
        var model = pipeline.Explain(ml, new ExplainOptions { SlotAttributions = true, BackgroundSize = 250 }).Fit(data);
        var schema = model.GetOutputSchema(data.Schema);
        VBuffer<ReadOnlyMemory<char>> names = default;
        schema["Features"].GetSlotNames(ref names);
        var slots = new Dictionary<string, int>();
        int slot = 0;
        foreach (var name in names.DenseValues()) slots[name.ToString()] = slot++;
        return new LinearToxicityModel(ml, model, slots);
    }

    /// <summary>Reads a Detox TSV: Label (bool) and Text.</summary>
    public static IDataView Load(MLContext ml, string tsv) => ml.Data.LoadFromTextFile(tsv, [
        new TextLoader.Column("Label", DataKind.Boolean, 0), new TextLoader.Column("Text", DataKind.String, 1)],
        separatorChar: '\t', hasHeader: true, allowQuoting: false);

    /// <summary>Accuracy on a labelled TSV.</summary>
    public double Accuracy(string tsv) =>
        _ml.BinaryClassification.EvaluateNonCalibrated(_model.Transform(Load(_ml, tsv))).Accuracy;

    /// <summary>Explains each comment toward "toxic".</summary>
    public IReadOnlyList<ExplainedComment> Explain(IEnumerable<string> comments)
    {
        var texts = comments.ToList();
        var explained = _model.Transform(_ml.Data.LoadFromEnumerable(texts.Select(t => new Comment { Text = t })));
        var attributions = explained.GetColumn<float[]>("Attributions").ToList();
        var baseValues = explained.GetColumn<float>("BaseValue").ToList();
        var scores = explained.GetColumn<float>("Score").ToList();
        var probabilities = explained.GetColumn<float>("Probability").ToList();
        var result = new List<ExplainedComment>();
        for (int r = 0; r < texts.Count; r++)
        {
            // The words as written (lower-cased); each is looked up as the featurizer saw it (letters only). Stop words and
            // words never seen in training have no slot: 0.
            var words = Words(texts[r]);
            var keys = words.Select(w => Letters().Replace(w, "")).ToList();
            var counts = keys.GroupBy(k => k).ToDictionary(g => g.Key, g => g.Count());
            var scored = words.Select((w, i) => new WordScore(w, _slots.TryGetValue(keys[i], out int s) ? attributions[r][s] / counts[keys[i]] : 0f)).ToList();
            float rest = attributions[r].Sum() - scored.Sum(w => w.Attribution);
            result.Add(new ExplainedComment(texts[r], probabilities[r], scored, rest, baseValues[r], scores[r]));
        }
        return result;
    }

    /// <summary>The words of a comment as shown: lower-cased runs of letters, digits and apostrophes.</summary>
    public static IReadOnlyList<string> Words(string text) => Word().Matches(text.ToLowerInvariant()).Select(m => m.Value).ToList();

    [GeneratedRegex("[a-z0-9']+")]
    private static partial Regex Word();

    [GeneratedRegex("[^a-z]")]
    private static partial Regex Letters();

    private sealed class Comment
    {
        public string Text { get; set; } = "";
    }
}

/// <summary>
/// A small transformer trained on the same comments (token embedding + positions, LayerNormalization, GELU, attention;
/// opset 17; input <c>input_ids</c> int64 [N, 32], output <c>logits</c> [N, 2]), explained with Layer Integrated
/// Gradients on the embedding (<c>/Add_output_0</c>) summed per token, toward the "toxic" logit. Tokens are the
/// model's own: lower-cased <c>[a-z']+</c> words, 0 = padding (also the baseline), 1 = unknown.
/// </summary>
public sealed partial class TransformerToxicityModel
{
    /// <summary>Tokens per comment.</summary>
    public const int Length = 32;

    private readonly string _modelPath;
    private readonly Dictionary<string, long> _vocabulary;

    /// <summary>Loads the model and its vocabulary (one word per line, line number = id).</summary>
    public TransformerToxicityModel(string modelPath, string vocabularyPath)
    {
        _modelPath = modelPath;
        _vocabulary = File.ReadLines(vocabularyPath).Select((word, id) => (word, id)).ToDictionary(p => p.word, p => (long)p.id);
    }

    /// <summary>The words the model reads: lower-cased <c>[a-z']+</c>, at most <see cref="Length"/>.</summary>
    public static IReadOnlyList<string> Words(string text) => Word().Matches(text.ToLowerInvariant()).Select(m => m.Value).Take(Length).ToList();

    /// <summary>Explains each comment toward "toxic" (logit 1).</summary>
    public IReadOnlyList<ExplainedComment> Explain(MLContext ml, IEnumerable<string> comments, int steps = 64)
    {
        var texts = comments.ToList();
        long[] Encode(string text)
        {
            var ids = new long[Length];
            var words = Words(text);
            for (int i = 0; i < words.Count; i++) ids[i] = _vocabulary.GetValueOrDefault(words[i], 1);
            return ids;
        }
        var data = ml.Data.LoadFromEnumerable(texts.Select(t => new TokenIds { Ids = Encode(t) }));
        var explainer = ml.Attribution().Explain(_modelPath, new ExplainOptions
        {
            InputColumnName = "Ids", OutputColumnName = "TokenAttributions", Layer = "/Add_output_0", Target = 1,
            Method = "layer-integrated-gradients", MethodOptions = new Microsoft.ML.Attribution.Methods.LayerIntegratedGradientsOptions { Steps = steps },
        });
        var explained = explainer.Fit(data).Transform(data);
        var tokenValues = explained.GetColumn<float[]>("TokenAttributions").ToList();
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(_modelPath);
        var result = new List<ExplainedComment>();
        var baseline = Logits(session, new long[Length]);
        for (int r = 0; r < texts.Count; r++)
        {
            var words = Words(texts[r]);
            var logits = Logits(session, Encode(texts[r]));
            float probability = 1 / (1 + MathF.Exp(logits[0] - logits[1]));
            var scored = words.Select((w, i) => new WordScore(w, tokenValues[r][i])).ToList();
            float rest = tokenValues[r].Sum() - scored.Sum(w => w.Attribution);
            // Layer IG toward logit 1 adds up to logit₁(x) − logit₁(baseline), up to the convergence delta.
            result.Add(new ExplainedComment(texts[r], probability, scored, rest, baseline[1], logits[1]));
        }
        return result;
    }

    private static float[] Logits(Microsoft.ML.OnnxRuntime.InferenceSession session, long[] ids)
    {
        using var input = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(ids, [1, Length]);
        using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
        using var output = session.Run(runOptions, ["input_ids"], [input], ["logits"]);
        return output[0].GetTensorDataAsSpan<float>().ToArray();
    }

    [GeneratedRegex("[a-z']+")]
    private static partial Regex Word();

    private sealed class TokenIds
    {
        [VectorType(Length)]
        public long[] Ids { get; set; } = [];
    }
}

using Microsoft.ML.Attribution.Methods;
// Text classification, after Captum's IMDB tutorial: a small transformer sentiment model (trained on the 40 reviews in
// samples/data/text) explained inside an ML.NET pipeline — BERT WordPiece token ids (Microsoft.ML.Tokenizers), Layer
// Integrated Gradients on the embedding summed per token, merged back to words, rendered as coloured HTML.
// Run from the repository root: dotnet run --project samples/TextClassification [output.html]
using Microsoft.ML;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Attribution.Text;
using Microsoft.ML.Attribution.Visualization;
using Microsoft.ML.Data;
using Microsoft.ML.Tokenizers;

const int Length = 16;
string folder = Path.Combine(AppContext.BaseDirectory, "data", "text");
var tokenizer = BertTokenizer.Create(Path.Combine(folder, "vocab.txt"), new BertOptions { LowerCaseBeforeTokenization = true });
long[] Encode(string text)
{
    var ids = tokenizer.EncodeToIds(text).Select(i => (long)i).Take(Length).ToList();
    while (ids.Count < Length) ids.Add(0); // [PAD], also the baseline token
    return ids.ToArray();
}

var reviews = new[]
{
    "the acting was brilliant but the ending was awful",
    "a boring story with wonderful music",
    "i loved this film",
    "the worst plot and really bad characters",
};
var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromEnumerable(reviews.Select(r => new Review { Text = r }));
var pipeline = ml.Transforms.CustomMapping<Review, TokenIds>((input, output) => output.Ids = Encode(input.Text), null)
    .Append(ml.Attribution().Explain(Path.Combine(folder, "sentiment_transformer.onnx"), new ExplainOptions
    {
        InputColumnName = "Ids", OutputColumnName = "TokenAttributions", Layer = "/Add_output_0",
        Method = "layer-integrated-gradients", MethodOptions = new LayerIntegratedGradientsOptions { Steps = 50 }, // explains each review's predicted class
    }));
var explained = pipeline.Fit(data).Transform(data);
var tokenValues = explained.GetColumn<float[]>("TokenAttributions").ToArray();
var deltas = explained.GetColumn<float>("ConvergenceDelta").ToArray();
var predicted = explained.GetColumn<int>("ExplainedTarget").ToArray();
string[] classes = ["negative", "positive"];

// Class probabilities, straight from ONNX Runtime (the model outputs logits).
using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Path.Combine(folder, "sentiment_transformer.onnx"));
float[] Probabilities(string text)
{
    using var input = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(Encode(text), [1, Length]);
    using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
    using var output = session.Run(runOptions, ["input"], [input], ["output"]);
    var logits = output[0].GetTensorDataAsSpan<float>().ToArray();
    var e = logits.Select(v => Math.Exp(v - logits.Max())).ToArray();
    return e.Select(v => (float)(v / e.Sum())).ToArray();
}

var records = new List<TextAttributionRecord>();
for (int r = 0; r < reviews.Length; r++)
{
    var tokens = tokenizer.EncodeToTokens(reviews[r], out string? normalized);
    var spans = tokens.Take(Length).Select(t => (t.Offset.Start.Value, t.Offset.End.Value - t.Offset.Start.Value)).ToList();
    var words = WordAttributions.Merge(normalized ?? reviews[r], spans, tokenValues[r]);
    var probabilities = Probabilities(reviews[r]);
    Console.WriteLine($"\"{reviews[r]}\" → {classes[predicted[r]]} ({probabilities[predicted[r]]:P0}; delta {deltas[r]:E1})");
    Console.WriteLine("   " + string.Join("  ", words.Select(w => $"{w.Word} {w.Attribution:+0.00;-0.00}")));
    records.Add(new TextAttributionRecord(words.Select(w => w.Word).ToArray(), words.Select(w => w.Attribution).ToArray(),
        null, classes[predicted[r]], probabilities[predicted[r]], classes[predicted[r]], words.Sum(w => w.Attribution)));
}
string html = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "attribution-sentiment.html");
TextAttributionRenderer.SavePage(html, records, new TextVisualizationOptions { ScaleToMaxAbs = true });
Console.WriteLine($"Wrote {html}");

sealed class Review
{
    public string Text { get; set; } = "";
}

sealed class TokenIds
{
    [VectorType(16)]
    public long[] Ids { get; set; } = [];
}

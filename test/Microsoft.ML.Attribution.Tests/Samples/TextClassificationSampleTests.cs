using TextClassification;

namespace Microsoft.ML.Attribution.Tests.Samples;

/// <summary>
/// The text sample's models (samples/TextClassification/ToxicityModel.cs, compiled into this project) on the Detox
/// comments shipped in samples/data/text: insults must push toward "toxic", thanks away from it, and the word
/// attributions must add up to what each method promises.
/// </summary>
[TestClass]
public sealed class TextClassificationSampleTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Data", "text");
    private static readonly HashSet<string> Insults = ["stupid", "jerk", "pathetic", "loser", "fool", "hate", "shut"];
    private static readonly string[] Toxic =
    [
        "You are a stupid jerk and a pathetic loser.",
        "Shut up, you stupid fool.",
        "I hate you, go away.",
    ];
    private static readonly string[] Polite =
    [
        "Thank you for the good source, welcome to the article.",
        "Thanks, please add a source to the article.",
    ];

    private static LinearToxicityModel? _linear;
    private static LinearToxicityModel Linear => _linear ??= LinearToxicityModel.Train(new MLContext(seed: 1), Path.Combine(Folder, "detox-train.tsv"));

    [TestMethod]
    public void LinearShap_InsultsPushTowardToxic_AndLeadTheirComment()
    {
        foreach (var comment in Linear.Explain(Toxic))
        {
            Assert.IsGreaterThan(0.5f, comment.Probability, comment.Text);
            var insults = comment.Words.Where(w => Insults.Contains(w.Word)).ToList();
            Assert.IsNotEmpty(insults, comment.Text);
            foreach (var w in insults) Assert.IsGreaterThan(0f, w.Attribution, $"'{w.Word}' in \"{comment.Text}\"");
            var top = comment.Words.MaxBy(w => w.Attribution)!;
            Assert.Contains(top.Word, Insults, $"largest attribution in \"{comment.Text}\" is '{top.Word}'");
        }
    }

    [TestMethod]
    public void LinearShap_ThanksPushAwayFromToxic()
    {
        foreach (var comment in Linear.Explain(Polite))
        {
            Assert.IsLessThan(0.5f, comment.Probability, comment.Text);
            foreach (var w in comment.Words.Where(w => w.Word is "thank" or "thanks" or "welcome"))
                Assert.IsLessThan(0f, w.Attribution, $"'{w.Word}' in \"{comment.Text}\"");
        }
    }

    [TestMethod]
    public void LinearShap_WordsAndAbsentWords_AddUpToMarginMinusItsMean()
    {
        foreach (var comment in Linear.Explain([.. Toxic, .. Polite]))
        {
            double sum = comment.Words.Sum(w => (double)w.Attribution) + comment.Rest;
            Assert.AreEqual(comment.Output - comment.BaseValue, sum, 1e-3 + 1e-4 * Math.Abs(comment.Output), comment.Text);
            Assert.AreEqual(LinearToxicityModel.Words(comment.Text).Count, comment.Words.Count, comment.Text);
        }
    }

    [TestMethod]
    public void TransformerLayerIG_InsultsPushTowardToxic_AndAddUpToTheLogitChange()
    {
        string model = Path.Combine(Folder, "detox_transformer.onnx");
        if (!File.Exists(model)) Assert.Inconclusive($"{model} is absent.");
        var transformer = new TransformerToxicityModel(model, Path.Combine(Folder, "detox_transformer.vocab.txt"));
        foreach (var comment in transformer.Explain(new MLContext(seed: 1), Toxic, steps: 128))
        {
            var insults = comment.Words.Where(w => Insults.Contains(w.Word)).ToList();
            Assert.IsNotEmpty(insults, comment.Text);
            foreach (var w in insults) Assert.IsGreaterThan(0f, w.Attribution, $"'{w.Word}' in \"{comment.Text}\"");
            double sum = comment.Words.Sum(w => (double)w.Attribution) + comment.Rest;
            Assert.AreEqual(comment.Output - comment.BaseValue, sum, 0.02 + 0.01 * Math.Abs(comment.Output), comment.Text);
        }
    }
}

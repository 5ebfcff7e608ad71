// Text classification you can believe: which words make a Wikipedia comment toxic? Two models of the CC0 Wikipedia
// Detox comments (samples/data/text/detox-*.tsv), each explained per word toward "toxic" and rendered as coloured
// tokens in one HTML page (green pushes toward toxic, red away):
//   1. ML.NET's text featurizer + SDCA logistic regression, explained with linear SHAP (exact: w·(x − E[x]) per word);
//   2. a small ONNX transformer trained on the same comments, explained with Layer Integrated Gradients on its token
//      embedding (skipped when samples/data/text/detox_transformer.onnx is absent).
// Run from the repository root: dotnet run --project samples/TextClassification [output.html]
using Microsoft.ML;
using Microsoft.ML.Attribution.Visualization;
using TextClassification;

string folder = Path.Combine(AppContext.BaseDirectory, "data", "text");
string[] comments =
[
    "You are a stupid jerk and a pathetic loser.",
    "Thank you for the good source, welcome to the article.",
    "Shut up, you stupid fool.",
    "I hate you, go away and die.",
    "Thanks, please add a source to the article.",
];

var ml = new MLContext(seed: 1);
var linear = LinearToxicityModel.Train(ml, Path.Combine(folder, "detox-train.tsv"));
Console.WriteLine($"SDCA on word unigrams: accuracy {linear.Accuracy(Path.Combine(folder, "detox-test.tsv")):P0} on the 17 held-out comments");
var sections = new List<(string Method, List<TextAttributionRecord> Records)>();
Add("SDCA · linear SHAP", linear.Explain(comments));

string transformerPath = Path.Combine(folder, "detox_transformer.onnx");
if (File.Exists(transformerPath))
{
    var transformer = new TransformerToxicityModel(transformerPath, Path.Combine(folder, "detox_transformer.vocab.txt"));
    Add("transformer · Layer IG", transformer.Explain(ml, comments));
}
else
{
    Console.WriteLine($"{transformerPath} is absent: the transformer part is skipped.");
}

string html = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "attribution-toxicity.html");
var options = new TextVisualizationOptions { ScaleToMaxAbs = true };
File.WriteAllText(html, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\" /><title>Which words make a comment toxic?</title>"
    + "<style>body{font-family:sans-serif;margin:1.5em}th{text-align:left;padding-right:2em}td{vertical-align:top}</style></head>"
    + "<body><h1>Which words make a comment toxic?</h1><p>Attributions toward <b>toxic</b>, each row scaled to its largest |value|: "
    + "green words push toward toxic, red words away from it.</p>"
    + string.Concat(sections.Select(s => $"<h2>{System.Net.WebUtility.HtmlEncode(s.Method)}</h2>" + TextAttributionRenderer.RenderFragment(s.Records, options)))
    + "</body></html>\n");
Console.WriteLine($"Wrote {html}");

void Add(string method, IReadOnlyList<ExplainedComment> explained)
{
    Console.WriteLine($"\n{method}:");
    var records = new List<TextAttributionRecord>();
    sections.Add((method, records));
    foreach (var c in explained)
    {
        string label = c.Probability >= 0.5 ? "toxic" : "not toxic";
        Console.WriteLine($"  \"{c.Text}\" → {label} (P(toxic) {c.Probability:P0})");
        Console.WriteLine("     " + string.Join("  ", c.Words.Select(w => $"{w.Word} {w.Attribution:+0.00;-0.00}")));
        records.Add(new TextAttributionRecord(c.Words.Select(w => w.Word).ToArray(), c.Words.Select(w => w.Attribution).ToArray(),
            null, label, c.Probability, "toxic", c.Words.Sum(w => w.Attribution)));
    }
}

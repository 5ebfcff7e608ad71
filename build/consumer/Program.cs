// A consumer of the packed packages only (no project references): .ci/run copies this folder to a temporary
// directory, restores Microsoft.ML.Attribution from artifacts/packages, and runs it. Exit code 0 means the numbers hold.
using Microsoft.ML;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;

int failures = 0;
void Check(string what, double expected, double actual, double tolerance)
{
    bool ok = Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Abs(expected));
    Console.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}: expected {expected:G6}, got {actual:G6}");
    if (!ok) failures++;
}

// 1. TreeSHAP on a FastTree trained here: Σ SHAP + E[f] = the model's score.
var ml = new MLContext(seed: 1);
var random = new Random(7);
var rows = Enumerable.Range(0, 200).Select(_ =>
{
    var x = new float[4];
    for (int j = 0; j < 4; j++) x[j] = (float)random.NextDouble();
    return new Row { Features = x, Label = 3 * x[0] - 2 * x[1] * x[2] + x[3] };
}).ToList();
var data = ml.Data.LoadFromEnumerable(rows);
var model = ml.Regression.Trainers.FastTree(numberOfTrees: 20, numberOfLeaves: 8, minimumExampleCountPerLeaf: 5).Fit(data);
var oracle = new MLNetForwardOracle(model, data);
var features = oracle.ReadFeatures(data);
var one = new NdArray<float>(features.Row(0).ToArray(), 1, features.RowSize);
var shap = new TreeShap(TreeEnsemble.FromTransformer(model), features).Explain(one);
double score = oracle.Forward(one).Data[0];
Check("TreeSHAP: E[f] + sum of SHAP = score", score, shap.ExpectedValues[0] + shap.ForOutput(0).Row(0).ToArray().Sum(), 1e-4);

// 2. Integrated Gradients on Captum's README ToyModel (ONNX): Σ IG = f(x) − f(baseline).
var toy = new OnnxGradientOracle(Path.Combine(AppContext.BaseDirectory, "toy.onnx"));
var input = new NdArray<float>([0.29611194f, 0.51656228f, 0.25167072f], 1, 3);
var ig = new IntegratedGradients(toy).Attribute(input, target: Target.Class(0));
double fx = toy.Forward(input).Data[0], f0 = toy.Forward(new NdArray<float>(new float[3], 1, 3)).Data[0];
Check("IG: sum of attributions = f(x) - f(0)", fx - f0, ig.Attributions.Data.Sum(), 1e-3);

Console.WriteLine(failures == 0 ? "consumer: all checks passed" : $"consumer: {failures} check(s) failed");
return failures == 0 ? 0 : 1;

internal sealed class Row
{
    [Microsoft.ML.Data.VectorType(4)]
    public float[] Features { get; set; } = [];

    public float Label { get; set; }
}

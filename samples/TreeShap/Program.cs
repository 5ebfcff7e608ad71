// Exact TreeSHAP for an ML.NET FastTree model on the UCI wine data, checked against model-agnostic Shapley sampling.
// Run from the repository root: dotnet run --project samples/TreeShap
using Microsoft.ML;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

string csv = Path.Combine(AppContext.BaseDirectory, "data", "wine.csv");
var ml = new MLContext(seed: 1);
var data = ml.Data.CreateTextLoader([
        new TextLoader.Column("Features", DataKind.Single, 0, 12),
        new TextLoader.Column("Label", DataKind.Single, 13),
    ], separatorChar: ',', hasHeader: true, dataSample: new MultiFileSource(csv)).Load(csv);

// Regression on the cultivar index keeps the example small; any FastTree/LightGBM model works the same way.
var model = ml.Regression.Trainers.FastTree(numberOfTrees: 100, numberOfLeaves: 16).Fit(data);

var oracle = new MLNetForwardOracle(model, data);             // the model as a black box: batches in, scores out
var rows = oracle.ReadFeatures(data);                          // [178, 13]
var shap = new TreeShap(TreeEnsemble.FromTransformer(model), rows).Explain(rows);
var values = shap.ForOutput(0);
Console.WriteLine($"TreeSHAP ({shap.Algorithm}) on {rows.Rows} wines; E[f(X)] = {shap.ExpectedValues[0]:0.000}; {shap.Explained}");

Console.WriteLine("Global importance (mean |SHAP|):");
foreach (var f in GlobalImportance.FromShap(shap, oracle.FeatureNames).Take(5))
    Console.WriteLine($"  {f.Name,-30} {f.MeanAbsoluteShap:0.000}");

// Row 0: the SHAP values add up to the model's score exactly.
var score = oracle.Forward(new NdArray<float>(rows.Row(0).ToArray(), 1, rows.RowSize)).Data[0];
Console.WriteLine($"Row 0: score {score:0.0000} = E[f] {shap.ExpectedValues[0]:0.0000} + Σ SHAP {values.Row(0).ToArray().Sum():0.0000}");

// The same question, model-agnostically: Shapley value sampling against one background row (the data's mean).
var mean = new NdArray<float>(Enumerable.Range(0, rows.RowSize).Select(j => Enumerable.Range(0, rows.Rows).Average(r => rows.Row(r)[j])).ToArray(), 1, rows.RowSize);
var sampled = new ShapleyValueSampling(oracle).Attribute(new NdArray<float>(rows.Row(0).ToArray(), 1, rows.RowSize), mean, Target.Class(0), samples: 50, seed: 1);
var interventional = new TreeShap(TreeEnsemble.FromTransformer(model), mean, TreeShapAlgorithm.Interventional)
    .Explain(new NdArray<float>(rows.Row(0).ToArray(), 1, rows.RowSize)).ForOutput(0);
Console.WriteLine("Row 0 vs the mean wine — exact interventional TreeSHAP | Shapley sampling (50 orderings):");
foreach (int j in Enumerable.Range(0, rows.RowSize).OrderByDescending(j => Math.Abs(interventional.Data[j])).Take(5))
    Console.WriteLine($"  {oracle.FeatureNames[j],-30} {interventional.Data[j],8:0.0000} | {sampled.Attributions.Data[j],8:0.0000}");

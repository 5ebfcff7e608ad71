// Tabular regression, after Captum's "house prices" tutorial, on the diabetes progression data (Efron et al. 2004, as
// shipped by scikit-learn): an ML.NET FastTree regressor explained with exact TreeSHAP, a SHAP waterfall for one patient,
// Kernel SHAP through the black-box oracle for comparison, and the self-contained HTML report.
// Run from the repository root: dotnet run --project samples/TabularRegression [output folder]
using Microsoft.ML;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Reports;
using Microsoft.ML.Attribution.Tabular;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Visualization;
using Microsoft.ML.Data;

string csv = Path.Combine(AppContext.BaseDirectory, "data", "diabetes.csv");
string output = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "attribution-diabetes");
Directory.CreateDirectory(output);

var ml = new MLContext(seed: 1);
var data = ml.Data.CreateTextLoader([
        new TextLoader.Column("Features", DataKind.Single, 0, 9),
        new TextLoader.Column("Label", DataKind.Single, 10),
    ], separatorChar: ',', hasHeader: true, dataSample: new MultiFileSource(csv)).Load(csv);
var split = ml.Data.TrainTestSplit(data, testFraction: 0.2, seed: 1);
var model = ml.Regression.Trainers.FastTree(numberOfTrees: 150, numberOfLeaves: 4, minimumExampleCountPerLeaf: 20, learningRate: 0.05).Fit(split.TrainSet);
var metrics = ml.Regression.Evaluate(model.Transform(split.TestSet));
Console.WriteLine($"FastTree on 442 patients: test R² {metrics.RSquared:0.00}, RMSE {metrics.RootMeanSquaredError:0.0}");

var oracle = new MLNetForwardOracle(model, data);
var train = oracle.ReadFeatures(split.TrainSet);
var test = oracle.ReadFeatures(split.TestSet);
var shap = new TreeShap(TreeEnsemble.FromTransformer(model), train).Explain(test);
var values = shap.ForOutput(0);
Console.WriteLine($"Exact TreeSHAP ({shap.Algorithm}), E[f] = {shap.ExpectedValues[0]:0.0}; mean |SHAP| per feature:");
foreach (var f in GlobalImportance.FromShap(shap, oracle.FeatureNames)) Console.WriteLine($"  {f.Name,-4} {f.MeanAbsoluteShap,6:0.0}");

// One patient's prediction, decomposed.
var first = values.Row(0).ToArray();
float prediction = oracle.Forward(new NdArray<float>(test.Row(0).ToArray(), 1, test.RowSize)).Data[0];
File.WriteAllText(Path.Combine(output, "waterfall.svg"),
    TabularCharts.Waterfall(oracle.FeatureNames, first, shap.ExpectedValues[0], test.Row(0).ToArray(), prediction));

// The model-agnostic view: Kernel SHAP against the training mean, through the black-box oracle.
var mean = new NdArray<float>(Enumerable.Range(0, train.RowSize).Select(j => Enumerable.Range(0, train.Rows).Average(r => train.Row(r)[j])).ToArray(), 1, train.RowSize);
var kernel = new KernelShap(oracle).Attribute(new NdArray<float>(test.Row(0).ToArray(), 1, test.RowSize), mean, Target.Class(0), samples: 400, seed: 1);
Console.WriteLine($"Patient 0: predicted {prediction:0.0} = E[f] {shap.ExpectedValues[0]:0.0} + Σ TreeSHAP {first.Sum():0.0}");
Console.WriteLine("  feature  TreeSHAP(path-dependent)  KernelSHAP(vs mean patient)");
foreach (int j in Enumerable.Range(0, first.Length).OrderByDescending(j => Math.Abs(first[j])).Take(4))
    Console.WriteLine($"  {oracle.FeatureNames[j],-8} {first[j],10:0.0} {kernel.Attributions.Data[j],20:0.0}");

var report = AttributionReport.Generate(model, split.TestSet, "Label", new AttributionReportOptions { Title = "Diabetes progression — FastTree" });
report.Save(Path.Combine(output, "report.html"));
Console.WriteLine($"Wrote {Path.Combine(output, "waterfall.svg")} and report.html ({report.Method})");

using Microsoft.ML.Attribution.TestData;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Attribution.Tests.Support;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary><c>.Explain(mlContext)</c> with no options on real chains: the method chosen from the model, one attribution per source column, BaseValue.</summary>
[TestClass]
public sealed class ExplainChainTests
{
    private static readonly string[] SourceNames =
    [
        "Workclass", "education", "marital-status", "occupation", "relationship", "ethnicity", "sex", "native-country-region",
        "age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week",
    ];

    private static (MLContext Ml, IDataView Data) Adult()
    {
        var path = Support.SharedData.Require(AdultSample.RelativePath);
        var ml = new MLContext(seed: 1);
        // ML.NET's adult sample shape: a text Workclass, a 7-wide Categories vector, a 6-wide NumericFeatures vector.
        var data = AdultSample.Load(ml, path);
        return (ml, data);
    }

    private static void AssertAddsUp(IDataView output, string scoreColumn, double relative)
    {
        var attributions = output.GetColumn<float[]>("Attributions").ToArray();
        var baseValues = output.GetColumn<float>("BaseValue").ToArray();
        var scores = output.GetColumn<float>(scoreColumn).ToArray();
        Assert.AreEqual(scores.Length, attributions.Length, "rows out = rows in");
        for (int r = 0; r < scores.Length; r++)
        {
            double total = attributions[r].Sum(v => (double)v) + baseValues[r];
            Assert.AreEqual(scores[r], total, relative * Math.Max(1, Math.Abs(scores[r])), $"row {r}: Σ attributions + BaseValue ≠ {scoreColumn}");
        }
    }

    private static string[] SlotNames(IDataView output)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        output.Schema["Attributions"].GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }

    [TestMethod]
    public void Explain_NoOptions_OnAdultFastTree_GivesTreeShapPerSourceSlot_AddingUpToScore()
    {
        var (ml, data) = Adult();
        var pipeline = AdultSample.Featurize(ml).Append(ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 50, numberOfLeaves: 20));
        var output = pipeline.Explain(ml).Fit(data).Transform(data);
        CollectionAssert.AreEqual(SourceNames, SlotNames(output), "one attribution per source slot, named after it");
        ReadOnlyMemory<char> method = default;
        output.Schema["Attributions"].Annotations.GetValue(AttributionTransformer.MethodAnnotation, ref method);
        StringAssert.StartsWith(method.ToString(), "tree-shap");
        AssertAddsUp(output, "Score", 1e-4);
    }

    [TestMethod]
    public void Explain_NoOptions_OnAdultSdca_GivesLinearShap_AddingUpToScore()
    {
        var (ml, data) = Adult();
        var pipeline = AdultSample.Featurize(ml).Append(ml.Transforms.NormalizeMeanVariance("Features"))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(maximumNumberOfIterations: 20));
        var model = pipeline.Explain(ml).Fit(data);
        var output = model.Transform(data);
        // The normalizer sits between the concatenation and the trainer: its slot names still carry the source names.
        CollectionAssert.AreEqual(SourceNames, SlotNames(output));
        AssertAddsUp(output, "Score", 1e-4);
    }

    [TestMethod]
    public void Explain_NoOptions_OnLightGbmMulticlass_AddsUpPerExplainedClass()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Load(ml);
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.LightGbm(numberOfIterations: 20));
        var output = pipeline.Explain(ml).Fit(data).Transform(data);
        var trees = Microsoft.ML.Attribution.Tabular.TreeEnsemble.FromTransformer(ml.MulticlassClassification.Trainers.LightGbm(numberOfIterations: 20).Fit(ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data)));
        var attributions = output.GetColumn<float[]>("Attributions").ToArray();
        var baseValues = output.GetColumn<float>("BaseValue").ToArray();
        var targets = output.GetColumn<int>("ExplainedTarget").ToArray();
        var features = output.GetColumn<float[]>("Features").ToArray();
        for (int r = 0; r < features.Length; r++)
        {
            double raw = trees.Evaluate(features[r])[targets[r]];
            Assert.AreEqual(raw, attributions[r].Sum(v => (double)v) + baseValues[r], 1e-4 * Math.Max(1, Math.Abs(raw)), $"row {r}");
        }
    }

    [TestMethod]
    public void Explain_BadOptions_ThrowBeforeTheTrainerRuns()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Load(ml);
        var recorder = new FitRecorder(ml.Regression.Trainers.Sdca(labelColumnName: "Label"));
        Assert.ThrowsExactly<ArgumentException>(() => recorder.Explain(ml, new ExplainOptions { Method = "integrated-gradients" }));
        Assert.ThrowsExactly<ArgumentException>(() => recorder.Explain(ml, new ExplainOptions { Method = "kernal-shap" }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => recorder.Explain(ml, new ExplainOptions { Target = -1 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => recorder.Explain(ml, new ExplainOptions { InputColumnName = "Nope" }).Fit(data));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => recorder.Explain(ml, new ExplainOptions { TargetColumnName = "Missing" }).Fit(data));
        Assert.AreEqual(0, recorder.Fits, "no option error may wait for the trainer");
        var message = Assert.ThrowsExactly<ArgumentException>(() => recorder.Explain(ml, new ExplainOptions { Method = "kernal-shap" })).Message;
        StringAssert.Contains(message, "did you mean 'kernel-shap'");
    }

    [TestMethod]
    public void Registry_IsTheOnlyMethodTable_AndEverySurfaceTakesItsMethods()
    {
        // Every pipeline-capable method has a typed catalog entry whose options parameter is the registry's record type.
        var catalog = typeof(AttributionMLContextExtensions).GetMethods();
        foreach (var method in MethodRegistry.All.Where(m => !m.Has(MethodCapabilities.Neuron) && !m.Has(MethodCapabilities.Wrapper) && !m.Has(MethodCapabilities.RequiresBaselines)))
        {
            Assert.IsTrue(catalog.Any(c => c.GetParameters().Any(p => p.ParameterType == method.OptionsType)), $"no typed catalog entry for {method.Name}");
            new ExplainOptions { Method = method.Name, Layer = method.Has(MethodCapabilities.TakesLayer) ? "x" : null }
                .Validate(method.Has(MethodCapabilities.ExactForTrees) || method.Has(MethodCapabilities.ExactForLinear) ? ModelKind.MLNet : ModelKind.Onnx);
        }
        // The CLI's help lists every ONNX-capable method with its record's options.
        var help = new StringWriter();
        Microsoft.ML.Attribution.Cli.CliApp.Run(["--help"], help, TextWriter.Null);
        foreach (var method in MethodRegistry.All.Where(m => m.Has(MethodCapabilities.Gradients) || m.Has(MethodCapabilities.BlackBox) || m.Has(MethodCapabilities.TakesLayer)))
            StringAssert.Contains(help.ToString(), $"  {method.Name}", $"the CLI lacks {method.Name}");
        StringAssert.Contains(help.ToString(), "integrated-gradients [--steps 50] [--integration gauss-legendre]");
        // No source file but the registry spells out more than the four methods .Explain() chooses between (a second table would).
        var src = Path.Combine(RepoRoot(), "src");
        var names = MethodRegistry.All.Select(m => $"\"{m.Name}\"").ToArray();
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")))
        {
            if (file.EndsWith("MethodRegistry.cs", StringComparison.Ordinal)) continue;
            var text = File.ReadAllText(file);
            int distinct = names.Count(n => text.Contains(n, StringComparison.Ordinal));
            Assert.IsTrue(distinct <= 4 || file.EndsWith("AttributionCatalogExtensions.cs", StringComparison.Ordinal),
                $"{file} names {distinct} methods: declare methods only in MethodRegistry");
        }
    }

    [TestMethod]
    public void GpuDeviceId_OnTheCpuBuild_FallsBackWhenAllowed_AndOtherwiseSaysWhatIsMissing()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Load(ml);
        var cpu = ml.Attribution().Saliency(WineData.MlpPath).Fit(data).Transform(data).GetColumn<float[]>("Attributions").ToArray();
        var fallback = ml.Attribution().Saliency(WineData.MlpPath, pipeline: new ExplainOptions { GpuDeviceId = 0, FallbackToCpu = true })
            .Fit(data).Transform(data).GetColumn<float[]>("Attributions").ToArray();
        for (int r = 0; r < cpu.Length; r++) CollectionAssert.AreEqual(cpu[r], fallback[r], $"row {r}");
        var error = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Attribution()
            .Saliency(WineData.MlpPath, pipeline: new ExplainOptions { GpuDeviceId = 0 }).Fit(data).Transform(data).GetColumn<float[]>("Attributions").ToArray());
        StringAssert.Contains(error.Message, "FallbackToCpu");
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Attribution.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Attribution.sln not found above the test folder.");
    }

    /// <summary>An estimator that counts its Fit calls.</summary>
    private sealed class FitRecorder(IEstimator<ITransformer> inner) : IEstimator<ITransformer>
    {
        public int Fits { get; private set; }

        public ITransformer Fit(IDataView input)
        {
            Fits++;
            return inner.Fit(input);
        }

        public SchemaShape GetOutputSchema(SchemaShape inputSchema) => inner.GetOutputSchema(inputSchema);
    }
}

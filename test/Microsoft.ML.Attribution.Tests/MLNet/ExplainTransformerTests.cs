using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>The ML.NET face, through the public ML.NET surface: estimators, lazy columns, .Explain(), save/load.</summary>
[TestClass]
public sealed class ExplainTransformerTests
{
    private static string Sample(string file) => Path.Combine(AppContext.BaseDirectory, "Data", file);

    private static string WineMlp => Path.Combine(AppContext.BaseDirectory, "Fixtures", "wine_mlp", "model.onnx");

    /// <summary>Wine from the shipped CSV (slot names from its header), standardised by ML.NET.</summary>
    private static IDataView Wine(MLContext ml)
    {
        string csv = Sample("wine.csv");
        var raw = ml.Data.CreateTextLoader([
            new TextLoader.Column("Features", DataKind.Single, 0, 12),
            new TextLoader.Column("Label", DataKind.Single, 13),
        ], separatorChar: ',', hasHeader: true, dataSample: new MultiFileSource(csv)).Load(csv);
        return ml.Transforms.NormalizeMeanVariance("Features", fixZero: false).Fit(raw).Transform(raw);
    }

    private static NdArray<float> Features(IDataView data, string column = "Features")
    {
        var rows = data.GetColumn<float[]>(column).ToList();
        return new NdArray<float>(rows.SelectMany(r => r).ToArray(), rows.Count, rows[0].Length);
    }

    [TestMethod]
    public void IntegratedGradientsColumn_EqualsTheMethodOnTensors_InBlocks_WithSlotNames_RowsInOrder()
    {
        var ml = new MLContext(seed: 1);
        var data = Wine(ml);
        var estimator = ml.Attribution().Explain(WineMlp, new ExplainOptions { Method = "integrated-gradients", BlockSize = 50 });
        var output = estimator.Fit(data).Transform(data);

        var direct = new IntegratedGradients(new OnnxGradientOracle(WineMlp)).Attribute(Features(data));
        var column = Features(output, "Attributions");
        Support.AssertArrays.Close(direct.Attributions.Data, column.Data, 1e-5, "attributions");
        CollectionAssert.AreEqual(direct.Targets, output.GetColumn<int>("ExplainedTarget").ToArray());
        Support.AssertArrays.Close(direct.ConvergenceDelta!, output.GetColumn<float>("ConvergenceDelta").ToArray(), 1e-5, "delta");
        // Every input column passes through, in order; rows out = rows in.
        CollectionAssert.AreEqual(data.GetColumn<float>("Label").ToArray(), output.GetColumn<float>("Label").ToArray());
        VBuffer<ReadOnlyMemory<char>> names = default;
        output.Schema["Attributions"].GetSlotNames(ref names);
        Assert.AreEqual("alcohol", names.GetItemOrDefault(0).ToString());
        Assert.AreEqual("proline", names.GetItemOrDefault(12).ToString());
    }

    [TestMethod]
    public void TargetColumn_AndFixedTarget_AreExplained()
    {
        var ml = new MLContext(seed: 1);
        var data = Wine(ml);
        var byLabel = ml.Attribution().Explain(WineMlp, new ExplainOptions { Method = "saliency", TargetColumnName = "Label" }).Fit(data).Transform(data);
        CollectionAssert.AreEqual(data.GetColumn<float>("Label").Select(v => (int)v).ToArray(), byLabel.GetColumn<int>("ExplainedTarget").ToArray());
        var fixedTarget = ml.Attribution().IntegratedGradients(WineMlp, new() { Steps = 8 }, new ExplainOptions { OutputColumnName = "A", Target = 2 }).Fit(data).Transform(data);
        Assert.IsTrue(fixedTarget.GetColumn<int>("ExplainedTarget").All(t => t == 2));
        Assert.AreEqual(13, ((VectorDataViewType)fixedTarget.Schema["A"].Type).Size);
    }

    [TestMethod]
    public void SchemaMismatch_NamesTheColumn_TheExpectedAndTheActualType()
    {
        var ml = new MLContext(seed: 1);
        var data = Wine(ml);
        var transformer = ml.Attribution().Explain(WineMlp).Fit(data);
        var missing = ml.Data.LoadFromEnumerable([new { Other = 1f }]);
        var e1 = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.Transform(missing));
        StringAssert.Contains(e1.Message, "Column 'Features' not found");
        var scalar = ml.Data.LoadFromEnumerable([new { Features = 1f }]);
        var e2 = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.Transform(scalar));
        StringAssert.Contains(e2.Message, "Column 'Features' has type Single, expected known-size Vector<Single>");
        var wrongSize = ml.Data.LoadFromEnumerable([new Narrow { Features = [1f, 2f] }]);
        var e3 = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.Transform(wrongSize));
        StringAssert.Contains(e3.Message, "Column 'Features' has type Vector<Single, 2>, expected Vector<Single, 13>");
    }

    private sealed class Narrow
    {
        [VectorType(2)]
        public float[] Features { get; set; } = [];
    }

    [TestMethod]
    public void SaveLoad_RoundTrip_GivesIdenticalColumns_AndModelSaveSaysWhatToUse()
    {
        var ml = new MLContext(seed: 1);
        var data = Wine(ml);
        var model = ml.Attribution().Explain(WineMlp, new ExplainOptions { Method = "integrated-gradients", MethodOptions = new IntegratedGradientsOptions { Steps = 16 } }).Fit(data);
        var chain = new TransformerChain<ITransformer>(model);
        string path = Path.Combine(Path.GetTempPath(), $"explain-{Guid.NewGuid():N}.zip");
        ml.Attribution().Save(chain, data.Schema, path);
        var loaded = ml.Attribution().Load(path, out var schema);
        Assert.AreEqual(data.Schema["Features"].Type, schema["Features"].Type);
        var before = Features(chain.Transform(data), "Attributions");
        var after = Features(loaded.Transform(data), "Attributions");
        CollectionAssert.AreEqual(before.Data, after.Data);
        var e = Assert.ThrowsExactly<NotSupportedException>(() => ml.Model.Save(chain, data.Schema, Path.Combine(Path.GetTempPath(), "x.zip")));
        StringAssert.Contains(e.Message, "Attribution().Save");
    }

    [TestMethod]
    public void Explain_OnAnEstimatorChain_FitsThenExplainsThePredictor_AndSavesAndLoads()
    {
        var ml = new MLContext(seed: 1);
        var data = Wine(ml);
        var pipeline = ml.Regression.Trainers.FastTree(numberOfTrees: 20, numberOfLeaves: 8)
            .Explain(ml, new ExplainOptions { Method = "shapley-value-sampling", MethodOptions = new ShapleyValueSamplingOptions { Samples = 10 }, Target = 0 }, baselineFromTrainingMeans: true);
        var model = pipeline.Fit(data);
        var output = model.Transform(data);
        var predictor = model.First();
        var oracle = new MLNetForwardOracle(predictor, data);
        var features = Features(data);
        var means = Enumerable.Range(0, 13).Select(j => (float)Enumerable.Range(0, features.Rows).Average(r => features.Row(r)[j])).ToArray();
        var direct = new ShapleyValueSampling(oracle).Attribute(features, new NdArray<float>(means, 1, 13), Target.Class(0), samples: 10, seed: 1);
        Support.AssertArrays.Close(direct.Attributions.Data, Features(output, "Attributions").Data, 1e-4, "sampling Shapley values");
        // Efficiency against the mean baseline: Σ attributions = score − f(means).
        var scores = output.GetColumn<float>("Score").ToArray();
        float atMeans = oracle.Forward(new NdArray<float>(means, 1, 13)).Data[0];
        var sums = output.GetColumn<float[]>("Attributions").Select(a => a.Sum()).ToArray();
        for (int r = 0; r < 5; r++) Assert.AreEqual(scores[r] - atMeans, sums[r], 1e-3, $"row {r}");

        string path = Path.Combine(Path.GetTempPath(), $"explain-{Guid.NewGuid():N}.zip");
        ml.Attribution().Save(model, data.Schema, path);
        var loaded = ml.Attribution().Load(path, out _);
        CollectionAssert.AreEqual(Features(output, "Attributions").Data, Features(loaded.Transform(data), "Attributions").Data);
    }

    [TestMethod]
    public void IndependentCursors_GiveTheSameValues()
    {
        var ml = new MLContext(seed: 1);
        var data = Wine(ml);
        var output = ml.Attribution().Explain(WineMlp, new ExplainOptions { Method = "saliency", BlockSize = 32 }).Fit(data).Transform(data);
        var columns = output.Schema.Where(c => c.Name is "Attributions" or "Label").ToList();
        // A set of one cursor is the serial cursor (sets of several split the blocks: see CursorSetTests).
        var set = output.GetRowCursorSet(columns, 1);
        Assert.HasCount(1, set);
        var first = ReadAll(output.GetRowCursor(columns), output.Schema["Attributions"]);
        var second = ReadAll(set[0], output.Schema["Attributions"]);
        CollectionAssert.AreEqual(first, second);
    }

    private static float[] ReadAll(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        var getter = cursor.GetGetter<VBuffer<float>>(column);
        var values = new List<float>();
        VBuffer<float> buffer = default;
        while (cursor.MoveNext())
        {
            getter(ref buffer);
            values.AddRange(buffer.DenseValues());
        }
        cursor.Dispose();
        return values.ToArray();
    }

    [TestMethod]
    public void Explain_OnAMultiStepChain_ExplainsThePredictorOnItsOwnFeatures()
    {
        // MapValueToKey + normalizer + multiclass trainer: the explainer must score the predictor alone (a bug once fed
        // the whole chain, re-normalising the features and giving constant scores).
        var ml = new MLContext(seed: 1);
        var data = Wine(ml);
        var model = ml.Transforms.Conversion.MapValueToKey("Key", "Label")
            .Append(ml.Transforms.NormalizeMinMax("Features"))
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy("Key"))
            .Explain(ml, new ExplainOptions { Method = "feature-ablation" })
            .Fit(data);
        var output = model.Transform(data);
        var predictor = ExplainingEstimatorPredictor(model);
        var scoredFeatures = Features(output);
        var direct = new FeatureAblation(new MLNetForwardOracle(predictor, output)).Attribute(scoredFeatures);
        Support.AssertArrays.Close(direct.Attributions.Data, Features(output, "Attributions").Data, 1e-5, "ablation");
        Assert.IsTrue(direct.Attributions.Data.Any(v => Math.Abs(v) > 1e-3), "the features matter");
        CollectionAssert.AreEquivalent(new[] { 0, 1, 2 }, output.GetColumn<int>("ExplainedTarget").Distinct().ToArray());
        // Saving works for a chain of any transformer type.
        var chain = ml.Transforms.NormalizeMinMax("Features").Append(ml.Attribution().Explain(WineMlp)).Fit(data);
        ml.Attribution().Save(chain, data.Schema, Path.Combine(Path.GetTempPath(), $"explain-{Guid.NewGuid():N}.zip"));
    }

    private static ITransformer ExplainingEstimatorPredictor(ITransformer model)
    {
        while (model is IEnumerable<ITransformer> chain && chain.Any())
        {
            var parts = chain.ToList();
            model = parts[^1] is AttributionTransformer ? parts[^2] : parts[^1];
        }
        return model;
    }

    [TestMethod]
    public void TopK_ExplainsEachRowsHighestOutputs_BestFirst()
    {
        var ml = new MLContext(seed: 1);
        var data = Wine(ml);
        var output = ml.Attribution().Explain(WineMlp, new ExplainOptions { Method = "integrated-gradients", MethodOptions = new IntegratedGradientsOptions { Steps = 16 }, TopK = 2 }).Fit(data).Transform(data);
        var features = Features(data);
        var oracle = new OnnxGradientOracle(WineMlp);
        var scores = oracle.Forward(features);
        var targets = output.GetColumn<int[]>("ExplainedTarget").ToArray();
        var attributions = output.GetColumn<float[]>("Attributions").ToArray();
        Assert.AreEqual(26, attributions[0].Length);
        for (int rank = 0; rank < 2; rank++)
        {
            var expectedTargets = Enumerable.Range(0, features.Rows)
                .Select(r => scores.Row(r).ToArray().Select((v, j) => (v, j)).OrderByDescending(p => p.v).ElementAt(rank).j).ToArray();
            CollectionAssert.AreEqual(expectedTargets, targets.Select(t => t[rank]).ToArray(), $"rank {rank}");
            var direct = new IntegratedGradients(oracle).Attribute(features, target: Target.PerRow(expectedTargets), steps: 16);
            Support.AssertArrays.Close(direct.Attributions.Data, attributions.SelectMany(a => a.Skip(rank * 13).Take(13)).ToArray(), 1e-5, $"rank {rank}");
        }
        Assert.ThrowsExactly<ArgumentException>(() => ml.Attribution().Explain(WineMlp, new ExplainOptions { TopK = 2, Target = 1 }));
    }

    [TestMethod]
    public void UseCuda_WithoutTheGpuBuild_RunsOnCpu_AndSaysSoInTheMLContextLog()
    {
        if (Microsoft.ML.Attribution.Runtime.OnnxSession.AvailableProviders().Contains("CUDAExecutionProvider"))
            Assert.Inconclusive("CUDA is available here; the fallback cannot be exercised.");
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { if (e.Message.Contains("CUDA")) lock (messages) messages.Add(e.Message); };
        var data = Wine(ml);
        var output = ml.Attribution().Explain(WineMlp, new ExplainOptions { Method = "saliency", UseCuda = true }).Fit(data).Transform(data);
        var onCpu = ml.Attribution().Explain(WineMlp, new ExplainOptions { Method = "saliency" }).Fit(data).Transform(data);
        CollectionAssert.AreEqual(Features(onCpu, "Attributions").Data, Features(output, "Attributions").Data);
        Assert.IsNotEmpty(messages);
        StringAssert.Contains(messages[0], "CPU");
    }
}

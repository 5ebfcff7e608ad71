using Microsoft.ML.Attribution.TestData;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>ExplainOptions.Interactions: exact TreeSHAP interaction values per row over the source-column groups.</summary>
[TestClass]
public sealed class InteractionTests
{
    private sealed class Explained
    {
        public float[] Attributions { get; set; } = [];

        public float[] Interactions { get; set; } = [];
    }

    /// <summary>Every row's P×P matrix: rows sum to the attributions, and the matrix is symmetric.</summary>
    private static void AssertRowsSumToAttributions(IDataView output, int players)
    {
        var attributions = output.GetColumn<float[]>("Attributions").ToArray();
        var interactions = output.GetColumn<float[]>("Interactions").ToArray();
        Assert.AreEqual(attributions.Length, interactions.Length);
        for (int r = 0; r < attributions.Length; r++)
        {
            Assert.HasCount(players, attributions[r]);
            Assert.HasCount(players * players, interactions[r]);
            for (int i = 0; i < players; i++)
            {
                double sum = 0;
                for (int j = 0; j < players; j++)
                {
                    sum += interactions[r][i * players + j];
                    Assert.AreEqual(interactions[r][i * players + j], interactions[r][j * players + i], 1e-5, $"row {r}: symmetric at ({i}, {j})");
                }
                Assert.AreEqual(attributions[r][i], sum, 1e-4 * Math.Max(1, Math.Abs(attributions[r][i])), $"row {r}: interaction row {i} sums to attribution {i}");
            }
        }
    }

    private static string[] SlotNames(DataViewSchema.Column column)
    {
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }

    [TestMethod]
    public void Interactions_OnSyntheticFastTree_AreGroupMatrices_SummingToAttributions_InBatchServingCursorsAndArchive()
    {
        var ml = new MLContext(seed: 1);
        var data = SyntheticTabular.Load(ml, 500);
        var pipeline = SyntheticTabular.Featurize(ml)
            .Append(ml.Regression.Trainers.FastTree(numberOfTrees: 30, numberOfLeaves: 8, minimumExampleCountPerLeaf: 5));
        var model = pipeline.Explain(ml, new ExplainOptions { Interactions = true, BlockSize = 64 }).Fit(data);
        var output = model.Transform(data);
        int p = SyntheticTabular.SourceNames.Length;
        var column = output.Schema["Interactions"];
        CollectionAssert.AreEqual(new[] { p, p }, ((VectorDataViewType)column.Type).Dimensions.ToArray(), "Vector<Single, P, P>");
        var names = SlotNames(column);
        Assert.AreEqual("A × A", names[0]);
        Assert.AreEqual("B × C", names[1 * p + 2]);
        AssertRowsSumToAttributions(output, p);

        // The model's one true interaction (B·C) is the largest off-diagonal one; A and Noise interact with nothing much.
        var interactions = output.GetColumn<float[]>("Interactions").ToArray();
        double Mean(int i, int j) => interactions.Average(m => Math.Abs(m[i * p + j]));
        Assert.IsGreaterThan(Mean(0, 4), Mean(1, 2), "B × C beats A × Noise");
        Assert.IsGreaterThan(Mean(0, 1), Mean(1, 2), "B × C beats A × B");

        // Serving: one row per call through the row mapper equals the batch.
        var engine = ml.Model.CreatePredictionEngine<SyntheticTabular.Row, Explained>(model);
        var rows = SyntheticTabular.Rows(500);
        foreach (int r in new[] { 5, 0, 77, 5 })
            Support.AssertArrays.Close(interactions[r], engine.Predict(rows[r]).Interactions, 1e-6, $"served row {r}");

        // Parallel cursors: the union equals the serial column bit for bit.
        var set = output.GetRowCursorSet([column], 3);
        Assert.HasCount(3, set);
        var parts = new List<float[]>[set.Length];
        Parallel.For(0, set.Length, i =>
        {
            parts[i] = [];
            var getter = set[i].GetGetter<VBuffer<float>>(column);
            VBuffer<float> buffer = default;
            while (set[i].MoveNext())
            {
                getter(ref buffer);
                parts[i].Add(buffer.DenseValues().ToArray());
            }
            set[i].Dispose();
        });
        // Cursor i holds blocks i, i + 3, …: rebuild the order.
        var union = new float[interactions.Length][];
        for (int i = 0; i < 3; i++)
        {
            int k = 0;
            for (int block = i; block * 64 < union.Length; block += 3)
                for (int r = block * 64; r < Math.Min(union.Length, block * 64 + 64); r++) union[r] = parts[i][k++];
            Assert.HasCount(k, parts[i]);
        }
        for (int r = 0; r < union.Length; r++) CollectionAssert.AreEqual(interactions[r], union[r], $"cursor set, row {r}");

        // Our archive keeps the option.
        var path = Path.Combine(Path.GetTempPath(), $"interactions-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Attribution().Save(model, data.Schema, path);
            var loaded = ml.Attribution().Load(path, out _).Transform(data).GetColumn<float[]>("Interactions").ToArray();
            for (int r = 0; r < loaded.Length; r++) CollectionAssert.AreEqual(interactions[r], loaded[r], $"loaded, row {r}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void Interactions_PerSlot_OnSyntheticFastTreeBinary_AreSlotMatrices()
    {
        var ml = new MLContext(seed: 1);
        var data = SyntheticTabular.Load(ml, 400);
        var pipeline = SyntheticTabular.Featurize(ml)
            .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: "Positive", numberOfTrees: 20, numberOfLeaves: 6, minimumExampleCountPerLeaf: 5));
        var output = pipeline.Explain(ml, new ExplainOptions { Interactions = true, SlotAttributions = true }).Fit(data).Transform(data);
        int slots = ((VectorDataViewType)output.Schema["Features"].Type).Size;
        Assert.AreEqual(7, slots, "A, B, C, three one-hot slots of D, Noise");
        AssertRowsSumToAttributions(output, slots);
        StringAssert.StartsWith(SlotNames(output.Schema["Interactions"])[3 * slots + 3], "D.x × D.x");
    }

    [TestMethod]
    public void Interactions_WithoutTrees_ThrowBeforeTheTrainerRuns_NamingTheOption()
    {
        var ml = new MLContext(seed: 1);
        var recorder = new FitRecorder(SyntheticTabular.Featurize(ml));
        var linear = recorder.Append(ml.Regression.Trainers.Sdca());
        var message = Assert.ThrowsExactly<ArgumentException>(() => linear.Explain(ml, new ExplainOptions { Interactions = true })).Message;
        StringAssert.Contains(message, "ExplainOptions.Interactions");
        StringAssert.Contains(message, "Sdca");
        var trees = recorder.Append(ml.Regression.Trainers.FastTree());
        message = Assert.ThrowsExactly<ArgumentException>(() => trees.Explain(ml, new ExplainOptions { Interactions = true, Method = "kernel-shap" })).Message;
        StringAssert.Contains(message, "ExplainOptions.Interactions");
        Assert.ThrowsExactly<ArgumentException>(() => trees.Explain(ml, new ExplainOptions { Interactions = true, TopK = 2 }));
        Assert.ThrowsExactly<ArgumentException>(() => trees.Explain(ml, new ExplainOptions
        {
            Interactions = true, Method = "tree-shap", MethodOptions = new Microsoft.ML.Attribution.Methods.TreeShapOptions { Algorithm = Microsoft.ML.Attribution.Tabular.TreeShapAlgorithm.Interventional },
        }));
        Assert.AreEqual(0, recorder.Fits, "no option error may wait for training");
    }

    [TestMethod]
    public void Interactions_OnAdultFastTree_Are14By14_SummingToAttributions()
    {
        var path = Support.SharedData.Require(AdultSample.RelativePath);
        var ml = new MLContext(seed: 1);
        var data = AdultSample.Load(ml, path);
        var pipeline = AdultSample.Featurize(ml)
            .Append(ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 50, numberOfLeaves: 20));
        var output = pipeline.Explain(ml, new ExplainOptions { Interactions = true }).Fit(data).Transform(data);
        Assert.AreEqual("Workclass × education", SlotNames(output.Schema["Interactions"])[1]);
        AssertRowsSumToAttributions(output, 14);
    }

    /// <summary>An estimator that counts its Fit calls.</summary>
    internal sealed class FitRecorder(IEstimator<ITransformer> inner) : IEstimator<ITransformer>
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

using System.Globalization;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Oracles;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Attribution.Tests.Tabular;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.Oracles;

[TestClass]
public sealed class MLNetForwardOracleTests
{
    /// <summary>
    /// Wine as raw columns of mixed types: four Single columns, Magnesium as Int32, and a synthetic categorical text
    /// column Region derived from hue (hue &gt; 1.0 → "north", hue &lt; 0.8 → "south", else "central"), with the binary
    /// label "is class 0".
    /// </summary>
    public sealed class RawWine
    {
        public float Alcohol { get; set; }
        public float Flavanoids { get; set; }
        public float ColorIntensity { get; set; }
        public float Proline { get; set; }
        public int Magnesium { get; set; }
        public string Region { get; set; } = "";
        public bool Label { get; set; }
    }

    private static readonly string[] RawFeatures = ["Alcohol", "Flavanoids", "ColorIntensity", "Proline", "Magnesium", "Region"];

    private static List<RawWine> ReadRaw() => File.ReadAllLines(WineTrees.CsvPath).Skip(1).Select(line =>
    {
        var v = line.Split(',').Select(s => float.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        return new RawWine
        {
            Alcohol = v[0], Flavanoids = v[6], ColorIntensity = v[9], Proline = v[12], Magnesium = (int)v[4],
            Region = v[10] > 1.0f ? "north" : v[10] < 0.8f ? "south" : "central", Label = v[13] == 0,
        };
    }).ToList();

    private static ITransformer RawPipeline(MLContext ml, IDataView data) =>
        ml.Transforms.Categorical.OneHotEncoding("RegionHot", "Region")
            .Append(ml.Transforms.Conversion.ConvertType("MagnesiumF", "Magnesium", DataKind.Single))
            .Append(ml.Transforms.Concatenate("Features", "Alcohol", "Flavanoids", "ColorIntensity", "Proline", "MagnesiumF", "RegionHot"))
            .Append(ml.BinaryClassification.Trainers.FastTree(numberOfTrees: 10, numberOfLeaves: 6, minimumExampleCountPerLeaf: 5))
            .Fit(data);

    private static void AssertScores(float[] expected, NdArray<float> actual, int outputs = 1)
    {
        CollectionAssert.AreEqual(new[] { expected.Length / outputs, outputs }, actual.Shape);
        for (int i = 0; i < expected.Length; i++) Assert.AreEqual(expected[i], actual.Data[i], 1e-6f, $"element {i}");
    }

    [TestMethod]
    public void RawColumns_OnOneHotConcatenateFastTreePipeline_GiveTheModelsOwnScores()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ReadRaw());
        var model = RawPipeline(ml, data);
        var oracle = new MLNetRawColumnOracle(model, data, RawFeatures);
        CollectionAssert.AreEqual(RawFeatures, oracle.FeatureNames.ToArray());
        Assert.IsTrue(oracle.IsCategorical(5));
        Assert.IsFalse(oracle.IsCategorical(4));
        CollectionAssert.AreEquivalent(new[] { "north", "south", "central" }, oracle.Categories(5).ToArray());
        var encoded = oracle.Encode(data);
        AssertScores(WineTrees.Scores(model, data), oracle.Forward(encoded));
    }

    [TestMethod]
    public void RawColumns_ReplacingAColumnWithABackgroundRowsValue_ScoresLikeTheEditedRow()
    {
        var ml = new MLContext(seed: 1);
        var rows = ReadRaw();
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = RawPipeline(ml, data);
        var oracle = new MLNetRawColumnOracle(model, data, RawFeatures);
        var encoded = oracle.Encode(data);
        // Row 0 takes row 150's Region and Proline: the oracle's decoding must equal scoring the edited raw row.
        var perturbed = new NdArray<float>(encoded.Row(0).ToArray(), 1, 6);
        perturbed.Data[5] = encoded.Row(150)[5];
        perturbed.Data[3] = encoded.Row(150)[3];
        var edited = rows[0];
        edited = new RawWine
        {
            Alcohol = edited.Alcohol, Flavanoids = edited.Flavanoids, ColorIntensity = edited.ColorIntensity, Magnesium = edited.Magnesium,
            Proline = rows[150].Proline, Region = rows[150].Region, Label = edited.Label,
        };
        Assert.AreNotEqual(rows[0].Region, rows[150].Region, "the test needs rows with different regions");
        var expected = WineTrees.Scores(model, ml.Data.LoadFromEnumerable([edited]));
        AssertScores(expected, oracle.Forward(perturbed));
    }

    [TestMethod]
    public void RawColumns_FractionalCategoryCode_IsRejected_NamingTheColumn()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ReadRaw());
        var oracle = new MLNetRawColumnOracle(RawPipeline(ml, data), data, RawFeatures);
        var row = oracle.Encode(data, maxRows: 1);
        row.Data[5] = 0.5f;
        var e = Assert.ThrowsExactly<ArgumentException>(() => oracle.Forward(row));
        StringAssert.Contains(e.Message, "'Region'");
        StringAssert.Contains(e.Message, "0.5");
    }

    [TestMethod]
    public void RawColumns_UnknownColumn_ListsTheDataColumns()
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(ReadRaw());
        var e = Assert.ThrowsExactly<ArgumentException>(() => new MLNetRawColumnOracle(RawPipeline(ml, data), data, ["Alcohol", "Hue"]));
        StringAssert.Contains(e.Message, "'Hue'");
        StringAssert.Contains(e.Message, "'Region'");
    }

    [TestMethod]
    public void FeatureVector_GivesTheModelsScores_AndSlotNamesFromTheHeader()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var model = ml.BinaryClassification.Trainers.FastTree("IsClass0", numberOfTrees: 10, numberOfLeaves: 6).Fit(data);
        var oracle = new MLNetForwardOracle(model, data);
        Assert.AreEqual("alcohol", oracle.FeatureNames[0]);
        Assert.AreEqual("proline", oracle.FeatureNames[12]);
        var rows = oracle.ReadFeatures(data);
        AssertScores(WineTrees.Scores(model, data), oracle.Forward(rows));
        var probability = new MLNetForwardOracle(model, data, scoreColumnName: "Probability");
        AssertScores(model.Transform(data).GetColumn<float>("Probability").ToArray(), probability.Forward(rows));
    }

    [TestMethod]
    public void FeatureVector_MulticlassChainThatMapsTheLabel_GivesOneOutputPerClass()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var model = ml.Transforms.Conversion.MapValueToKey("Key", "Label")
            .Append(ml.MulticlassClassification.Trainers.LightGbm("Key", numberOfIterations: 5, numberOfLeaves: 6))
            .Fit(data);
        var oracle = new MLNetForwardOracle(model, data);
        Assert.AreEqual(3, oracle.OutputCount);
        var expected = model.Transform(data).GetColumn<float[]>("Score").SelectMany(s => s).ToArray();
        AssertScores(expected, oracle.Forward(oracle.ReadFeatures(data)), outputs: 3);
    }

    [TestMethod]
    public void FeatureVector_FeatureAblationRunsOnTheOracle()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var model = ml.Regression.Trainers.FastTree(numberOfTrees: 10, numberOfLeaves: 6).Fit(data);
        var oracle = new MLNetForwardOracle(model, data);
        var rows = oracle.ReadFeatures(data, maxRows: 4);
        var result = new FeatureAblation(oracle).Attribute(rows);
        var ablated = rows.Clone();
        ablated.Row(2)[12] = 0;
        float expected = oracle.Forward(rows).Data[2] - oracle.Forward(ablated).Data[2];
        Assert.AreEqual(expected, result.Attributions.Row(2)[12], 1e-6f);
    }

    [TestMethod]
    public void MissingScoreColumn_NamesItAndListsTheModelsOutputs()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var model = ml.Regression.Trainers.FastTree(numberOfTrees: 2, numberOfLeaves: 4).Fit(data);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new MLNetForwardOracle(model, data, scoreColumnName: "Probability"));
        StringAssert.Contains(e.Message, "'Probability'");
        StringAssert.Contains(e.Message, "'Score'");
    }

    [TestMethod]
    public void WrongFeatureColumnType_NamesColumnExpectedAndActual()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var model = ml.Regression.Trainers.FastTree(numberOfTrees: 2, numberOfLeaves: 4).Fit(data);
        var e = Assert.ThrowsExactly<ArgumentException>(() => new MLNetForwardOracle(model, data, featureColumnName: "Label"));
        StringAssert.Contains(e.Message, "'Label'");
        StringAssert.Contains(e.Message, "Single");
        StringAssert.Contains(e.Message, "expected known-size Vector<Single>");
    }

    [TestMethod]
    public void BackgroundWithAnotherFeatureWidth_IsRejected()
    {
        var ml = new MLContext(seed: 1);
        var data = WineTrees.Load(ml);
        var model = ml.Regression.Trainers.FastTree(numberOfTrees: 2, numberOfLeaves: 4).Fit(data);
        var oracle = new MLNetForwardOracle(model, data);
        var e = Assert.ThrowsExactly<ArgumentException>(() => oracle.ReadFeatures(WineTrees.Load(ml, features: 9)));
        StringAssert.Contains(e.Message, "'Features'");
        StringAssert.Contains(e.Message, "Vector<Single, 9>");
        StringAssert.Contains(e.Message, "Vector<Single, 13>");
        e = Assert.ThrowsExactly<ArgumentException>(() => oracle.Forward(new NdArray<float>(3, 9)));
        StringAssert.Contains(e.Message, "[3, 9]");
    }
}

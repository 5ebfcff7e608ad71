using Microsoft.ML.Attribution.Tests.Support;
using Microsoft.ML.Attribution.MLNet;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>GetRowCursorSet on the explained view: disjoint blocks, read in parallel, whose union is the serial result.</summary>
[TestClass]
public sealed class CursorSetTests
{
    private static List<(int Row, float[] Values, long Batch)> Read(DataViewRowCursor cursor, DataViewSchema schema)
    {
        var index = cursor.GetGetter<int>(schema["RowIndex"]);
        var attributions = cursor.GetGetter<VBuffer<float>>(schema["Attributions"]);
        var rows = new List<(int, float[], long)>();
        int r = 0;
        VBuffer<float> buffer = default;
        long position = -1;
        while (cursor.MoveNext())
        {
            Assert.AreEqual(position + 1, cursor.Position, "positions count this cursor's rows");
            position = cursor.Position;
            index(ref r);
            attributions(ref buffer);
            rows.Add((r, buffer.DenseValues().ToArray(), cursor.Batch));
        }
        cursor.Dispose();
        return rows;
    }

    [TestMethod]
    public void CursorSet_OfOneToFourCursors_ReadInParallel_UnionEqualsTheSerialResultBitForBit()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Many(ml, 2500);
        foreach (var method in new[] { "saliency", "kernel-shap" })
        {
            var output = ml.Attribution().Explain(WineData.MlpPath, new ExplainOptions { Method = method, MethodOptions = SmallMethodOptions.For(method, samples: 40), BlockSize = 128 }).Fit(data).Transform(data);
            var columns = new[] { output.Schema["RowIndex"], output.Schema["Attributions"] };
            var serial = Read(output.GetRowCursor(columns), output.Schema);
            Assert.HasCount(2500, serial);
            for (int n = 1; n <= 4; n++)
            {
                var set = output.GetRowCursorSet(columns, n);
                Assert.AreEqual(n, set.Length, $"{method}: 20 blocks allow {n} cursors");
                var parts = new List<(int Row, float[] Values, long Batch)>[set.Length];
                Parallel.For(0, set.Length, i => parts[i] = Read(set[i], output.Schema));
                foreach (var part in parts)
                {
                    for (int k = 1; k < part.Count; k++)
                    {
                        Assert.IsGreaterThan(part[k - 1].Row, part[k].Row, $"{method}, n={n}: rows keep their order within a cursor");
                        Assert.IsGreaterThanOrEqualTo(part[k - 1].Batch, part[k].Batch, "batches (blocks) never go back");
                    }
                    Assert.IsTrue(part.All(p => p.Batch == p.Row / 128), "the batch is the block index");
                }
                var union = parts.SelectMany(p => p).OrderBy(p => p.Row).ToList();
                Assert.HasCount(2500, union, $"{method}, n={n}: rows out = rows in");
                CollectionAssert.AreEqual(Enumerable.Range(0, 2500).ToArray(), union.Select(p => p.Row).ToArray(), "disjoint and complete");
                for (int r = 0; r < union.Count; r++)
                    CollectionAssert.AreEqual(serial[r].Values, union[r].Values, $"{method}, n={n}, row {r}: bit for bit");
            }
        }
    }

    [TestMethod]
    public void CursorSet_AskedForMoreCursorsThanBlocks_GivesOnePerBlock_AndMLNetConsumersReadIt()
    {
        var ml = new MLContext(seed: 1);
        var data = WineData.Many(ml, 300);
        var output = ml.Attribution().Explain(WineData.MlpPath, new ExplainOptions { Method = "saliency", BlockSize = 128 }).Fit(data).Transform(data);
        var columns = new[] { output.Schema["RowIndex"], output.Schema["Attributions"] };
        Assert.HasCount(3, output.GetRowCursorSet(columns, 8), "300 rows in blocks of 128 make 3 blocks");
        // ML.NET's consumers read it: a normaliser and a trainer pass over the view through ML.NET's own cursor machinery.
        var serial = output.GetColumn<float[]>("Attributions").Select(a => a.Sum()).ToArray();
        var withLabel = ml.Transforms.CustomMapping<Sum, Labelled>((i, o) => o.Label = i.Attributions.Sum(), null).Fit(output).Transform(output);
        var trained = ml.Transforms.NormalizeMinMax("Attributions").Append(ml.Regression.Trainers.FastTree("Label", "Attributions", numberOfTrees: 5)).Fit(withLabel);
        Assert.HasCount(300, trained.Transform(withLabel).GetColumn<float>("Score").ToArray());
        CollectionAssert.AreEqual(serial, withLabel.GetColumn<float>("Label").ToArray());
    }

    private sealed class Sum
    {
        [VectorType(13)]
        public float[] Attributions { get; set; } = [];
    }

    private sealed class Labelled
    {
        public float Label { get; set; }
    }
}

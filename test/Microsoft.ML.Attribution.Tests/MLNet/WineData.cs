using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>The shipped wine CSV as ML.NET data (slot names from its header), standardised; shared by the MLNet tests.</summary>
internal static class WineData
{
    public static string MlpPath => Path.Combine(AppContext.BaseDirectory, "Fixtures", "wine_mlp", "model.onnx");

    public static IDataView Load(MLContext ml)
    {
        string csv = Path.Combine(AppContext.BaseDirectory, "Data", "wine.csv");
        var raw = ml.Data.CreateTextLoader([
            new TextLoader.Column("Features", DataKind.Single, 0, 12),
            new TextLoader.Column("Label", DataKind.Single, 13),
        ], separatorChar: ',', hasHeader: true, dataSample: new MultiFileSource(csv)).Load(csv);
        return ml.Transforms.NormalizeMeanVariance("Features", fixZero: false).Fit(raw).Transform(raw);
    }

    /// <summary>One row as a prediction engine's input.</summary>
    public sealed class Input
    {
        [VectorType(13)]
        public float[] Features { get; set; } = [];

        public float Label { get; set; }
    }

    /// <summary><paramref name="rows"/> rows cycled from the wine rows with a deterministic jitter, with their index.</summary>
    public static IDataView Many(MLContext ml, int rows, float? poison = null, int poisonRow = -1, int poisonSlot = -1)
    {
        var wine = Load(ml);
        var features = wine.GetColumn<float[]>("Features").ToArray();
        var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
        wine.Schema["Features"].GetSlotNames(ref slotNames);
        var items = Enumerable.Range(0, rows).Select(i =>
        {
            var f = features[i % features.Length].Select((v, j) => v + 0.001f * ((i * 31 + j * 7) % 17)).ToArray();
            if (i == poisonRow) f[poisonSlot] = poison!.Value;
            return new Indexed { Features = f, RowIndex = i };
        }).ToList();
        var definition = SchemaDefinition.Create(typeof(Indexed));
        definition["Features"].AddAnnotation("SlotNames", slotNames, new VectorDataViewType(TextDataViewType.Instance, 13));
        return ml.Data.LoadFromEnumerable(items, definition);
    }

    public sealed class Indexed
    {
        [VectorType(13)]
        public float[] Features { get; set; } = [];

        public int RowIndex { get; set; }
    }
}

namespace Microsoft.ML.Attribution.Tests.MLNet;

/// <summary>
/// A small tabular problem whose importances are known: y = 4·A + 2·B·C + 1.5·[D = "x"], with <c>Noise</c> a dummy the
/// label never reads. Four numeric source columns and one categorical (one-hot) one, as an ML.NET chain featurizes them.
/// </summary>
internal static class SyntheticTabular
{
    public sealed class Row
    {
        public float A { get; set; }

        public float B { get; set; }

        public float C { get; set; }

        public string D { get; set; } = "";

        public float Noise { get; set; }

        public float Label { get; set; }

        public bool Positive { get; set; }

        /// <summary>A relevance grade 0..4 from the label, for ranking.</summary>
        public float Grade { get; set; }

        /// <summary>A query id (ten rows each), for ranking.</summary>
        public string Query { get; set; } = "";
    }

    public static readonly string[] SourceNames = ["A", "B", "C", "D", "Noise"];

    public static Row[] Rows(int n, int seed = 7)
    {
        var random = new Random(seed);
        var categories = new[] { "x", "y", "z" };
        var rows = new Row[n];
        for (int i = 0; i < n; i++)
        {
            var row = new Row
            {
                A = (float)(random.NextDouble() * 2 - 1),
                B = (float)(random.NextDouble() * 2 - 1),
                C = (float)(random.NextDouble() * 2 - 1),
                D = categories[random.Next(categories.Length)],
                Noise = (float)(random.NextDouble() * 2 - 1),
            };
            row.Label = 4 * row.A + 2 * row.B * row.C + (row.D == "x" ? 1.5f : 0f);
            row.Positive = row.Label > 0.5f;
            row.Grade = Math.Clamp(MathF.Round(row.Label + 2), 0, 4);
            row.Query = $"q{i / 10}";
            rows[i] = row;
        }
        return rows;
    }

    public static IDataView Load(MLContext ml, int n = 400, int seed = 7) => ml.Data.LoadFromEnumerable(Rows(n, seed));

    /// <summary>One-hot D, then the five source columns concatenated into Features.</summary>
    public static IEstimator<ITransformer> Featurize(MLContext ml) =>
        ml.Transforms.Categorical.OneHotEncoding("D")
            .Append(ml.Transforms.Concatenate("Features", "A", "B", "C", "D", "Noise"));
}

using Microsoft.ML;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.TestData;

/// <summary>
/// The adult census data in ML.NET's sample shape (a text <c>Workclass</c>, a 7-wide <c>Categories</c> vector, a 6-wide
/// <c>NumericFeatures</c> vector; 503 one-hot slots in 14 source columns), shared by the tests and the benchmarks. The file
/// is in the workplace's ../shared/data, not in the repository.
/// </summary>
internal static class AdultSample
{
    /// <summary>The file's path inside the shared data folder.</summary>
    public const string RelativePath = "datasets/adult.tiny.with-schema.txt";

    /// <summary>
    /// The data file: ADULT_DATA, else under ATTRIBUTION_SHARED_DATA, else ../shared/data next to the checkout holding
    /// Attribution.sln; null when none exists.
    /// </summary>
    public static string? Find()
    {
        if (Environment.GetEnvironmentVariable("ADULT_DATA") is { Length: > 0 } file && File.Exists(file)) return file;
        if (Environment.GetEnvironmentVariable("ATTRIBUTION_SHARED_DATA") is { Length: > 0 } root && File.Exists(Path.Combine(root, RelativePath)))
            return Path.Combine(root, RelativePath);
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (!File.Exists(Path.Combine(dir.FullName, "Attribution.sln"))) continue;
            var candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "data", RelativePath));
            return File.Exists(candidate) ? candidate : null;
        }
        return null;
    }

    /// <summary>Loads the file in the sample's shape.</summary>
    public static IDataView Load(MLContext ml, string path) => ml.Data.LoadFromTextFile(path, new TextLoader.Options
    {
        HasHeader = true,
        Separators = ['\t'],
        Columns =
        [
            new TextLoader.Column("Label", DataKind.Boolean, 0),
            new TextLoader.Column("Workclass", DataKind.String, 1),
            new TextLoader.Column("Categories", DataKind.String, 2, 8),
            new TextLoader.Column("NumericFeatures", DataKind.Single, 9, 14),
        ],
    });

    /// <summary>The sample's featurizer: one-hot <c>Workclass</c> and <c>Categories</c>, concatenated with the numbers into <c>Features</c>.</summary>
    public static EstimatorChain<ColumnConcatenatingTransformer> Featurize(MLContext ml) =>
        ml.Transforms.Categorical.OneHotEncoding("Workclass")
            .Append(ml.Transforms.Categorical.OneHotEncoding("Categories"))
            .Append(ml.Transforms.Concatenate("Features", "Workclass", "Categories", "NumericFeatures"));
}

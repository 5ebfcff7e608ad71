namespace Microsoft.ML.Attribution.Tests.Support;

/// <summary>
/// Real models and datasets others made, in the workplace's ../shared/data (see its SOURCES.md). They are not part of the
/// repository, so tests that use them are skipped (inconclusive) where the folder is absent.
/// Override the location with ATTRIBUTION_SHARED_DATA.
/// </summary>
internal static class SharedData
{
    public static string? Root { get; } = Find();

    public static string Require(string relative)
    {
        if (Root is null) Assert.Inconclusive("../shared/data is not present (set ATTRIBUTION_SHARED_DATA); real-model tests skipped.");
        var path = Path.Combine(Root, relative);
        if (!File.Exists(path)) Assert.Inconclusive($"{path} is not present; real-model test skipped.");
        return path;
    }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("ATTRIBUTION_SHARED_DATA") is { Length: > 0 } env && Directory.Exists(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Attribution.sln")))
            {
                var candidate = Path.Combine(dir.FullName, "..", "shared", "data");
                return Directory.Exists(candidate) ? Path.GetFullPath(candidate) : null;
            }
        }
        return null;
    }
}

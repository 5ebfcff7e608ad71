// Issue 18: one silo vs the single-process path on the same job (median of alternated repeats).
// Run: dotnet run -c Release --project test/Microsoft.ML.Attribution.Orleans.Benchmarks -- [rows = 200000] [repeats = 3]
using System.Globalization;

Microsoft.ML.Attribution.Orleans.Benchmarks.ClusterOverheadProbe.Run(
    args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000,
    args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 3);

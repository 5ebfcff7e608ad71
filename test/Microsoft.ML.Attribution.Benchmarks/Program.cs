// Run: dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- --filter '*'
//      dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- memory 100000   (peak memory of IG)
using BenchmarkDotNet.Running;

if (args.Length == 2 && args[0] == "memory")
{
    Microsoft.ML.Attribution.Benchmarks.MemoryProbe.Run(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Microsoft.ML.Attribution.Benchmarks.MlpBenchmarks).Assembly).Run(args);

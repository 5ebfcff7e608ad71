// Run: dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- --filter '*'
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Microsoft.ML.Attribution.Benchmarks.MlpBenchmarks).Assembly).Run(args);

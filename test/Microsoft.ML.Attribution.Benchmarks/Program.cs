// Run: dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- --filter '*'
//      dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- memory 100000   (peak memory of IG)
//      dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- pipeline 10000 feature-ablation
//      dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- treeshap   (adult TreeSHAP rows/s, quick look)
//      dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- kshapgroups   (KernelSHAP groups vs slots: errors vs TreeSHAP)
//      dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- adultpipeline   (adult TreeSHAP through .Explain(mlContext), quick look)
//      dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- profile ig_resnet /tmp/prof [repeats]  (ORT profiler, per-op time; PROFILE_OFF=1: times only)
//      dotnet run -c Release --project test/Microsoft.ML.Attribution.Benchmarks -- firstcall model.onnx input.npy  (first-call phases)
using BenchmarkDotNet.Running;

if (args.Length == 3 && args[0] == "pipeline")
{
    Microsoft.ML.Attribution.Benchmarks.ExplainPipelineProbe.Run(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture), args[2]);
    return;
}
if (args.Length is 3 or 4 && args[0] == "profile")
{
    Microsoft.ML.Attribution.Benchmarks.ProfileProbe.Run(args[1], args[2],
        args.Length == 4 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 50);
    return;
}
if (args.Length == 3 && args[0] == "firstcall")
{
    Microsoft.ML.Attribution.Benchmarks.FirstCallProbe.Run(args[1], args[2]);
    return;
}
if (args.Length == 1 && args[0] == "treeshap")
{
    Microsoft.ML.Attribution.Benchmarks.AdultTreeShapProbe.Run();
    return;
}
if (args.Length == 1 && args[0] == "kshapgroups")
{
    Microsoft.ML.Attribution.Benchmarks.KernelShapGroupsProbe.Run();
    return;
}
if (args.Length == 1 && args[0] == "adultpipeline")
{
    Microsoft.ML.Attribution.Benchmarks.AdultPipelineProbe.Run();
    return;
}
if (args.Length == 2 && args[0] == "memory")
{
    Microsoft.ML.Attribution.Benchmarks.MemoryProbe.Run(int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture));
    return;
}
BenchmarkSwitcher.FromAssembly(typeof(Microsoft.ML.Attribution.Benchmarks.MlpBenchmarks).Assembly).Run(args);

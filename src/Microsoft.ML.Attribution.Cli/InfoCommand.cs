using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>
/// <c>mlnet-explain info</c>: the model's inputs and outputs, every tensor a user can pass to <c>--layer</c> (with its op and
/// inferred shape), and whether gradients can be built.
/// </summary>
internal static class InfoCommand
{
    public static IReadOnlySet<string> KnownOptions { get; } = new HashSet<string>(StringComparer.Ordinal) { "model" };

    public static int Run(CommandLine options, TextWriter stdout)
    {
        string path = options.Required("model", "(the ONNX model)");
        var model = OnnxModel.Load(path);
        string TypeOf(string name) => model.Types.TryGetValue(name, out var t) ? t.ToString() : "?";

        stdout.WriteLine($"model: {path} (opset {model.Opset}, {model.Graph.Node.Count} nodes)");
        stdout.WriteLine("inputs:");
        foreach (var input in model.Inputs) stdout.WriteLine($"  {input.Name}  {TypeOf(input.Name)}");
        stdout.WriteLine("outputs:");
        foreach (var output in model.Outputs) stdout.WriteLine($"  {output.Name}  {TypeOf(output.Name)}");
        stdout.WriteLine("tensors (usable as --layer):");
        foreach (var node in model.TopologicalOrder)
        {
            foreach (var output in node.Output.Where(o => o.Length > 0))
                stdout.WriteLine($"  {output}  {OnnxModel.OpName(node)}  {TypeOf(output)}");
        }
        var unsupported = model.TopologicalOrder
            .Where(n => GradientRuleSet.Standard.Find(n) is null && !GradientRuleSet.NonDifferentiableOps.Contains(n.OpType))
            .Select(OnnxModel.OpName).Distinct().ToList();
        stdout.WriteLine(unsupported.Count == 0
            ? "gradient support: all ops supported"
            : $"unsupported ops: {string.Join(", ", unsupported)} (gradient methods fail through them; use feature-ablation, occlusion or the SHAP methods)");
        return 0;
    }
}

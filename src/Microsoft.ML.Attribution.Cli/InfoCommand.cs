using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>
/// <c>mlnet-explain info M.onnx</c>: the model's inputs and outputs, every float tensor a user can pass to <c>--layer</c>
/// (with its op and inferred shape), whether gradients can be built, and which registry methods apply.
/// </summary>
internal static class InfoCommand
{
    public static IReadOnlySet<string> KnownOptions { get; } = new HashSet<string>(StringComparer.Ordinal) { "model" };

    public static int Run(CommandLine options, TextWriter stdout)
    {
        string path = options.Required("model", "(the ONNX model)");
        if (!File.Exists(path)) throw new FileNotFoundException($"model file '{path}' does not exist");
        var model = OnnxModel.Load(path);
        string TypeOf(string name) => model.Types.TryGetValue(name, out var t) ? t.ToString() : "?";

        stdout.WriteLine($"model: {path} (opset {model.Opset}, {model.Graph.Node.Count} nodes)");
        stdout.WriteLine("inputs:");
        foreach (var input in model.Inputs) stdout.WriteLine($"  {input.Name}  {TypeOf(input.Name)}");
        if (model.Inputs.Count > 1)
            stdout.WriteLine("  (several inputs: give each as --input NAME=FILE, attributed, or --fixed NAME=FILE, held at each row's values; " +
                "integer inputs are held, ablated to a baseline id, or attributed at their embedding with a layer method)");
        stdout.WriteLine("outputs (--output NAME; the first by default):");
        foreach (var output in model.Outputs) stdout.WriteLine($"  {output.Name}  {TypeOf(output.Name)}");
        stdout.WriteLine("layers (float tensors, usable as --layer by layer and neuron methods):");
        foreach (var node in model.TopologicalOrder)
        {
            foreach (var output in node.Output.Where(o => o.Length > 0))
            {
                if (model.Types.TryGetValue(output, out var type) && !type.IsFloating) continue;
                stdout.WriteLine($"  {output}  {OnnxModel.OpName(node)}  {TypeOf(output)}");
            }
        }
        var unsupported = model.TopologicalOrder
            .Where(n => GradientRuleSet.Standard.Find(n) is null && !GradientRuleSet.NonDifferentiableOps.Contains(n.OpType))
            .Select(OnnxModel.OpName).Distinct().ToList();
        stdout.WriteLine(unsupported.Count == 0
            ? "gradient support: all ops supported"
            : $"unsupported ops: {string.Join(", ", unsupported)} (gradient methods fail through them; use feature-ablation, occlusion or the SHAP methods)");

        bool tokenIds = model.Inputs.Count == 1 && model.Types.TryGetValue(model.Inputs[0].Name, out var inputType)
            && inputType.ElemType is OnnxDataType.Int64 or OnnxDataType.Int32;
        bool allIntegers = model.Inputs.Count > 1 && model.Inputs.All(i =>
            model.Types.TryGetValue(i.Name, out var t) && t.ElemType is OnnxDataType.Int64 or OnnxDataType.Int32);
        string? Blocker(AttributionMethod m) =>
            tokenIds && !m.Has(MethodCapabilities.TokenIds) ? "the input is token ids; this method needs float input"
            : allIntegers && m.Has(MethodCapabilities.Gradients) && (!m.Has(MethodCapabilities.TakesLayer) || m.Has(MethodCapabilities.AttributesToInput))
                ? "every input holds integers, which have no gradient; use a layer method at the embedding or a perturbation method"
            : m.Has(MethodCapabilities.Gradients) && unsupported.Count > 0 ? $"needs gradients through {string.Join(", ", unsupported)}"
            : null;
        var methods = ExplainCommand.CliMethods.Select(m => (Method: m, Blocker: Blocker(m))).ToList();
        stdout.WriteLine("methods that apply:");
        foreach (var (method, _) in methods.Where(m => m.Blocker is null))
            stdout.WriteLine($"  {method.Name}{(method.Has(MethodCapabilities.TakesLayer) ? "  (needs --layer)" : "")}");
        if (methods.Any(m => m.Blocker is not null))
        {
            stdout.WriteLine("methods that do not apply:");
            foreach (var (method, blocker) in methods.Where(m => m.Blocker is not null)) stdout.WriteLine($"  {method.Name}: {blocker}");
        }
        return 0;
    }
}

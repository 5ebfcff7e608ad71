using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;

namespace Microsoft.ML.Attribution.Autodiff;

/// <summary>The names a built gradient graph uses for its extra input and outputs.</summary>
internal sealed record GradientGraph(OnnxModel Model, string Output, string SeedInput, IReadOnlyList<string> Wrt,
    IReadOnlyList<string> GradientOutputs, GradientRuleSet Rules, IReadOnlyList<string> ExtraOutputs)
{
    public string RuleSet => Rules.Name;
}

/// <summary>
/// Reverse-mode differentiation into ONNX: extends a model with the backward pass of <c>output</c> with respect to
/// chosen tensors. The new graph takes an extra input, the seed (dOutput, shaped like the output), and returns the
/// gradients as extra outputs, using only standard ONNX ops so that any ONNX Runtime build executes it.
/// </summary>
internal static class GradientGraphBuilder
{
    public static string SeedName(string output) => $"{output}/seed";

    public static string GradientName(string tensor) => $"{tensor}/grad";

    /// <param name="model">The forward model.</param>
    /// <param name="output">The tensor to differentiate (any tensor of the graph).</param>
    /// <param name="wrt">Tensors to differentiate with respect to (graph inputs or intermediate tensors).</param>
    /// <param name="rules">The rule set; <see cref="GradientRuleSet.Standard"/> for true gradients.</param>
    /// <param name="extraOutputs">Forward tensors to return as well (e.g. a layer's activation).</param>
    /// <exception cref="UnsupportedOperatorException">An op between <paramref name="wrt"/> and the output has no rule.</exception>
    public static GradientGraph Build(OnnxModel model, string output, IReadOnlyList<string> wrt,
        GradientRuleSet? rules = null, IReadOnlyList<string>? extraOutputs = null)
    {
        rules ??= GradientRuleSet.Standard;
        model.RequireTensor(output);
        foreach (var w in wrt) model.RequireTensor(w);
        // LSTM, GRU and RNN are differentiated through their unrolled definition (backpropagation through time).
        (model, var refusedRecurrent) = RecurrentLowering.Lower(model);
        var outputType = model.Types.GetValueOrDefault(output);
        if (outputType is not null && !outputType.IsFloating && outputType.ElemType != OnnxDataType.Undefined)
            throw new ArgumentException($"Output '{output}' has type {OnnxDataType.Name(outputType.ElemType)}; only floating outputs can be differentiated.");

        var context = new GradientContext(model);
        var active = context.ActiveTensors;
        foreach (var w in wrt) active.Add(w);

        // Forward sweep: which tensors depend (through differentiable input slots) on a wrt tensor.
        var activeNodes = new List<NodeProto>();
        foreach (var node in model.TopologicalOrder)
        {
            var rule = rules.Find(node);
            bool nonDifferentiable = GradientRuleSet.NonDifferentiableOps.Contains(node.OpType);
            bool isActive = !nonDifferentiable && node.Input.Select((name, i) => (name, i))
                .Any(p => active.Contains(p.name) && (rule is null || rule.IsDifferentiable(node, p.i)));
            if (!isActive) continue;
            activeNodes.Add(node);
            foreach (var o in node.Output)
            {
                if (o.Length == 0) continue;
                var t = model.Types.GetValueOrDefault(o);
                if (t is null || t.IsFloating || t.ElemType == OnnxDataType.Undefined) active.Add(o);
            }
        }

        // Backward sweep: of those, which lie on a path to the output.
        var reaching = new HashSet<string>(StringComparer.Ordinal) { output };
        var relevant = new List<NodeProto>();
        for (int i = activeNodes.Count - 1; i >= 0; i--)
        {
            var node = activeNodes[i];
            if (!node.Output.Any(reaching.Contains)) continue;
            relevant.Add(node);
            foreach (var input in node.Input)
            {
                if (active.Contains(input)) reaching.Add(input);
            }
        }

        var unsupported = relevant.Where(n => rules.Find(n) is null).ToList();
        if (unsupported.Count > 0)
        {
            throw new UnsupportedOperatorException(
                unsupported.Select(OnnxModel.OpName).Distinct().ToList(),
                unsupported.Select(GradientContext.NodeLabel).ToList(),
                unsupported.Select(GradientContext.NodeLabel).Where(refusedRecurrent.ContainsKey)
                    .Select(n => $"{n}: {refusedRecurrent[n]}").ToList());
        }

        var contributions = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Contribute(string tensor, string gradient)
        {
            if (!contributions.TryGetValue(tensor, out var list)) contributions[tensor] = list = [];
            list.Add(gradient);
        }
        string? Accumulated(string tensor)
        {
            if (!contributions.TryGetValue(tensor, out var list) || list.Count == 0) return null;
            if (list.Count > 1)
            {
                // Contributions that only broadcast (reduction gradients) join a Sum unexpanded when a full-shape one
                // is there (Sum broadcasts from opset 8); if all of them only broadcast, so does their sum.
                bool allBroadcast = list.All(context.IsBroadcast);
                var terms = context.Opset >= 8 ? list : list.Select(t => context.Materialize(t)).ToList();
                var sum = context.Sum(terms);
                if (allBroadcast && context.Opset >= 8) sum = context.BroadcastTo(sum, tensor);
                list.Clear();
                list.Add(sum);
            }
            list[0] = context.Materialize(list[0]);
            return list[0];
        }

        string seed = SeedName(output);
        Contribute(output, seed);
        foreach (var node in relevant) // already in reverse topological order
        {
            var outputGradients = node.Output.Select(o => o.Length == 0 ? null : Accumulated(o)).ToArray();
            if (outputGradients.All(g => g is null)) continue;
            context.Current = node;
            var rule = rules.Find(node)!;
            var inputGradients = rule.Backward(context, node, outputGradients);
            for (int i = 0; i < node.Input.Count && i < inputGradients.Length; i++)
            {
                var input = node.Input[i];
                if (inputGradients[i] is { } gradient && active.Contains(input) && rule.IsDifferentiable(node, i))
                    Contribute(input, context.IsBroadcastToOther(gradient, input) ? context.Materialize(gradient, keepMark: true) : gradient);
            }
        }
        context.Current = null;

        var finalGradients = wrt.Select(w => Accumulated(w) ?? context.ZerosLike(w)).ToList();

        var proto = model.CloneProto();
        var graph = proto.Graph;
        graph.Node.AddRange(context.Nodes);
        graph.Initializer.AddRange(context.Initializers);
        var seedInfo = model.ValueInfo(output);
        seedInfo.Name = seed;
        graph.Input.Add(seedInfo);

        var gradientNames = new List<string>();
        var finalOutputs = new List<ValueInfoProto> { model.ValueInfo(output) };
        for (int i = 0; i < wrt.Count; i++)
        {
            string name = GradientName(wrt[i]);
            var identity = new NodeProto { OpType = "Identity", Name = name + "_node" };
            identity.Input.Add(finalGradients[i]);
            identity.Output.Add(name);
            graph.Node.Add(identity);
            var info = model.ValueInfo(wrt[i]);
            info.Name = name;
            finalOutputs.Add(info);
            gradientNames.Add(name);
        }
        foreach (var extra in extraOutputs ?? [])
        {
            model.RequireTensor(extra);
            if (extra != output) finalOutputs.Add(model.ValueInfo(extra));
        }
        graph.Output.Clear();
        graph.Output.AddRange(finalOutputs);
        graph.ValueInfo.Clear(); // recorded shapes may be stale after surgery; ORT re-infers
        // Rules emit the gradients of every input of a node; those of constants (weights, biases) and other inactive
        // tensors lead nowhere. ONNX Runtime keeps such dead nodes (10% of a transformer's backward pass was ReduceSums of
        // bias gradients), so they are removed here; the graph inputs (the seed included) stay.
        return new GradientGraph(OnnxModel.Prune(proto, keepInputs: true), output, seed, wrt.ToList(), gradientNames, rules, extraOutputs?.ToList() ?? []);
    }
}

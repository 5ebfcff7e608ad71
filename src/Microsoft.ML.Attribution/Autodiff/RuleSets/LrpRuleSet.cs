using Google.Protobuf;
using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.RuleSets;

/// <summary>
/// Layer-wise relevance propagation as a swapped rule set: the "gradient" the builder propagates is the relevance.
/// The rules with a denominator (ε, γ, αβ) need the node evaluated with changed weights (z'); those copies are added to
/// the forward model beside their node, reading the same input, with the changed weights as new initializers (so shape
/// inference and the optimised Conv gradient see them), before the backward graph is built. The rule of each node is
/// looked up by name, then op type (<see cref="LrpRules"/>); a relevant node without one stops the build with an
/// <see cref="UnsupportedOperatorException"/> naming it.
/// </summary>
internal static class LrpRuleSet
{
    private const double Stabilizer = 1e-9;

    /// <summary>The forward model with the rules' node copies added, and the rule set propagating relevance through it.</summary>
    public static (OnnxModel Model, GradientRuleSet Rules) Build(OnnxModel model, LrpRules table)
    {
        var proto = model.CloneProto();
        var graph = proto.Graph;
        var initializers = model.Initializers;
        // Output of a node -> the outputs of its copies with the rule's weights (positive and, for αβ, negative part).
        var copies = new Dictionary<string, (string? Positive, string? Negative)>(StringComparer.Ordinal);
        var nodes = graph.Node.ToList();
        graph.Node.Clear();
        int counter = 0;
        foreach (var node in nodes)
        {
            graph.Node.Add(node);
            var rule = table.For(node);
            if (rule is not (GammaLrpRule or AlphaBetaLrpRule) || node.Output.Count == 0) continue;
            var (weightSlot, biasSlot) = WeightSlots(node, initializers);
            if (weightSlot < 0) continue; // no weights: the rule acts as ε = 1e-9 (Captum changes nothing there)
            var w = initializers[node.Input[weightSlot]];
            var values = ReadDouble(w) ?? throw new NotSupportedException($"LRP: the weights '{w.Name}' of node '{GradientContext.NodeLabel(node)}' cannot be read.");
            string Copy(Func<double, double> weight, bool dropBias)
            {
                string tag = $"lrp/{counter++}";
                var changed = FromDouble($"{tag}/w", w.DataType, values.Select(weight).ToArray(), [.. w.Dims]);
                graph.Initializer.Add(changed);
                var copy = new NodeProto { OpType = node.OpType, Domain = node.Domain, Name = $"{tag}/{node.Name}" };
                copy.Input.AddRange(node.Input);
                copy.Input[weightSlot] = changed.Name;
                if (dropBias && biasSlot >= 0 && biasSlot < copy.Input.Count && copy.Input[biasSlot].Length > 0)
                {
                    var b = initializers.GetValueOrDefault(copy.Input[biasSlot]);
                    var zeros = FromDouble($"{tag}/b", b?.DataType ?? w.DataType, new double[b is null ? 0 : (int)b.Dims.Aggregate(1L, (p, d) => p * d)], b is null ? [0] : [.. b.Dims]);
                    if (node.OpType == "BatchNormalization" || b is not null)
                    {
                        graph.Initializer.Add(zeros);
                        copy.Input[biasSlot] = zeros.Name;
                    }
                }
                copy.Output.Add($"{tag}/z");
                copy.Attribute.AddRange(node.Attribute);
                graph.Node.Add(copy);
                return copy.Output[0];
            }
            copies[node.Output[0]] = rule switch
            {
                GammaLrpRule g => (Copy(v => v + g.Gamma * Math.Max(v, 0), g.SetBiasToZero), null),
                AlphaBetaLrpRule ab => (Copy(v => Math.Max(v, 0), ab.SetBiasToZero), ab.Beta != 0 ? Copy(v => Math.Min(v, 0), true) : null),
                _ => (null, null),
            };
        }
        var changedModel = OnnxModel.Load(proto.ToByteArray());
        var producers = changedModel.TopologicalOrder.SelectMany(n => n.Output.Select(o => (o, n))).Where(p => p.o.Length > 0)
            .GroupBy(p => p.o, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().n, StringComparer.Ordinal);

        string?[] Backward(GradientContext c, NodeProto n, string?[] g)
        {
            var rule = table.For(n) ?? throw new UnsupportedOperatorException([OnnxModel.OpName(n)], [GradientContext.NodeLabel(n)]);
            var standard = GradientRuleSet.Standard.Find(n) ?? throw new UnsupportedOperatorException([OnnxModel.OpName(n)], [GradientContext.NodeLabel(n)]);
            var dy = g[0];
            if (dy is null) return new string?[n.Input.Count];
            int[] active = Enumerable.Range(0, n.Input.Count).Where(i => n.Input[i].Length > 0 && c.IsActive(n.Input[i]) && standard.IsDifferentiable(n, i)).ToArray();
            if (rule is IdentityLrpRule)
            {
                // Elementwise and weighted one-input nodes hand the relevance on; reshapes and multi-input nodes route it as their gradient.
                bool sameShape = active.Length == 1 && (n.OpType is "Relu" or "LeakyRelu" or "Elu" or "Selu" or "Tanh" or "Sigmoid" or "Softplus" or "Gelu"
                    or "Dropout" or "Identity" || WeightSlots(n, c.Model.Initializers).Weight >= 0);
                if (!sameShape) return standard.Backward(c, n, g);
                var passed = new string?[n.Input.Count];
                passed[active[0]] = dy;
                return passed;
            }
            double epsilon = rule is EpsilonLrpRule e ? e.Epsilon : Stabilizer;
            var (positive, negative) = copies.GetValueOrDefault(n.Output[0]);
            var result = Ratio(c, n, positive is null ? n : producers[positive], dy, epsilon, active, standard);
            if (rule is AlphaBetaLrpRule ab && positive is not null)
            {
                int type = c.ElemTypeOf(n.Output[0]);
                for (int i = 0; i < result.Length; i++)
                {
                    if (result[i] is { } r && ab.Alpha != 1) result[i] = c.Mul(r, c.Scalar(ab.Alpha, type));
                }
                if (negative is not null)
                {
                    var minus = Ratio(c, n, producers[negative], dy, epsilon, active, standard);
                    for (int i = 0; i < result.Length; i++)
                    {
                        if (result[i] is { } r && minus[i] is { } m) result[i] = c.Sub(r, c.Mul(m, c.Scalar(ab.Beta, type)));
                    }
                }
            }
            return result;
        }

        var rules = new Dictionary<string, GradientRule>(StringComparer.Ordinal);
        foreach (var op in changedModel.TopologicalOrder.Where(n => table.For(n) is not null).Select(n => n.OpType).Distinct())
        {
            var standard = GradientRuleSet.Standard.OpTypes.Contains(op) ? GradientRuleSet.Standard.Find(new NodeProto { OpType = op }) : null;
            rules[op] = new GradientRule(Backward, standard?.DifferentiableInputs);
        }
        return (changedModel, new GradientRuleSet("lrp:" + table.Key, rules));
    }

    /// <summary>x ⊙ ∂z'/∂x ᵀ · (R / (z' + ε·sign z')) for every active input x of <paramref name="n"/>, with z' the output of <paramref name="evaluated"/>.</summary>
    private static string?[] Ratio(GradientContext c, NodeProto n, NodeProto evaluated, string dy, double epsilon, int[] active, GradientRule standard)
    {
        string z = evaluated.Output[0];
        int type = c.ElemTypeOf(n.Output[0]);
        var sign = c.Add(c.Emit("Sign", [z]), c.Mask(c.Emit("Equal", [z, c.Scalar(0, type)]), type));
        var scaled = c.Div(dy, c.Add(z, c.Mul(sign, c.Scalar(epsilon, type))));
        var outputs = new string?[evaluated.Output.Count];
        outputs[0] = scaled;
        var grads = standard.Backward(c, evaluated, outputs);
        var result = new string?[n.Input.Count];
        foreach (int i in active)
        {
            if (i < grads.Length && grads[i] is { } grad) result[i] = c.Mul(n.Input[i], grad);
        }
        return result;
    }

    /// <summary>The input slots of a node's weights and bias (both initializers), or −1.</summary>
    private static (int Weight, int Bias) WeightSlots(NodeProto node, IReadOnlyDictionary<string, TensorProto> initializers)
    {
        bool Init(int slot) => slot < node.Input.Count && node.Input[slot].Length > 0 && initializers.ContainsKey(node.Input[slot]);
        return node.OpType switch
        {
            "Conv" or "ConvTranspose" or "Gemm" or "BatchNormalization" when Init(1) => (1, 2),
            "MatMul" when Init(1) && !Init(0) => (1, -1),
            "MatMul" when Init(0) && !Init(1) => (0, -1),
            _ => (-1, -1),
        };
    }
}

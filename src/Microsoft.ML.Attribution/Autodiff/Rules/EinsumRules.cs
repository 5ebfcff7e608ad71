using Microsoft.ML.Attribution.Onnx.Proto;
using static Microsoft.ML.Attribution.Onnx.TensorProtos;

namespace Microsoft.ML.Attribution.Autodiff.Rules;

/// <summary>
/// Einsum with an explicit output and no ellipsis ("bij,bjk->bik", "bhqd,bhkd->bhqk", "nc,c->n", …). Y is linear in
/// each operand, so the gradient of operand i is itself an Einsum: dY contracted with the other operands, written in
/// operand i's subscripts. A letter that only operand i has (summed away in Y) is restored by broadcasting.
/// </summary>
internal static class EinsumRules
{
    public static IEnumerable<KeyValuePair<string, GradientRule>> All =>
    [
        new("Einsum", new(Einsum)),
    ];

    private static string?[] Einsum(GradientContext c, NodeProto n, string?[] g)
    {
        string equation = (String(n, "equation") ?? "").Replace(" ", "", StringComparison.Ordinal);
        int arrow = equation.IndexOf("->", StringComparison.Ordinal);
        string label = GradientContext.NodeLabel(n);
        if (arrow < 0 || equation.Contains("...", StringComparison.Ordinal))
            throw new InvalidOperationException(
                $"Einsum node '{label}' has equation '{equation}'; its gradient needs an explicit output ('->') and no ellipsis.");
        var operands = equation[..arrow].Split(',');
        string output = equation[(arrow + 2)..];
        if (operands.Any(o => o.Distinct().Count() != o.Length) || output.Distinct().Count() != output.Length)
            throw new InvalidOperationException($"Einsum node '{label}' repeats a letter within one term ('{equation}', a diagonal); that has no gradient rule.");

        var result = new string?[n.Input.Count];
        for (int i = 0; i < operands.Length; i++)
        {
            if (!c.IsActive(n.Input[i])) continue;
            string own = operands[i];
            var others = Enumerable.Range(0, operands.Length).Where(j => j != i).ToList();
            var available = new HashSet<char>(output.Concat(others.SelectMany(j => operands[j])));
            // Letters only operand i has were summed: dX is constant along them, so compute without and broadcast.
            string kept = new(own.Where(available.Contains).ToArray());
            string backward = string.Join(",", new[] { output }.Concat(others.Select(j => operands[j]))) + "->" + kept;
            string dx = c.Emit("Einsum", [g[0]!, .. others.Select(j => n.Input[j])], StringAttr("equation", backward));
            if (kept.Length != own.Length)
            {
                var missing = Enumerable.Range(0, own.Length).Where(k => !available.Contains(own[k])).Select(k => (long)k).ToArray();
                dx = c.Emit("Expand", [c.Unsqueeze(dx, missing), c.Emit("Shape", [n.Input[i]])]);
            }
            result[i] = dx;
        }
        return result;
    }
}

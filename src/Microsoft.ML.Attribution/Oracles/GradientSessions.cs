using System.Collections.Concurrent;
using Microsoft.ML.Attribution.Autodiff;
using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Runtime;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>
/// A built gradient graph as the oracles run it: its ONNX Runtime session and the names of its seed input and
/// gradient outputs (the graph itself is not kept: it may come from the disk cache, never parsed).
/// </summary>
internal sealed record GradientSession(string Output, string SeedInput, IReadOnlyList<string> Wrt, IReadOnlyList<string> GradientOutputs,
    GradientRuleSet Rules, IReadOnlyList<string> ExtraOutputs, OnnxSession Session);

/// <summary>
/// Gradient graphs shared by every oracle of a process and, with <see cref="RuntimeOptions.CacheDirectory"/>, kept
/// between processes: the key is the SHA-256 of the forward model's bytes with the output, the differentiated tensors,
/// the rule set and the extra outputs. On disk an index maps the key to the hash of the built graph, whose ONNX
/// Runtime-optimized form <see cref="OnnxSession.TryGet"/> loads — so a warm process neither builds nor optimizes it.
/// </summary>
internal static class GradientSessions
{
    /// <summary>Entries kept in memory; beyond this the table starts afresh (sessions held by oracles stay alive).</summary>
    private const int MaxEntries = 64;

    private static readonly ConcurrentDictionary<(string Key, RuntimeOptions Options), Lazy<GradientSession>> Entries = new();

    /// <summary>The gradient session of <paramref name="output"/> with respect to <paramref name="wrt"/>, built on first use.</summary>
    /// <param name="model">The forward model (only read when the graph must be built).</param>
    /// <param name="modelHash">SHA-256 of <paramref name="model"/>'s bytes.</param>
    /// <param name="output">The differentiated output.</param>
    /// <param name="wrt">The tensors the gradients are taken with respect to.</param>
    /// <param name="rules">The rule set.</param>
    /// <param name="extraOutputs">Forward tensors the graph returns as well.</param>
    /// <param name="options">Runtime settings (the disk cache's folder among them).</param>
    public static GradientSession Get(OnnxModel model, string modelHash, string output, IReadOnlyList<string> wrt, GradientRuleSet rules,
        IReadOnlyList<string>? extraOutputs, RuntimeOptions options)
    {
        var extras = extraOutputs ?? [];
        string key = string.Join("\n", [modelHash, output, string.Join("\u0001", wrt), rules.Name, string.Join("\u0001", extras)]);
        if (Entries.Count > MaxEntries) Entries.Clear();
        return Entries.GetOrAdd((key, options), _ => new Lazy<GradientSession>(() =>
            FromDisk(key, output, wrt, rules, extras, options) ?? Build(model, key, output, wrt, rules, extras, options))).Value;
    }

    /// <summary>How many gradient sessions this process holds (for tests).</summary>
    internal static int Count => Entries.Count;

    /// <summary>Forgets the in-memory table (for tests that need a second "process").</summary>
    internal static void ClearMemory() => Entries.Clear();

    private const string IndexKind = "gradient";

    private static GradientSession? FromDisk(string key, string output, IReadOnlyList<string> wrt, GradientRuleSet rules,
        IReadOnlyList<string> extras, RuntimeOptions options)
    {
        // Index lines: the gradient graph's hash, its seed input, then one gradient output per differentiated tensor.
        if (DiskCache.ReadIndex(options, IndexKind, key) is not { } lines || lines.Length != 2 + wrt.Count) return null;
        if (OnnxSession.TryGet(lines[0], options) is not { } session) return null;
        var gradients = lines[2..];
        if (!session.InputNames.Contains(lines[1]) || gradients.Any(g => !session.OutputNames.Contains(g))) return null;
        return new GradientSession(output, lines[1], wrt.ToList(), gradients, rules, extras.ToList(), session);
    }

    private static GradientSession Build(OnnxModel model, string key, string output, IReadOnlyList<string> wrt, GradientRuleSet rules,
        IReadOnlyList<string> extras, RuntimeOptions options)
    {
        var graph = GradientGraphBuilder.Build(model, output, wrt, rules, extras);
        // Float64 mode: backward ops without a float64 kernel (a Conv rule's ConvTranspose) run in float32 between Casts.
        if (options.Precision == ComputePrecision.Float64)
            graph = graph with { Model = Float64Conversion.WrapFloat32Only(graph.Model, options.RequireFloat64Kernels) };
        var session = OnnxSession.Get(graph.Model.ToBytes(), options);
        DiskCache.WriteIndex(options, IndexKind, key, [session.ModelHash, graph.SeedInput, .. graph.GradientOutputs]);
        return new GradientSession(output, graph.SeedInput, graph.Wrt, graph.GradientOutputs, graph.Rules, graph.ExtraOutputs, session);
    }
}

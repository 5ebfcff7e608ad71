using System.Reflection;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>
/// What an estimator chain will train, read before it trains (so option errors come before minutes of training), and
/// what a fitted chain holds that ML.NET does not expose. The one place that reads ML.NET by type names and reflection:
/// <c>EstimatorChain&lt;T&gt;.LastEstimator</c> is a public field of a generic type, and ML.NET's <c>OnnxTransformer</c>
/// keeps its model (path and bytes) non-public. If ML.NET changes these, the failure is a clear exception from here.
/// </summary>
internal static class ChainInspection
{
    /// <summary>What kind of predictor the last estimator of a chain trains, when it can be told without training.</summary>
    internal enum TrainerKind
    {
        /// <summary>Not known before training (a custom estimator, one-versus-all, …): checked after the chain is fitted.</summary>
        Unknown,

        /// <summary>A tree ensemble trainer (FastTree, FastForest, LightGBM): TreeSHAP applies.</summary>
        Trees,

        /// <summary>An ML.NET trainer that gives no tree ensemble (linear, GAM, k-means, …).</summary>
        NotTrees,

        /// <summary>ML.NET's ApplyOnnxModel: the model is an ONNX graph.</summary>
        Onnx,
    }

    private static readonly string[] TreeTrainerPrefixes = ["FastTree", "FastForest", "LightGbm"];

    /// <summary>The last estimator of a chain (nested chains unwrapped), or the estimator itself.</summary>
    public static object LastEstimator(object estimator)
    {
        for (int depth = 0; depth < 64; depth++)
        {
            var type = estimator.GetType();
            if (!type.IsGenericType || type.GetGenericTypeDefinition() != typeof(EstimatorChain<>)) return estimator;
            var field = type.GetField("LastEstimator", BindingFlags.Instance | BindingFlags.Public)
                ?? throw new NotSupportedException("This ML.NET version has no public field EstimatorChain<T>.LastEstimator; the chain's trainer cannot be inspected.");
            if (field.GetValue(estimator) is not { } last) return estimator;
            estimator = last;
        }
        return estimator;
    }

    /// <summary>The kind of predictor <paramref name="estimator"/>'s chain trains (by the last estimator's ML.NET type).</summary>
    public static TrainerKind Classify(object estimator)
    {
        var last = LastEstimator(estimator);
        var type = last.GetType();
        if (type.FullName == "Microsoft.ML.Transforms.Onnx.OnnxScoringEstimator") return TrainerKind.Onnx;
        bool trainer = type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ITrainerEstimator<,>));
        if (!trainer || type.Namespace?.StartsWith("Microsoft.ML.Trainers", StringComparison.Ordinal) != true) return TrainerKind.Unknown;
        // One-versus-all and pairwise coupling wrap another trainer: what they give depends on it.
        if (type.Name is "OneVersusAllTrainer" or "PairwiseCouplingTrainer") return TrainerKind.Unknown;
        return TreeTrainerPrefixes.Any(p => type.Name.StartsWith(p, StringComparison.Ordinal)) ? TrainerKind.Trees : TrainerKind.NotTrees;
    }

    /// <summary>What ML.NET's <c>OnnxTransformer</c> holds: the model bytes and its input and output column names.</summary>
    internal sealed record OnnxStep(byte[] ModelBytes, string[] Inputs, string[] Outputs);

    private const BindingFlags Any = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;

    /// <summary>
    /// The ONNX model of ML.NET's ApplyOnnxModel, from its estimator (<c>OnnxScoringEstimator</c>, a trivial estimator
    /// holding its transformer) or its transformer (<c>OnnxTransformer</c>, whose non-public <c>Model</c> is an
    /// <c>OnnxModel</c> keeping the model as ToByteArray(), ModelFile or, in ML.NET 6, a ModelStream).
    /// </summary>
    /// <exception cref="NotSupportedException">ML.NET's internals are not where this version expects them.</exception>
    public static OnnxStep Onnx(object estimatorOrTransformer)
    {
        object transformer = estimatorOrTransformer;
        if (transformer.GetType().FullName == "Microsoft.ML.Transforms.Onnx.OnnxScoringEstimator")
            transformer = Member(transformer, "Transformer") ?? throw Changed("OnnxScoringEstimator no longer keeps its OnnxTransformer in a 'Transformer' field");
        if (transformer.GetType().FullName != "Microsoft.ML.Transforms.Onnx.OnnxTransformer")
            throw new ArgumentException($"{transformer.GetType().Name} is not ML.NET's OnnxTransformer.");
        var model = Member(transformer, "Model") ?? throw Changed("OnnxTransformer no longer has a non-public 'Model'");
        byte[] bytes;
        if (model.GetType().GetMethod("ToByteArray", Any, Type.EmptyTypes) is { } toBytes && toBytes.ReturnType == typeof(byte[]))
            bytes = (byte[])toBytes.Invoke(model, null)!;
        else if (Member(model, "ModelFile") is string file && File.Exists(file))
            bytes = File.ReadAllBytes(file);
        else if (Member(model, "ModelStream") is FileStream { Name: var name } && File.Exists(name))
            bytes = File.ReadAllBytes(name);
        else if (Member(model, "ModelStream") is Stream { CanSeek: true } stream)
        {
            lock (stream)
            {
                long position = stream.Position;
                using var copy = new MemoryStream();
                stream.Position = 0;
                stream.CopyTo(copy);
                stream.Position = position;
                bytes = copy.ToArray();
            }
        }
        else throw Changed("OnnxModel has no ToByteArray(), ModelFile or seekable ModelStream");
        var inputs = Member(transformer, "Inputs") as string[] ?? throw Changed("OnnxTransformer no longer has 'Inputs' (string[])");
        var outputs = Member(transformer, "Outputs") as string[] ?? throw Changed("OnnxTransformer no longer has 'Outputs' (string[])");
        return new OnnxStep(bytes, inputs, outputs);
    }

    /// <summary>A field or property of any visibility, declared on the type or a base type; null when absent.</summary>
    private static object? Member(object target, string name)
    {
        for (var type = target.GetType(); type is not null; type = type.BaseType)
        {
            if (type.GetField(name, Any | BindingFlags.DeclaredOnly) is { } field) return field.GetValue(target);
            if (type.GetProperty(name, Any | BindingFlags.DeclaredOnly) is { GetMethod: not null } property) return property.GetValue(target);
        }
        return null;
    }

    private static NotSupportedException Changed(string what) =>
        new($"Reading the ONNX model of an ApplyOnnxModel step: {what} in this ML.NET version (read by reflection in ChainInspection). " +
            "Explain the ONNX file directly with mlContext.Attribution().Explain(onnxModelPath) instead.");
}

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
}

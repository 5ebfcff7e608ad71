using System.Reflection;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;

namespace Microsoft.ML.Attribution.Tabular;

/// <summary>
/// The trees of a fitted ML.NET tree model, read through the public
/// <see cref="TreeEnsembleModelParametersBasedOnRegressionTree.TrainedTreeEnsemble"/> API and flattened for fast
/// evaluation and TreeSHAP. Each output (1, or one per class) is <c>bias + Σ weight·scale·tree(x)</c>: the model's
/// <i>raw</i> score.
/// </summary>
/// <remarks>
/// <para>Supported: FastTree regression/binary/ranking/Tweedie, FastForest regression (trees averaged) and binary
/// (trees summed), LightGBM regression/binary/ranking (its initial score is folded into tree 0 by ML.NET) and
/// multiclass (one ensemble per class, read from the one-versus-all model). For calibrated binary models the trees come
/// from <see cref="CalibratedModelParametersBase.SubModel"/> and the raw score (the <c>Score</c> column) is explained,
/// not the calibrated <c>Probability</c>. For Tweedie <c>Score = exp(raw)</c>; for multiclass <c>Score</c> is a
/// normalisation (softmax or normalised calibrated one-versus-all) of the per-class raw scores.</para>
/// <para>Splits go left when <c>x[feature] ≤ threshold</c>. Missing values follow the model's own semantics: ML.NET's
/// trees replace a NaN by a per-node default value (<c>DefaultValueForMissing</c>, set for LightGBM models from their
/// missing-value type and default direction) before comparing, and without such defaults NaN goes right (the comparison
/// is false). The defaults are not public, so they are read once per tree by reflection in one place
/// (<see cref="Tree.ReadMissingDefaults"/>), which throws <see cref="NotSupportedException"/> naming the member if an
/// ML.NET version moves them; each node then stores the side a NaN takes. Trees with categorical splits are not
/// supported.</para>
/// </remarks>
public sealed class TreeEnsemble
{
    private TreeEnsemble(Tree[] trees, double[] bias, string explained, string? featureColumnName)
    {
        Trees = trees;
        Bias = bias;
        Explained = explained;
        FeatureColumnName = featureColumnName;
        MinimumFeatureCount = trees.Length == 0 ? 0 : trees.Max(t => t.Feature.Length == 0 ? 0 : t.Feature.Max() + 1);
    }

    internal Tree[] Trees { get; }

    internal double[] Bias { get; }

    /// <summary>Raw outputs per row: 1, or the number of classes.</summary>
    public int OutputCount => Bias.Length;

    /// <summary>Number of trees over all outputs.</summary>
    public int TreeCount => Trees.Length;

    /// <summary>One more than the largest feature index any split uses: rows must be at least this wide.</summary>
    public int MinimumFeatureCount { get; }

    /// <summary>What the outputs are, in words (e.g. "raw score before Platt calibration").</summary>
    public string Explained { get; }

    /// <summary>The predictor's feature column when read from a transformer; null when read from model parameters.</summary>
    public string? FeatureColumnName { get; }

    /// <summary>Reads the trees of the last prediction transformer in <paramref name="model"/> (a chain or a single one).</summary>
    /// <exception cref="NotSupportedException">The model holds no supported tree predictor.</exception>
    public static TreeEnsemble FromTransformer(ITransformer model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var predictor = FindPredictor(model)
            ?? throw new NotSupportedException($"{model.GetType().Name} holds no prediction transformer; give the fitted chain that ends in a tree trainer.");
        string? feature = (predictor as ISingleFeaturePredictionTransformer<object>)?.FeatureColumnName;
        var read = Read(predictor.Model);
        return new TreeEnsemble(read.Trees, read.Bias, read.Explained, feature);
    }

    /// <summary>Reads the trees of fitted model parameters (e.g. <c>transformer.Model</c>).</summary>
    /// <exception cref="NotSupportedException">The parameters are not a supported tree model.</exception>
    public static TreeEnsemble FromModelParameters(object modelParameters)
    {
        ArgumentNullException.ThrowIfNull(modelParameters);
        var read = Read(modelParameters);
        return new TreeEnsemble(read.Trees, read.Bias, read.Explained, null);
    }

    /// <summary>The raw score of each output for one row.</summary>
    public double[] Evaluate(ReadOnlySpan<float> row)
    {
        RequireWidth(row.Length);
        var result = (double[])Bias.Clone();
        foreach (var tree in Trees) result[tree.Output] += tree.Value[tree.Leaf(row)];
        return result;
    }

    internal void RequireWidth(int width)
    {
        if (width < MinimumFeatureCount)
            throw new ArgumentException($"Rows have {width} features but the trees split on feature index {MinimumFeatureCount - 1}.");
    }

    private static IPredictionTransformer<object>? FindPredictor(ITransformer model)
    {
        if (model is IPredictionTransformer<object> p) return p;
        if (model is IEnumerable<ITransformer> chain)
            return chain.Reverse().Select(FindPredictor).FirstOrDefault(t => t is not null);
        return null;
    }

    private sealed record Reading(Tree[] Trees, double[] Bias, string Explained);

    private static Reading Read(object parameters)
    {
        switch (parameters)
        {
            case CalibratedModelParametersBase calibrated:
            {
                var inner = Read(calibrated.SubModel);
                return inner with { Explained = $"{inner.Explained}, before {calibrated.Calibrator?.GetType().Name ?? "the"} calibration (the Score column)" };
            }
            case OneVersusAllModelParameters ova:
            {
                var trees = new List<Tree>();
                var subs = OneVersusAllSubModels(ova);
                var bias = new double[subs.Length];
                for (int k = 0; k < subs.Length; k++)
                {
                    var inner = Read(subs[k] is CalibratedModelParametersBase c ? c.SubModel : subs[k]);
                    if (inner.Bias.Length != 1) throw new NotSupportedException("Nested multi-output tree models are not supported.");
                    bias[k] = inner.Bias[0];
                    trees.AddRange(inner.Trees.Select(t => t.ForOutput(k)));
                }
                return new Reading([.. trees], bias, "per-class raw scores (before the one-versus-all normalisation or softmax that gives Score)");
            }
            case FastForestRegressionModelParameters forest:
                return FromEnsemble(forest.TrainedTreeEnsemble, 1.0 / Math.Max(1, forest.TrainedTreeEnsemble.Trees.Count), "the score (average of the trees)");
            case FastTreeTweedieModelParameters tweedie:
                return FromEnsemble(tweedie.TrainedTreeEnsemble, 1, "raw score (log of Score: Tweedie's Score = exp(raw))");
            case TreeEnsembleModelParametersBasedOnRegressionTree regression:
                return FromEnsemble(regression.TrainedTreeEnsemble, 1, "raw score (sum of the trees)");
            case TreeEnsembleModelParametersBasedOnQuantileRegressionTree quantile:
                return FromEnsemble(quantile.TrainedTreeEnsemble, 1, "raw score (sum of the trees)");
            default:
                throw new NotSupportedException($"{parameters.GetType().Name} is not a tree ensemble TreeSHAP can read; supported: FastTree, " +
                    "FastForest and LightGBM models (regression, binary, ranking, LightGBM multiclass).");
        }
    }

    // OneVersusAllModelParameters keeps its per-class predictors in a non-public property; this is the one place the
    // library reaches past ML.NET's public API, and it fails with a clear message if ML.NET renames it.
    private static object[] OneVersusAllSubModels(OneVersusAllModelParameters ova)
    {
        var property = typeof(OneVersusAllModelParameters).GetProperty("SubModelParameters", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
            ?? throw new NotSupportedException("This ML.NET version hides OneVersusAllModelParameters' per-class models; multiclass TreeSHAP cannot read them.");
        return ((System.Collections.IEnumerable)property.GetValue(ova)!).Cast<object>().ToArray();
    }

    private static Reading FromEnsemble<T>(TreeEnsemble<T> ensemble, double scale, string explained) where T : RegressionTreeBase
    {
        var trees = new Tree[ensemble.Trees.Count];
        for (int t = 0; t < trees.Length; t++) trees[t] = Tree.From(ensemble.Trees[t], t, ensemble.TreeWeights[t] * scale);
        return new Reading(trees, [ensemble.Bias], explained);
    }
}

/// <summary>
/// One tree flattened: internal nodes <c>0..n−1</c> then leaves <c>n..n+L−1</c>; <see cref="Value"/> holds the leaf
/// values already multiplied by the tree's weight and scale.
/// </summary>
internal sealed class Tree
{
    public required int[] Feature { get; init; }

    public required float[] Threshold { get; init; }

    public required int[] Left { get; init; }

    public required int[] Right { get; init; }

    /// <summary>Indexed by node; only leaves hold values.</summary>
    public required double[] Value { get; init; }

    public int InternalCount => Feature.Length;

    public int NodeCount => Value.Length;

    /// <summary>Internal nodes on the longest root-to-leaf path.</summary>
    public required int Depth { get; init; }

    public int Output { get; init; }

    public bool IsLeaf(int node) => node >= Feature.Length;

    public Tree ForOutput(int output) => new()
    {
        Feature = Feature, Threshold = Threshold, Left = Left, Right = Right, Value = Value, Depth = Depth, Output = output,
        NanGoesLeft = NanGoesLeft,
    };

    /// <summary>Per internal node, whether a NaN value of its feature goes left (the model's missing-value routing).</summary>
    public required bool[] NanGoesLeft { get; init; }

    /// <summary>Whether <paramref name="value"/> of node <paramref name="node"/>'s feature goes left, NaN included.</summary>
    public bool GoesLeft(int node, float value) => float.IsNaN(value) ? NanGoesLeft[node] : value <= Threshold[node];

    public int Child(int node, float value) => GoesLeft(node, value) ? Left[node] : Right[node];

    public int Leaf(ReadOnlySpan<float> row)
    {
        int node = 0;
        while (node < Feature.Length) node = Child(node, row[Feature[node]]);
        return node;
    }

    public static Tree From(RegressionTreeBase source, int index, double weight)
    {
        int n = source.NumberOfNodes;
        int leaves = source.NumberOfLeaves;
        for (int i = 0; i < n; i++)
        {
            if (source.CategoricalSplitFlags[i])
                throw new NotSupportedException($"Tree {index} node {i} splits on a categorical feature set; TreeSHAP here supports numerical splits only " +
                    "(train without categorical splits, e.g. one-hot encode instead).");
        }
        int Child(int c) => c < 0 ? n + ~c : c;
        var value = new double[n + leaves];
        for (int l = 0; l < leaves; l++) value[n + l] = source.LeafValues[l] * weight;
        var threshold = source.NumericalSplitThresholds.ToArray();
        var defaults = ReadMissingDefaults(source, index);
        var nanLeft = new bool[n];
        // ML.NET compares the default (as float) with the threshold exactly as it compares a present value.
        for (int i = 0; i < n && defaults is not null; i++) nanLeft[i] = (float)defaults[i] <= threshold[i];
        var tree = new Tree
        {
            Feature = source.NumericalSplitFeatureIndexes.ToArray(),
            Threshold = threshold,
            NanGoesLeft = nanLeft,
            Left = source.LeftChild.Select(Child).ToArray(),
            Right = source.RightChild.Select(Child).ToArray(),
            Value = value,
            Depth = n == 0 ? 0 : DepthOf(source.LeftChild, source.RightChild, 0),
        };
        return tree;
    }

    private static readonly System.Reflection.FieldInfo? InternalTreeField = typeof(RegressionTreeBase)
        .GetFields(BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
        .FirstOrDefault(f => f.FieldType.Name == "InternalRegressionTree");

    /// <summary>
    /// The per-node value ML.NET substitutes for a NaN feature (null when the tree has none: NaN then goes right).
    /// ML.NET keeps it on its internal tree (<c>InternalRegressionTree.DefaultValueForMissing</c>) behind the public
    /// <see cref="RegressionTreeBase"/>; this is the one place that reads it.
    /// </summary>
    internal static double[]? ReadMissingDefaults(RegressionTreeBase source, int index)
    {
        const string Hint = "so TreeSHAP cannot follow its missing-value routing; report the ML.NET version.";
        var inner = (InternalTreeField ?? throw new NotSupportedException(
            $"This ML.NET version keeps no InternalRegressionTree inside {nameof(RegressionTreeBase)} (tree {index}), {Hint}")).GetValue(source)
            ?? throw new NotSupportedException($"Tree {index} has no internal regression tree, {Hint}");
        var type = inner.GetType();
        const BindingFlags Any = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;
        object? value = type.GetProperty("DefaultValueForMissing", Any) is { } property ? property.GetValue(inner)
            : type.GetField("DefaultValueForMissing", Any) is { } field ? field.GetValue(inner)
            : throw new NotSupportedException($"{type.Name} has no DefaultValueForMissing member in this ML.NET version (tree {index}), {Hint}");
        return value switch
        {
            null => null,
            double[] d => d,
            float[] f => Array.ConvertAll(f, v => (double)v),
            _ => throw new NotSupportedException($"{type.Name}.DefaultValueForMissing is a {value.GetType().Name} (tree {index}), {Hint}"),
        };
    }

    private static int DepthOf(IReadOnlyList<int> left, IReadOnlyList<int> right, int node) =>
        node < 0 ? 0 : 1 + Math.Max(DepthOf(left, right, left[node]), DepthOf(left, right, right[node]));
}

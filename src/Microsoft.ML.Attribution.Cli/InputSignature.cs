using Microsoft.ML.Attribution.Onnx;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>The attributed model input as the graph declares it; data files are checked against it before any run.</summary>
internal sealed class InputSignature
{
    private readonly TensorType? _type;

    private InputSignature(string name, TensorType? type) => (Name, _type) = (name, type);

    /// <summary>The model input's name.</summary>
    public string Name { get; }

    /// <summary>Names an .npz or JSON object's array may have for this input, best first.</summary>
    public IReadOnlyList<string> Names => [Name, "input", "inputs", "x", "arr_0"];

    /// <summary>The input holds integers (token ids).</summary>
    public bool TakesIntegers => _type?.ElemType is OnnxDataType.Int64 or OnnxDataType.Int32;

    public static InputSignature Of(OnnxModel model, string path)
    {
        if (model.Inputs.Count == 0) throw new InvalidDataException($"model '{path}' has no inputs");
        if (model.Inputs.Count > 1)
            throw new UsageException($"model '{path}' has {model.Inputs.Count} inputs ({string.Join(", ", model.Inputs.Select(i => i.Name))}); " +
                $"give each as --input NAME=FILE (attributed) or --fixed NAME=FILE (held), e.g. --input {model.Inputs[0].Name}=FILE");
        return ForInput(model, model.Inputs[0].Name);
    }

    /// <summary>The signature of model input <paramref name="name"/> (one input of a multi-input model).</summary>
    public static InputSignature ForInput(OnnxModel model, string name) => new(name, model.Types.TryGetValue(name, out var type) ? type : null);

    /// <summary>
    /// The data, reshaped from flat CSV rows where the model's row shape is known, after checking rows, dtype and shape.
    /// <paramref name="allowBroadcast"/>: baselines and masks may be one row (or a row without the batch axis).
    /// </summary>
    public DataArray Check(DataArray data, string option, bool allowBroadcast = false, bool checkDtype = true)
    {
        var shape = data.Shape;
        if (shape.Length == 0 || shape[0] == 0)
            throw new UsageException($"--{option} '{data.Path}' has 0 rows (shape {data.ShapeText})");
        if (checkDtype && TakesIntegers != data.IsInteger)
            throw new UsageException($"--{option} '{data.Path}' holds {data.Dtype}; model input '{Name}' takes {OnnxDataType.Name(_type!.ElemType)}" +
                (TakesIntegers ? " token ids" : ""));
        var declared = _type?.Shape;
        if (declared is null || declared.Length == 0) return data;
        var rowDims = declared[1..];
        // CSV (and any 2-D data) is flat rows: give it the model's row shape when that shape is fully known.
        if (shape.Length == 2 && declared.Length > 2 && rowDims.All(d => d.IsKnown) && rowDims.Aggregate(1L, (p, d) => p * d.Value!.Value) == shape[1])
        {
            data = data.Reshape([shape[0], .. rowDims.Select(d => (int)d.Value!.Value)]);
            shape = data.Shape;
        }
        if (allowBroadcast) return data;
        bool fits = shape.Length == declared.Length
            && shape.Skip(1).Zip(rowDims).All(p => !p.Second.IsKnown || p.Second.Value == p.First);
        if (!fits)
            throw new UsageException($"--{option} '{data.Path}' has shape {data.ShapeText}; model input '{Name}' is {_type} " +
                $"(rows of {NdArray<float>.FormatShape(rowDims.Select(d => d.IsKnown ? (int)d.Value!.Value : -1).ToArray()).Replace("-1", "?", StringComparison.Ordinal)})");
        return data;
    }

    /// <summary>The output's values per row when the graph declares them all, else null.</summary>
    public static int? OutputWidth(OnnxModel model, string? outputName)
    {
        string name = outputName ?? model.Outputs[0].Name;
        if (!model.Types.TryGetValue(name, out var type) || type.Shape is null || type.Shape.Length == 0) return null;
        long width = 1;
        foreach (var d in type.Shape[1..])
        {
            if (!d.IsKnown) return null;
            width *= d.Value!.Value;
        }
        return (int)width;
    }
}

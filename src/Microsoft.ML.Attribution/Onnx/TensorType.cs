namespace Microsoft.ML.Attribution.Onnx;

/// <summary>One dimension of a tensor shape: a known size, a named symbolic size (e.g. <c>batch</c>), or unknown.</summary>
internal readonly record struct Dim(long? Value, string? Symbol)
{
    public static Dim Known(long value) => new(value, null);
    public static Dim Symbolic(string symbol) => new(null, symbol);
    public static readonly Dim Unknown = new(null, null);

    public bool IsKnown => Value.HasValue;

    /// <summary>Two dims are certainly equal when both are the same known value or the same symbol.</summary>
    public bool SameAs(Dim other) =>
        (Value.HasValue && other.Value.HasValue && Value == other.Value) ||
        (Symbol is not null && Symbol == other.Symbol);

    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Symbol ?? "?";
}

/// <summary>Element type and (possibly partial) shape of a tensor; <see cref="Shape"/> is null when even the rank is unknown.</summary>
internal sealed record TensorType(int ElemType, Dim[]? Shape)
{
    public int? Rank => Shape?.Length;

    public bool IsFloating => ElemType is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16;

    public string ShapeText => Shape is null ? "[?]" : "[" + string.Join(", ", Shape.Select(d => d.ToString())) + "]";

    public override string ToString() => $"{OnnxDataType.Name(ElemType)}{ShapeText}";
}

/// <summary>ONNX <c>TensorProto.DataType</c> codes used by the library.</summary>
internal static class OnnxDataType
{
    public const int Undefined = 0;
    public const int Float = 1;
    public const int Uint8 = 2;
    public const int Int8 = 3;
    public const int Int32 = 6;
    public const int Int64 = 7;
    public const int String = 8;
    public const int Bool = 9;
    public const int Float16 = 10;
    public const int Double = 11;

    public static string Name(int type) => type switch
    {
        Float => "float32",
        Double => "float64",
        Float16 => "float16",
        Int64 => "int64",
        Int32 => "int32",
        Int8 => "int8",
        Uint8 => "uint8",
        Bool => "bool",
        String => "string",
        _ => $"type{type}",
    };
}

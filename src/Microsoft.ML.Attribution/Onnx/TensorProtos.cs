using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.Attribution.Onnx.Proto;

namespace Microsoft.ML.Attribution.Onnx;

/// <summary>Reading values out of, and building, ONNX <see cref="TensorProto"/>s.</summary>
internal static class TensorProtos
{
    public static int[] Dims(TensorProto t) => t.Dims.Select(d => checked((int)d)).ToArray();

    /// <summary>The values of an integer tensor (int64/int32/others) as longs; null if the type is not integral.</summary>
    public static long[]? ReadInt64(TensorProto t)
    {
        if (t.DataLocation == 1) return null; // external data: not needed for shape computations
        switch (t.DataType)
        {
            case OnnxDataType.Int64:
                return t.RawData.Length > 0 ? MemoryMarshal.Cast<byte, long>(t.RawData.Span).ToArray() : t.Int64Data.ToArray();
            case OnnxDataType.Int32:
                return t.RawData.Length > 0
                    ? MemoryMarshal.Cast<byte, int>(t.RawData.Span).ToArray().Select(v => (long)v).ToArray()
                    : t.Int32Data.Select(v => (long)v).ToArray();
            default:
                return null;
        }
    }

    /// <summary>The values of a floating tensor as doubles; null if the type is not float32/float64.</summary>
    public static double[]? ReadDouble(TensorProto t)
    {
        if (t.DataLocation == 1) return null;
        return t.DataType switch
        {
            OnnxDataType.Float => t.RawData.Length > 0
                ? MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray().Select(v => (double)v).ToArray()
                : t.FloatData.Select(v => (double)v).ToArray(),
            OnnxDataType.Double => t.RawData.Length > 0
                ? MemoryMarshal.Cast<byte, double>(t.RawData.Span).ToArray()
                : t.DoubleData.ToArray(),
            _ => null,
        };
    }

    public static TensorProto FromInt64(string name, long[] values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = OnnxDataType.Int64 };
        t.Dims.AddRange(dims);
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        return t;
    }

    /// <summary>A floating tensor of the given element type (float32 or float64).</summary>
    public static TensorProto FromDouble(string name, int elemType, double[] values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = elemType };
        t.Dims.AddRange(dims);
        t.RawData = elemType switch
        {
            OnnxDataType.Float => ByteString.CopyFrom(MemoryMarshal.AsBytes(values.Select(v => (float)v).ToArray().AsSpan())),
            OnnxDataType.Double => ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())),
            _ => throw new NotSupportedException($"Constants of type {OnnxDataType.Name(elemType)} are not supported."),
        };
        return t;
    }

    public static AttributeProto? Attribute(NodeProto node, string name) => node.Attribute.FirstOrDefault(a => a.Name == name);

    public static long Int(NodeProto node, string name, long fallback) => Attribute(node, name) is { } a ? a.I : fallback;

    public static float Float(NodeProto node, string name, float fallback) => Attribute(node, name) is { } a ? a.F : fallback;

    public static long[]? Ints(NodeProto node, string name) => Attribute(node, name)?.Ints.ToArray();

    public static string? String(NodeProto node, string name) => Attribute(node, name)?.S.ToStringUtf8();

    public static AttributeProto IntAttr(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto FloatAttr(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto IntsAttr(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    public static AttributeProto StringAttr(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto TensorAttr(string name, TensorProto value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };

    public static TensorType TypeOf(ValueInfoProto vi)
    {
        var tt = vi.Type?.TensorType;
        if (tt is null) return new TensorType(OnnxDataType.Undefined, null);
        Dim[]? shape = tt.Shape is null
            ? null
            : tt.Shape.Dim.Select(d => d.ValueCase switch
            {
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => Dim.Known(d.DimValue),
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam when d.DimParam.Length > 0 => Dim.Symbolic(d.DimParam),
                _ => Dim.Unknown,
            }).ToArray();
        return new TensorType(tt.ElemType, shape);
    }
}

using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Attribution.Tensors;

/// <summary>
/// Reads and writes NumPy <c>.npy</c> files (format versions 1–3, C order, little-endian).
/// float32, float64, int64 and int32 arrays are read; float64 is narrowed to float32 on request.
/// </summary>
public static partial class Npy
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>The element type and shape stored in a <c>.npy</c> header.</summary>
    public sealed record Header(string Descr, int[] Shape);

    /// <summary>Reads a float array; float64 and integer files are converted to float32.</summary>
    public static NdArray<float> ReadFloat(string path)
    {
        using var stream = OpenForRead(path);
        var header = ReadHeader(stream, path);
        var shape = header.Shape;
        int n = checked((int)NdArray<float>.ShapeSize(shape));
        var result = new float[n];
        switch (header.Descr)
        {
            case "<f4":
                ReadExactly(stream, System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.AsSpan()), path);
                break;
            case "<f8":
                {
                    var tmp = new double[n];
                    ReadExactly(stream, System.Runtime.InteropServices.MemoryMarshal.AsBytes(tmp.AsSpan()), path);
                    for (int i = 0; i < n; i++) result[i] = (float)tmp[i];
                    break;
                }
            case "<i8":
                {
                    var tmp = new long[n];
                    ReadExactly(stream, System.Runtime.InteropServices.MemoryMarshal.AsBytes(tmp.AsSpan()), path);
                    for (int i = 0; i < n; i++) result[i] = tmp[i];
                    break;
                }
            case "<i4":
                {
                    var tmp = new int[n];
                    ReadExactly(stream, System.Runtime.InteropServices.MemoryMarshal.AsBytes(tmp.AsSpan()), path);
                    for (int i = 0; i < n; i++) result[i] = tmp[i];
                    break;
                }
            default:
                throw new InvalidDataException($"'{path}' holds dtype '{header.Descr}'; expected float32 ('<f4'), float64, int64 or int32.");
        }
        return new NdArray<float>(result, shape);
    }

    /// <summary>Reads an integer array (int64 or int32 files; float files holding whole numbers are accepted).</summary>
    public static NdArray<long> ReadInt64(string path)
    {
        using var stream = OpenForRead(path);
        var header = ReadHeader(stream, path);
        int n = checked((int)NdArray<long>.ShapeSize(header.Shape));
        var result = new long[n];
        switch (header.Descr)
        {
            case "<i8":
                ReadExactly(stream, System.Runtime.InteropServices.MemoryMarshal.AsBytes(result.AsSpan()), path);
                break;
            case "<i4":
                {
                    var tmp = new int[n];
                    ReadExactly(stream, System.Runtime.InteropServices.MemoryMarshal.AsBytes(tmp.AsSpan()), path);
                    for (int i = 0; i < n; i++) result[i] = tmp[i];
                    break;
                }
            case "<f4":
            case "<f8":
                {
                    stream.Position = 0;
                    var floats = ReadFloat(path);
                    for (int i = 0; i < n; i++)
                    {
                        float v = floats.Data[i];
                        if (v != MathF.Round(v))
                            throw new InvalidDataException($"'{path}' must hold integers; element {i} is {v.ToString(CultureInfo.InvariantCulture)}.");
                        result[i] = (long)v;
                    }
                    break;
                }
            default:
                throw new InvalidDataException($"'{path}' holds dtype '{header.Descr}'; expected int64 ('<i8') or int32.");
        }
        return new NdArray<long>(result, header.Shape);
    }

    /// <summary>Reads only the header (dtype and shape).</summary>
    public static Header ReadHeader(string path)
    {
        using var stream = OpenForRead(path);
        return ReadHeader(stream, path);
    }

    /// <summary>Writes a float32 array.</summary>
    public static void Write(string path, NdArray<float> array) =>
        Write(path, "<f4", array.Shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(array.Data.AsSpan()));

    /// <summary>Writes an int64 array.</summary>
    public static void Write(string path, NdArray<long> array) =>
        Write(path, "<i8", array.Shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(array.Data.AsSpan()));

    private static void Write(string path, string descr, int[] shape, ReadOnlySpan<byte> payload)
    {
        string shapeText = shape.Length == 1 ? $"({shape[0]},)" : "(" + string.Join(", ", shape) + ")";
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";
        // Header length (magic + version + length field + dict + newline) is padded to a multiple of 64.
        int unpadded = Magic.Length + 2 + 2 + dict.Length + 1;
        int padding = (64 - unpadded % 64) % 64;
        string headerText = dict + new string(' ', padding) + "\n";
        using var stream = File.Create(path);
        stream.Write(Magic);
        stream.WriteByte(1);
        stream.WriteByte(0);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)headerText.Length);
        stream.Write(len);
        stream.Write(Encoding.ASCII.GetBytes(headerText));
        stream.Write(payload);
    }

    private static FileStream OpenForRead(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"File '{path}' does not exist.", path);
        return File.OpenRead(path);
    }

    private static Header ReadHeader(Stream stream, string path)
    {
        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(stream, prefix, path);
        if (!prefix[..6].SequenceEqual(Magic))
            throw new InvalidDataException($"'{path}' is not a .npy file (bad magic).");
        int major = prefix[6];
        int headerLength;
        if (major == 1)
        {
            Span<byte> l = stackalloc byte[2];
            ReadExactly(stream, l, path);
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(l);
        }
        else if (major is 2 or 3)
        {
            Span<byte> l = stackalloc byte[4];
            ReadExactly(stream, l, path);
            headerLength = checked((int)BinaryPrimitives.ReadUInt32LittleEndian(l));
        }
        else
        {
            throw new InvalidDataException($"'{path}' uses .npy format version {major}, which is not supported.");
        }
        var headerBytes = new byte[headerLength];
        ReadExactly(stream, headerBytes, path);
        string text = Encoding.ASCII.GetString(headerBytes);

        var descr = DescrPattern().Match(text);
        var fortran = FortranPattern().Match(text);
        var shape = ShapePattern().Match(text);
        if (!descr.Success || !shape.Success)
            throw new InvalidDataException($"'{path}' has an unreadable .npy header: {text.Trim()}");
        if (fortran.Success && fortran.Groups[1].Value == "True")
            throw new InvalidDataException($"'{path}' is stored in Fortran order; save it in C order (numpy.ascontiguousarray).");
        string d = descr.Groups[1].Value.Replace('=', '<').Replace('|', '<');
        if (d.StartsWith('>'))
            throw new InvalidDataException($"'{path}' is big-endian ('{d}'); save it little-endian.");
        var dims = new List<int>();
        foreach (var part in shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out int dim))
                throw new InvalidDataException($"'{path}' has an invalid dimension '{part}' in its shape ({shape.Groups[1].Value}).");
            dims.Add(dim);
        }
        long count = 1;
        foreach (var dim in dims) count = dim == 0 ? 0 : count > int.MaxValue / dim ? long.MaxValue : count * dim;
        if (count > int.MaxValue)
            throw new InvalidDataException($"'{path}' has shape ({shape.Groups[1].Value}): too many elements for one array.");
        // Refuse to allocate for data the file does not hold.
        int itemSize = d.Length == 3 && int.TryParse(d.AsSpan(2), out int size) ? size : 1;
        if (stream.CanSeek && stream.Length - stream.Position < count * itemSize)
            throw new InvalidDataException($"'{path}' is truncated: its header declares shape ({shape.Groups[1].Value}) of '{d}' " +
                $"({count * itemSize} bytes), but only {stream.Length - stream.Position} bytes follow.");
        return new Header(d, dims.ToArray());
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string path)
    {
        try { stream.ReadExactly(buffer); }
        catch (EndOfStreamException) { throw new InvalidDataException($"'{path}' is truncated."); }
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']+)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}

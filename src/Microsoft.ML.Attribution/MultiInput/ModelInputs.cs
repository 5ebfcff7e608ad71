using System.Collections;
using Microsoft.ML.Attribution.Tensors;

namespace Microsoft.ML.Attribution.MultiInput;

/// <summary>
/// Tensors by model input name, for models with several inputs (an image and its metadata, token ids with their
/// attention mask and type ids): float32 features or int64 token ids, each <c>[N, …]</c> with the same N.
/// Supports collection initializers: <c>new ModelInputs { { "image", image }, { "meta", meta } }</c>.
/// </summary>
public sealed class ModelInputs : IEnumerable<string>
{
    private readonly Dictionary<string, Array> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int[]> _shapes = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];

    /// <summary>Adds float32 values for input <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentException">The name is already present, or the tensor has no batch axis.</exception>
    public ModelInputs Add(string name, NdArray<float> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return Put(name, values.Data, values.Shape);
    }

    /// <summary>Adds int64 values (token ids, masks, type ids) for input <paramref name="name"/>; narrowed for int32 inputs.</summary>
    public ModelInputs Add(string name, NdArray<long> tokenIds)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        return Put(name, tokenIds.Data, tokenIds.Shape);
    }

    private ModelInputs Put(string name, Array data, int[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (_data.ContainsKey(name)) throw new ArgumentException($"Input '{name}' is given twice.", nameof(name));
        if (shape.Length == 0) throw new ArgumentException($"Input '{name}' must have a batch axis; got a scalar.", nameof(name));
        _data[name] = data;
        _shapes[name] = shape;
        _names.Add(name);
        return this;
    }

    /// <summary>The input names, in the order they were added.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>The number of inputs.</summary>
    public int Count => _names.Count;

    /// <summary>True when <paramref name="name"/> is present.</summary>
    public bool Contains(string name) => _data.ContainsKey(name);

    /// <summary>True when input <paramref name="name"/> holds int64 values rather than float32.</summary>
    public bool IsTokenIds(string name) => Require(name) is long[];

    /// <summary>The shape of input <paramref name="name"/>.</summary>
    public int[] Shape(string name)
    {
        Require(name);
        return (int[])_shapes[name].Clone();
    }

    /// <summary>Input <paramref name="name"/> as float32 values.</summary>
    /// <exception cref="ArgumentException">The input holds int64 values.</exception>
    public NdArray<float> Floats(string name) => Require(name) is float[] f ? new NdArray<float>(f, _shapes[name])
        : throw new ArgumentException($"Input '{name}' holds int64 values, not float32.");

    /// <summary>Input <paramref name="name"/> as int64 values.</summary>
    /// <exception cref="ArgumentException">The input holds float32 values.</exception>
    public NdArray<long> TokenIds(string name) => Require(name) is long[] l ? new NdArray<long>(l, _shapes[name])
        : throw new ArgumentException($"Input '{name}' holds float32 values, not int64.");

    /// <summary>The common row count (first axis) of every input.</summary>
    /// <exception cref="ArgumentException">Inputs disagree on the batch size (the message lists each input's shape).</exception>
    public int Rows
    {
        get
        {
            if (_names.Count == 0) throw new ArgumentException("No inputs were given.");
            var rows = _names.Select(n => _shapes[n][0]).Distinct().ToList();
            if (rows.Count > 1)
                throw new ArgumentException("Inputs disagree on the batch size (first axis): " +
                    string.Join(", ", _names.Select(n => $"'{n}' {NdArray<float>.FormatShape(_shapes[n])}")) + ".");
            return rows[0];
        }
    }

    internal Array Data(string name) => Require(name);

    /// <summary>Rows [start, start + count) of every tensor with <paramref name="rows"/> rows; tensors of other row counts as they are.</summary>
    internal ModelInputs Slice(int start, int count, int rows)
    {
        var slice = new ModelInputs();
        foreach (var name in _names)
        {
            var data = _data[name];
            var shape = _shapes[name];
            if (shape[0] != rows || (start == 0 && count == rows))
            {
                slice.Put(name, data, shape);
                continue;
            }
            int size = data.Length / Math.Max(1, rows);
            var part = Array.CreateInstance(data.GetType().GetElementType()!, count * size);
            Array.Copy(data, start * size, part, 0, count * size);
            slice.Put(name, part, [count, .. shape[1..]]);
        }
        return slice;
    }

    internal int[] ShapeOf(string name) => _shapes[name];

    private Array Require(string name) => _data.TryGetValue(name, out var data) ? data
        : throw new ArgumentException($"No input named '{name}'; given: {string.Join(", ", _names)}.");

    /// <inheritdoc />
    public IEnumerator<string> GetEnumerator() => _names.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>Maps one raw column's values to one float slot and back (see <see cref="MLNetRawColumnOracle"/>).</summary>
internal abstract class RawColumnCodec
{
    protected RawColumnCodec(DataViewSchema.Column column) => Column = column;

    public DataViewSchema.Column Column { get; }

    public abstract bool IsCategorical { get; }

    public virtual IReadOnlyList<object> Categories => [];

    /// <summary>Learns the categories from the data (no-op for numeric columns).</summary>
    public virtual void Observe(IDataView data) { }

    /// <summary>A reader of the current row's slot value from a cursor over this column.</summary>
    public abstract Func<float> Reader(DataViewRowCursor cursor, DataViewSchema.Column column);

    /// <summary>Throws a clear error when <paramref name="value"/> cannot be decoded.</summary>
    public abstract void Check(float value, int row);

    /// <summary>The column's values for every row of a batch, decoded from slot <paramref name="feature"/>.</summary>
    public abstract BatchColumn Decode(Tensors.NdArray<float> inputs, int feature);

    public static RawColumnCodec For(DataViewSchema.Column column)
    {
        var type = column.Type;
        if (type == NumberDataViewType.Single) return new Numeric<float>(column, v => v, v => v);
        if (type == NumberDataViewType.Double) return new Numeric<double>(column, v => (float)v, v => v);
        if (type == NumberDataViewType.Int32) return new Numeric<int>(column, v => v, v => (int)MathF.Round(v));
        if (type == NumberDataViewType.Int64) return new Numeric<long>(column, v => v, v => (long)MathF.Round(v));
        if (type == BooleanDataViewType.Instance) return new Categorical<bool>(column, v => v);
        if (type == TextDataViewType.Instance) return new Categorical<ReadOnlyMemory<char>>(column, v => v.ToString());
        if (type is KeyDataViewType { RawType: var raw } && raw == typeof(uint)) return new Categorical<uint>(column, v => v);
        throw new ArgumentException($"Column '{column.Name}' has type {type}; a raw feature column must be Single, Double, Int32, Int64, " +
            "Boolean, String or a UInt32 key (vectors: use MLNetForwardOracle on the feature vector).");
    }

    private sealed class Numeric<T>(DataViewSchema.Column column, Func<T, float> toFloat, Func<float, T> fromFloat) : RawColumnCodec(column)
    {
        public override bool IsCategorical => false;

        public override Func<float> Reader(DataViewRowCursor cursor, DataViewSchema.Column column)
        {
            var getter = cursor.GetGetter<T>(column);
            T value = default!;
            return () =>
            {
                getter(ref value);
                return toFloat(value);
            };
        }

        public override void Check(float value, int row)
        {
            if (!float.IsFinite(value))
                throw new ArgumentException($"Column '{Column.Name}' gets {value} in row {row}; values must be finite.");
        }

        public override BatchColumn Decode(Tensors.NdArray<float> inputs, int feature)
        {
            var values = new T[inputs.Rows];
            for (int r = 0; r < values.Length; r++) values[r] = fromFloat(inputs.Data[r * inputs.RowSize + feature]);
            return BatchColumn.Scalar(Column.Name, Column.Type, values, Column.Annotations);
        }
    }

    /// <summary>Codes index the values in order of first appearance; <typeparamref name="T"/> values are keyed by <c>key</c>.</summary>
    private sealed class Categorical<T>(DataViewSchema.Column column, Func<T, object> key) : RawColumnCodec(column)
    {
        private readonly List<T> _values = [];
        private readonly Dictionary<object, int> _codes = [];

        public override bool IsCategorical => true;

        public override IReadOnlyList<object> Categories => _values.Select(key).ToArray();

        public override void Observe(IDataView data)
        {
            using var cursor = data.GetRowCursor([Column]);
            var getter = cursor.GetGetter<T>(Column);
            T value = default!;
            while (cursor.MoveNext())
            {
                getter(ref value);
                if (_codes.TryAdd(key(value), _values.Count)) _values.Add(value);
            }
            if (_values.Count == 0)
                throw new ArgumentException($"Column '{Column.Name}' has no rows to learn its categories from.");
        }

        public override Func<float> Reader(DataViewRowCursor cursor, DataViewSchema.Column column)
        {
            var getter = cursor.GetGetter<T>(column);
            T value = default!;
            return () =>
            {
                getter(ref value);
                return _codes.TryGetValue(key(value), out int code) ? code
                    : throw new ArgumentException($"Column '{Column.Name}' holds '{key(value)}', a value not seen when the oracle was built.");
            };
        }

        public override void Check(float value, int row)
        {
            if (!(value >= 0 && value < _values.Count && value == MathF.Floor(value)))
                throw new ArgumentException($"Column '{Column.Name}' is categorical: row {row} carries {value}, not a code in 0..{_values.Count - 1}. " +
                    "Only methods that replace a feature by a baseline row's value apply to raw categorical columns.");
        }

        public override BatchColumn Decode(Tensors.NdArray<float> inputs, int feature)
        {
            var values = new T[inputs.Rows];
            for (int r = 0; r < values.Length; r++) values[r] = _values[(int)inputs.Data[r * inputs.RowSize + feature]];
            return BatchColumn.Scalar(Column.Name, Column.Type, values, Column.Annotations);
        }
    }
}

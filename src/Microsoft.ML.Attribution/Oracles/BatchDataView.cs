using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.Oracles;

/// <summary>
/// One in-memory column of a <see cref="BatchDataView"/>: its type, annotations, and a getter factory over row positions.
/// </summary>
internal abstract class BatchColumn
{
    protected BatchColumn(string name, DataViewType type, DataViewSchema.Annotations? annotations)
    {
        Name = name;
        Type = type;
        Annotations = annotations;
    }

    public string Name { get; }

    public DataViewType Type { get; }

    public DataViewSchema.Annotations? Annotations { get; }

    /// <summary>A getter reading the row the cursor stands on; <paramref name="position"/> gives that row.</summary>
    public abstract Delegate MakeGetter(Func<int> position);

    /// <summary>A scalar column over an array.</summary>
    public static BatchColumn Scalar<T>(string name, DataViewType type, T[] values, DataViewSchema.Annotations? annotations = null) =>
        new ScalarColumn<T>(name, type, values, annotations);

    /// <summary>A known-size vector column over a row-major array of <c>rows × size</c> elements.</summary>
    public static BatchColumn Vector<T>(string name, VectorDataViewType type, T[] values, DataViewSchema.Annotations? annotations = null) =>
        new VectorColumn<T>(name, type, values, annotations);

    /// <summary>
    /// A column holding the default value of its type in every row (a zero-filled vector for known-size vectors): it
    /// stands in for input columns the scorer does not read, such as a label that the fitted chain still maps.
    /// </summary>
    public static BatchColumn Default(string name, DataViewType type, DataViewSchema.Annotations? annotations)
    {
        Type raw = type.RawType;
        if (type is VectorDataViewType vector)
        {
            var method = typeof(BatchColumn).GetMethod(nameof(DefaultVector), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
            return (BatchColumn)method.MakeGenericMethod(vector.ItemType.RawType).Invoke(null, [name, vector, annotations])!;
        }
        var scalar = typeof(BatchColumn).GetMethod(nameof(DefaultScalar), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
        return (BatchColumn)scalar.MakeGenericMethod(raw).Invoke(null, [name, type, annotations])!;
    }

    private static BatchColumn DefaultScalar<T>(string name, DataViewType type, DataViewSchema.Annotations? annotations) =>
        new ConstantColumn<T>(name, type, default!, annotations);

    private static BatchColumn DefaultVector<T>(string name, VectorDataViewType type, DataViewSchema.Annotations? annotations) =>
        new ConstantColumn<VBuffer<T>>(name, type, new VBuffer<T>(type.Size, 0, [], []), annotations);

    private sealed class ScalarColumn<T>(string name, DataViewType type, T[] values, DataViewSchema.Annotations? annotations)
        : BatchColumn(name, type, annotations)
    {
        public override Delegate MakeGetter(Func<int> position) => new ValueGetter<T>((ref T value) => value = values[position()]);
    }

    private sealed class ConstantColumn<T>(string name, DataViewType type, T value, DataViewSchema.Annotations? annotations)
        : BatchColumn(name, type, annotations)
    {
        public override Delegate MakeGetter(Func<int> position) => new ValueGetter<T>((ref T v) => v = value);
    }

    private sealed class VectorColumn<T>(string name, VectorDataViewType type, T[] values, DataViewSchema.Annotations? annotations)
        : BatchColumn(name, type, annotations)
    {
        public override Delegate MakeGetter(Func<int> position)
        {
            int size = type.Size;
            return new ValueGetter<VBuffer<T>>((ref VBuffer<T> value) =>
            {
                var editor = VBufferEditor.Create(ref value, size);
                values.AsSpan(position() * size, size).CopyTo(editor.Values);
                value = editor.Commit();
            });
        }
    }
}

/// <summary>
/// A read-only <see cref="IDataView"/> over in-memory columns: one batch of rows to score with one
/// <see cref="ITransformer.Transform"/> call. Cursors are independent, so ML.NET may open several at once.
/// </summary>
internal sealed class BatchDataView : IDataView
{
    private readonly BatchColumn[] _columns;
    private readonly int _rows;

    public BatchDataView(int rows, IReadOnlyList<BatchColumn> columns)
    {
        _rows = rows;
        _columns = [.. columns];
        var builder = new DataViewSchema.Builder();
        foreach (var c in _columns) builder.AddColumn(c.Name, c.Type, c.Annotations);
        Schema = builder.ToSchema();
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _rows;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded.Select(c => c.Index).ToHashSet());

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly BatchDataView _view;
        private readonly Delegate?[] _getters;
        private int _position = -1;

        public Cursor(BatchDataView view, HashSet<int> active)
        {
            _view = view;
            _getters = new Delegate?[view._columns.Length];
            for (int i = 0; i < _getters.Length; i++)
            {
                if (active.Contains(i)) _getters[i] = view._columns[i].MakeGetter(() => _position);
            }
        }

        public override long Position => _position;

        public override long Batch => 0;

        public override DataViewSchema Schema => _view.Schema;

        public override bool MoveNext()
        {
            if (_position + 1 >= _view._rows)
            {
                _position = _view._rows;
                return false;
            }
            _position++;
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() =>
            (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => _getters[column.Index] is not null;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            var getter = _getters[column.Index]
                ?? throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was opened.");
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' holds {column.Type}; it was read as {typeof(TValue).Name}.");
        }
    }
}

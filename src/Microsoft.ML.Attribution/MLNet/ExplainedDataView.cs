using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>
/// The lazy output of <see cref="AttributionTransformer"/>. A cursor follows the source with two source cursors: one
/// serves the pass-through columns row by row, the other reads the feature (and target) columns a block ahead, so each
/// block of rows is explained by one batched method call without caching arbitrary column values.
/// </summary>
internal sealed class ExplainedDataView : IDataView
{
    private readonly AttributionTransformer _transformer;
    private readonly IDataView _source;
    private readonly int _features;

    public ExplainedDataView(AttributionTransformer transformer, IDataView source, DataViewSchema schema, int features)
    {
        _transformer = transformer;
        _source = source;
        Schema = schema;
        _features = features;
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    public long? GetRowCount() => _source.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded, 0, 1);

    /// <summary>
    /// Up to <paramref name="n"/> cursors over disjoint blocks of rows: cursor i serves blocks i, i + k, i + 2k, … (block
    /// size <see cref="ExplainOptions.BlockSize"/>, k cursors), each block explained by one batched call, so the blocks
    /// are the serial cursor's and the values bit for bit the same. Each cursor reads the source through its own
    /// cursors and skips the other cursors' rows (cheap next to explaining them). Within a cursor rows keep their order;
    /// <see cref="DataViewRow.Batch"/> is the block index and the row id the source's, which is what ML.NET's
    /// consolidating cursor (DataViewUtils) orders by when it merges a set back into one stream.
    /// </summary>
    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
    {
        var columns = columnsNeeded.ToList();
        long blocks = _source.GetRowCount() is long rows ? (rows + _transformer.Options.BlockSize - 1) / _transformer.Options.BlockSize : n;
        int k = (int)Math.Clamp(Math.Min(n, blocks), 1, int.MaxValue);
        if (k == 1) return [GetRowCursor(columns)];
        return Enumerable.Range(0, k).Select(i => (DataViewRowCursor)new Cursor(this, columns, i, k)).ToArray();
    }

    /// <summary>Reads a row's target index from an Int32, key or whole-number Single column.</summary>
    internal static Func<int> TargetReader(DataViewRow cursor, DataViewSchema.Column column)
    {
        if (column.Type == NumberDataViewType.Int32)
        {
            var getter = cursor.GetGetter<int>(column);
            return () => { int v = 0; getter(ref v); return v; };
        }
        if (column.Type is KeyDataViewType)
        {
            var getter = cursor.GetGetter<uint>(column);
            return () =>
            {
                uint v = 0;
                getter(ref v);
                if (v == 0) throw new InvalidOperationException($"Target column '{column.Name}' holds a missing key value.");
                return (int)v - 1;
            };
        }
        var single = cursor.GetGetter<float>(column);
        return () =>
        {
            float v = 0;
            single(ref v);
            if (v != MathF.Round(v) || v < 0) throw new InvalidOperationException($"Target column '{column.Name}' holds {v}; expected a non-negative whole number.");
            return (int)v;
        };
    }

    /// <summary>
    /// One plain cursor over <paramref name="source"/> in row order. ML.NET's transforms answer GetRowCursor with a
    /// consolidating cursor when several processors are seen: worker threads compute the featurization and hand rows
    /// back through blocking queues, which cost ~4 % of the CPU next to TreeSHAP on two cores (perf) and compete with the
    /// method's own threads. A set of one is the same rows in the same order, computed on the calling thread.
    /// </summary>
    internal static DataViewRowCursor SerialCursor(IDataView source, IEnumerable<DataViewSchema.Column> columns)
    {
        var list = columns as IReadOnlyCollection<DataViewSchema.Column> ?? columns.ToList();
        var set = source.GetRowCursorSet(list, 1);
        if (set.Length == 1) return set[0];
        foreach (var cursor in set) cursor.Dispose();
        return source.GetRowCursor(list);
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ExplainedDataView _view;
        private readonly DataViewRowCursor _main;
        private readonly bool[] _active;
        private readonly int _sourceCount;
        private readonly int _index;
        private readonly int _stride;
        private readonly int _blockSize;
        private DataViewRowCursor? _ahead;
        private long _aheadRow = -1;
        private long _sourceRow = -1;
        private ValueGetter<VBuffer<float>>? _features;
        private ValueGetter<VBuffer<long>>? _ids;
        private Func<int>? _target;
        private float[]? _rowBlock;
        private long[]? _idBlock;
        private int[]? _targetBlock;
        private VBuffer<float> _buffer;
        private VBuffer<long> _idBuffer;
        private float[] _attributions = [];
        private int[] _targets = [];
        private float[]? _deltas;
        private float[]? _baseValues;
        private float[]? _interactions;
        private int _width;
        private long _blockStart;
        private int _blockCount;
        private long _position = -1;

        /// <summary>A cursor over the blocks b with b mod <paramref name="stride"/> = <paramref name="index"/> (all for stride 1).</summary>
        public Cursor(ExplainedDataView view, IEnumerable<DataViewSchema.Column> columnsNeeded, int index, int stride)
        {
            _view = view;
            _index = index;
            _stride = stride;
            _blockSize = view._transformer.Options.BlockSize;
            _sourceCount = view._source.Schema.Count;
            _active = new bool[view.Schema.Count];
            foreach (var c in columnsNeeded) _active[c.Index] = true;
            _main = SerialCursor(view._source, view._source.Schema.Where(c => _active[c.Index]));
            _needsAttributions = Enumerable.Range(_sourceCount, _active.Length - _sourceCount).Any(i => _active[i]);
        }

        private readonly bool _needsAttributions;

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _position;

        public override long Batch => _sourceRow / _blockSize;

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();

        public override bool MoveNext()
        {
            do
            {
                if (!_main.MoveNext()) return false;
                _sourceRow++;
            }
            while ((_sourceRow / _blockSize) % _stride != _index);
            _position++;
            if (_sourceRow >= _blockStart + _blockCount && _needsAttributions) ExplainBlockAt(_sourceRow / _blockSize * _blockSize);
            return true;
        }

        /// <summary>Explains the block of source rows starting at <paramref name="start"/> (a multiple of the block size).</summary>
        private void ExplainBlockAt(long start)
        {
            var options = _view._transformer.Options;
            if (_ahead is null)
            {
                var schema = _view._source.Schema;
                var needed = new List<DataViewSchema.Column> { schema[options.InputColumnName] };
                if (options.TargetColumnName is { } t) needed.Add(schema[t]);
                _ahead = SerialCursor(_view._source, needed);
                if (((VectorDataViewType)schema[options.InputColumnName].Type).ItemType == NumberDataViewType.Int64)
                    _ids = _ahead.GetGetter<VBuffer<long>>(schema[options.InputColumnName]);
                else
                    _features = _ahead.GetGetter<VBuffer<float>>(schema[options.InputColumnName]);
                if (options.TargetColumnName is { } targetName) _target = TargetReader(_ahead, schema[targetName]);
            }
            // Skip the rows of other cursors' blocks.
            while (_aheadRow < start - 1 && _ahead.MoveNext()) _aheadRow++;
            int f = _view._features, block = options.BlockSize;
            // One buffer per cursor, filled in place: each row's vector is copied once, from the source's buffer into the
            // block (no per-value list growth, no final ToArray). Methods do not keep the rows, so the next block reuses it.
            if (_ids is not null) _idBlock ??= new long[block * f];
            else _rowBlock ??= new float[block * f];
            _targetBlock = _target is null ? null : _targetBlock ?? new int[block];
            int count = 0;
            while (count < block && _ahead.MoveNext())
            {
                _aheadRow++;
                int length;
                if (_ids is not null)
                {
                    _ids(ref _idBuffer);
                    length = _idBuffer.Length;
                    if (length == f) _idBuffer.CopyTo(_idBlock.AsSpan(count * f, f));
                }
                else
                {
                    _features!(ref _buffer);
                    length = _buffer.Length;
                    if (length == f) _buffer.CopyTo(_rowBlock.AsSpan(count * f, f));
                }
                if (length != f)
                    throw new InvalidOperationException($"Column '{options.InputColumnName}' holds a vector of {length} values at row {start + count}; expected {f}.");
                if (_targetBlock is not null) _targetBlock[count] = _target!();
                count++;
            }
            int[]? targets = _targetBlock is null ? null : count == block ? _targetBlock : _targetBlock[..count];
            AttributionResult result;
            if (_ids is not null)
            {
                result = _view._transformer.ExplainBlock(new NdArray<long>(count == block ? _idBlock! : _idBlock![..(count * f)], count, f), targets);
            }
            else
            {
                var features = new NdArray<float>(count == block ? _rowBlock! : _rowBlock![..(count * f)], count, f);
                FiniteFeatures.Check(options, _view._source.Schema[options.InputColumnName], features, start);
                result = _view._transformer.ExplainBlock(_view._source.Schema, features, targets);
            }
            _attributions = result.Attributions.Data;
            _targets = result.Targets;
            _deltas = result.ConvergenceDelta;
            _baseValues = result.BaseValues;
            _interactions = result.Interactions?.Data;
            _width = result.Attributions.RowSize;
            _blockStart = start;
            _blockCount = count;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active[column.Index]) throw new InvalidOperationException($"Column '{column.Name}' was not requested from this cursor.");
            if (column.Index < _sourceCount) return _main.GetGetter<TValue>(_view._source.Schema[column.Index]);
            var kind = _view._transformer.ExtraColumns[column.Index - _sourceCount];
            int k = _view._transformer.Ranks;
            Delegate getter = kind switch
            {
                ExtraColumn.Attributions => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                {
                    var editor = VBufferEditor.Create(ref dst, _width);
                    _attributions.AsSpan((int)(_sourceRow - _blockStart) * _width, _width).CopyTo(editor.Values);
                    dst = editor.Commit();
                }),
                ExtraColumn.Target when k > 1 => (ValueGetter<VBuffer<int>>)((ref VBuffer<int> dst) => Copy(_targets, k, ref dst)),
                ExtraColumn.Target => (ValueGetter<int>)((ref int dst) => dst = _targets[_sourceRow - _blockStart]),
                ExtraColumn.Delta when k > 1 => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) => Copy(_deltas!, k, ref dst)),
                ExtraColumn.Delta => (ValueGetter<float>)((ref float dst) => dst = _deltas![_sourceRow - _blockStart]),
                ExtraColumn.Interactions => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                {
                    int square = _interactions!.Length / _blockCount;
                    var editor = VBufferEditor.Create(ref dst, square);
                    _interactions.AsSpan((int)(_sourceRow - _blockStart) * square, square).CopyTo(editor.Values);
                    dst = editor.Commit();
                }),
                _ when k > 1 => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) => Copy(_baseValues!, k, ref dst)),
                _ => (ValueGetter<float>)((ref float dst) => dst = _baseValues![_sourceRow - _blockStart]),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}; it cannot be read as {typeof(TValue).Name}.");
        }

        private void Copy<T>(T[] source, int k, ref VBuffer<T> dst)
        {
            var editor = VBufferEditor.Create(ref dst, k);
            source.AsSpan((int)(_sourceRow - _blockStart) * k, k).CopyTo(editor.Values);
            dst = editor.Commit();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _main.Dispose();
                _ahead?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}

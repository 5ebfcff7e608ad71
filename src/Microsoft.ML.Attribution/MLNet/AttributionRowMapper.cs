using Microsoft.ML.Attribution.Methods;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.Data;

namespace Microsoft.ML.Attribution.MLNet;

/// <summary>
/// The one-row face of <see cref="AttributionTransformer"/>, for <c>mlContext.Model.CreatePredictionEngine</c>: a row
/// whose attribution getters explain that single row as a block of one, through the transformer's own cached oracle
/// (the same ONNX Runtime sessions and built gradient graph as the batched <see cref="ITransformer.Transform"/>), so a
/// prediction builds nothing. The explanation is computed once per input row position and shared by the attribution,
/// target and delta getters.
/// </summary>
internal sealed class AttributionRowMapper : IRowToRowMapper
{
    private readonly AttributionTransformer _transformer;
    private readonly int _features;

    public AttributionRowMapper(AttributionTransformer transformer, DataViewSchema inputSchema, DataViewSchema outputSchema, int features)
    {
        _transformer = transformer;
        InputSchema = inputSchema;
        OutputSchema = outputSchema;
        _features = features;
    }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    /// <summary>Pass-through columns need themselves; the attribution columns need the feature (and target) column.</summary>
    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var needed = new HashSet<int>();
        foreach (var column in dependingColumns)
        {
            if (column.Index < InputSchema.Count) needed.Add(column.Index);
            else
            {
                needed.Add(InputSchema[_transformer.Options.InputColumnName].Index);
                if (_transformer.Options.TargetColumnName is { } target) needed.Add(InputSchema[target].Index);
            }
        }
        return needed.OrderBy(i => i).Select(i => InputSchema[i]).ToList();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
        new Row(this, input, activeColumns);

    private sealed class Row : DataViewRow
    {
        private readonly AttributionRowMapper _mapper;
        private readonly DataViewRow _input;
        private readonly bool[] _active;
        private ValueGetter<VBuffer<float>>? _features;
        private ValueGetter<VBuffer<long>>? _ids;
        private Func<int>? _target;
        private VBuffer<float> _featureBuffer;
        private VBuffer<long> _idBuffer;
        private AttributionResult? _result;
        private long _resultPosition = long.MinValue;

        public Row(AttributionRowMapper mapper, DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
        {
            _mapper = mapper;
            _input = input;
            _active = new bool[mapper.OutputSchema.Count];
            foreach (var c in activeColumns) _active[c.Index] = true;
        }

        public override DataViewSchema Schema => _mapper.OutputSchema;

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        /// <summary>The explanation of the current input row, computed on first use at each position.</summary>
        private AttributionResult Current()
        {
            // PredictionEngine advances the input row's position on every Predict, so the position identifies the row.
            if (_result is not null && _resultPosition == _input.Position) return _result;
            var transformer = _mapper._transformer;
            var options = transformer.Options;
            var schema = _mapper.InputSchema;
            var column = schema[options.InputColumnName];
            int f = _mapper._features;
            int[]? targets = null;
            if (options.TargetColumnName is { } targetName)
            {
                _target ??= ExplainedDataView.TargetReader(_input, schema[targetName]);
                targets = [_target()];
            }
            AttributionResult result;
            if (((VectorDataViewType)column.Type).ItemType == NumberDataViewType.Int64)
            {
                _ids ??= _input.GetGetter<VBuffer<long>>(column);
                _ids(ref _idBuffer);
                CheckLength(_idBuffer.Length, f, column);
                result = transformer.ExplainBlock(new NdArray<long>(_idBuffer.DenseValues().ToArray(), 1, f), targets);
            }
            else
            {
                _features ??= _input.GetGetter<VBuffer<float>>(column);
                _features(ref _featureBuffer);
                CheckLength(_featureBuffer.Length, f, column);
                var rows = new NdArray<float>(1, f);
                _featureBuffer.CopyTo(rows.Data);
                FiniteFeatures.Check(options, column, rows, Math.Max(0, _input.Position));
                result = transformer.ExplainBlock(schema, rows, targets);
            }
            _result = result;
            _resultPosition = _input.Position;
            return result;
        }

        private void CheckLength(int length, int expected, DataViewSchema.Column column)
        {
            if (length != expected)
                throw new InvalidOperationException($"Column '{column.Name}' holds a vector of {length} values at row {_input.Position}; expected {expected}.");
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active[column.Index]) throw new InvalidOperationException($"Column '{column.Name}' was not requested from this row.");
            int sourceCount = _mapper.InputSchema.Count;
            if (column.Index < sourceCount) return _input.GetGetter<TValue>(_mapper.InputSchema[column.Index]);
            var kind = _mapper._transformer.ExtraColumns[column.Index - sourceCount];
            int k = _mapper._transformer.Ranks;
            Delegate getter = kind switch
            {
                ExtraColumn.Attributions => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) => Write(Current().Attributions.Data, ref dst)),
                ExtraColumn.Target when k > 1 => (ValueGetter<VBuffer<int>>)((ref VBuffer<int> dst) => Write(Current().Targets, ref dst)),
                ExtraColumn.Target => (ValueGetter<int>)((ref int dst) => dst = Current().Targets[0]),
                ExtraColumn.Delta when k > 1 => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) => Write(Current().ConvergenceDelta!, ref dst)),
                ExtraColumn.Delta => (ValueGetter<float>)((ref float dst) => dst = Current().ConvergenceDelta![0]),
                ExtraColumn.Interactions => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) => Write(Current().Interactions!.Data, ref dst)),
                _ when k > 1 => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) => Write(Current().BaseValues!, ref dst)),
                _ => (ValueGetter<float>)((ref float dst) => dst = Current().BaseValues![0]),
            };
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}; it cannot be read as {typeof(TValue).Name}.");
        }

        private static void Write<T>(T[] values, ref VBuffer<T> dst)
        {
            var editor = VBufferEditor.Create(ref dst, values.Length);
            values.AsSpan().CopyTo(editor.Values);
            dst = editor.Commit();
        }
    }
}

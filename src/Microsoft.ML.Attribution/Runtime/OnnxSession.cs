using System.Collections.Concurrent;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microsoft.ML.Attribution.Runtime;

/// <summary>
/// A model input for one run: managed memory handed to ONNX Runtime without copying (pinned for the run). The tensor
/// starts at <see cref="Offset"/> in <see cref="Data"/>, which may be longer than the shape needs (a chunk of a larger
/// array, or a pooled buffer).
/// </summary>
internal readonly record struct NamedInput(string Name, Array Data, int[] Shape)
{
    /// <summary>Index of the tensor's first element in <see cref="Data"/>.</summary>
    public int Offset { get; init; }

    public static NamedInput Of(string name, NdArray<float> array) => new(name, array.Data, array.Shape);

    public static NamedInput Of(string name, NdArray<long> array) => new(name, array.Data, array.Shape);

    internal OrtValue ToOrtValue()
    {
        var shape = Shape.Select(d => (long)d).ToArray();
        int size = checked((int)NdArray<float>.ShapeSize(Shape));
        if (Offset < 0 || Offset + size > Data.Length)
            throw new ArgumentException($"Input '{Name}' shaped {NdArray<float>.FormatShape(Shape)} needs {size} values from offset {Offset}; its buffer holds {Data.Length}.");
        var cpu = OrtMemoryInfo.DefaultInstance;
        return Data switch
        {
            float[] f => OrtValue.CreateTensorValueFromMemory(cpu, new Memory<float>(f, Offset, size), shape),
            long[] l => OrtValue.CreateTensorValueFromMemory(cpu, new Memory<long>(l, Offset, size), shape),
            double[] d => OrtValue.CreateTensorValueFromMemory(cpu, new Memory<double>(d, Offset, size), shape),
            int[] i => OrtValue.CreateTensorValueFromMemory(cpu, new Memory<int>(i, Offset, size), shape),
            _ => throw new NotSupportedException($"Input '{Name}' has element type {Data.GetType().GetElementType()?.Name}; use float, double, long or int."),
        };
    }
}

/// <summary>
/// A caller-owned destination for one float output of a run: ONNX Runtime writes the tensor straight into
/// <see cref="Memory"/> (no allocation by ONNX Runtime, no copy afterwards). The memory may be a slice of a buffer that
/// is reused chunk after chunk.
/// </summary>
internal readonly record struct NamedOutput(string Name, Memory<float> Memory, int[] Shape);

/// <summary>
/// One ONNX Runtime inference session over model bytes, created with the provider the options ask for (CUDA when
/// <see cref="RuntimeOptions.GpuDeviceId"/> is set and CUDA can be used; else the CPU with one log line, or an error
/// when <see cref="RuntimeOptions.FallbackToCpu"/> is off). Sessions are cached per (model bytes, options),
/// up to <see cref="MaxCachedSessions"/> (least recently used dropped first), and with
/// <see cref="RuntimeOptions.CacheDirectory"/> ONNX Runtime's optimized graphs are kept on disk for later processes.
/// </summary>
internal sealed class OnnxSession
{
    private const string CudaProvider = "CUDAExecutionProvider";
    /// <summary>Sessions kept by the cache; the least recently asked-for one is dropped beyond this.</summary>
    internal const int MaxCachedSessions = 64;
    private static readonly ConcurrentDictionary<(string, RuntimeOptions), CacheEntry> Cache = new();
    private static readonly object TrimGate = new();
    private static long _clock;
    private static readonly ConcurrentDictionary<(Action<string>?, string), bool> LoggedOnce = new();

    /// <summary>Run contexts kept for reuse; more concurrent callers than this get contexts that are disposed after their run.</summary>
    private static readonly int MaxPooledContexts = Math.Max(2, Environment.ProcessorCount);
    private static int _profiled;
    private readonly RuntimeOptions _options;
    private readonly ConcurrentBag<RunContext> _contexts = new();

    private OnnxSession(InferenceSession session, ExecutionDevice device, RuntimeOptions options)
    {
        Session = session;
        Device = device;
        _options = options;
        InputNames = session.InputMetadata.Keys.ToList();
        OutputNames = session.OutputMetadata.Keys.ToList();
        Feeds = new SessionFeeds(session);
    }

    /// <summary>How feeds are adapted to the model's declared inputs (int32 ids, a fixed batch).</summary>
    public SessionFeeds Feeds { get; }

    public InferenceSession Session { get; }

    /// <summary>The device the session really runs on.</summary>
    public ExecutionDevice Device { get; }

    public IReadOnlyList<string> InputNames { get; }

    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>
    /// The cached session for these model bytes and options, created on first use (from ONNX Runtime's optimized graph
    /// kept under <see cref="RuntimeOptions.CacheDirectory"/> when an earlier process left one there).
    /// </summary>
    public static OnnxSession Get(byte[] model, RuntimeOptions options)
    {
        string hash = DiskCache.Hash(model);
        return GetOrAdd(hash, options, () => Create(model, hash, options));
    }

    /// <summary>
    /// The session of the model with this SHA-256 when this process holds it or the disk cache has its optimized graph;
    /// else null (the model bytes are needed).
    /// </summary>
    public static OnnxSession? TryGet(string modelHash, RuntimeOptions options)
    {
        if (Cache.TryGetValue((modelHash, options), out var entry)) return Touch(entry).Session.Value;
        if (DiskCache.OptimizedModelPath(options, modelHash) is not { } path || !File.Exists(path)) return null;
        var session = TryLoadOptimized(path, options);
        return session is null ? null : GetOrAdd(modelHash, options, () => session);
    }

    private static OnnxSession GetOrAdd(string hash, RuntimeOptions options, Func<OnnxSession> create)
    {
        var entry = Cache.GetOrAdd((hash, options), _ => new CacheEntry(new Lazy<OnnxSession>(() => create().WithHash(hash))) { LastUsed = Interlocked.Increment(ref _clock) });
        Touch(entry);
        if (Cache.Count > MaxCachedSessions) Trim();
        return entry.Session.Value;
    }

    private static CacheEntry Touch(CacheEntry entry)
    {
        Interlocked.Exchange(ref entry.LastUsed, Interlocked.Increment(ref _clock));
        return entry;
    }

    /// <summary>Whether the session was made from an optimized graph in the disk cache.</summary>
    public bool FromDiskCache { get; private init; }

    /// <summary>The SHA-256 of the model bytes this session was made from (the key of both caches).</summary>
    public string ModelHash { get; private set; } = "";

    private OnnxSession WithHash(string hash)
    {
        ModelHash = hash;
        return this;
    }

    /// <summary>How many sessions the cache holds.</summary>
    internal static int CachedCount => Cache.Count;

    // Dropping a session from the cache does not dispose it: oracles that hold it keep using it, and ONNX Runtime's
    // native memory is released when the last holder lets it go (the session's finalizer).
    private static void Trim()
    {
        lock (TrimGate)
        {
            while (Cache.Count > MaxCachedSessions)
            {
                var oldest = Cache.MinBy(e => Interlocked.Read(ref e.Value.LastUsed));
                Cache.TryRemove(oldest.Key, out _);
            }
        }
    }

    private sealed class CacheEntry(Lazy<OnnxSession> session)
    {
        public Lazy<OnnxSession> Session { get; } = session;

        public long LastUsed;
    }

    /// <summary>Names of the execution providers the loaded ONNX Runtime build offers.</summary>
    public static IReadOnlyList<string> AvailableProviders() => OrtEnv.Instance().GetAvailableProviders();

    private static SessionOptions NewSessionOptions(RuntimeOptions options, GraphOptimizationLevel level)
    {
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = level,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (options.ProfilePrefix is { } prefix)
        {
            int n = Interlocked.Increment(ref _profiled);
            sessionOptions.EnableProfiling = true;
            sessionOptions.ProfileOutputPathPrefix = $"{prefix}_{n}";
            sessionOptions.OptimizedModelFilePath = $"{prefix}_{n}.onnx";
        }
        if (options.IntraOpThreads > 0) sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
        if (options.InterOpThreads > 0) sessionOptions.InterOpNumThreads = options.InterOpThreads;
        return sessionOptions;
    }

    private static OnnxSession Create(byte[] model, string hash, RuntimeOptions options)
    {
        if (DiskCache.OptimizedModelPath(options, hash) is { } cached && File.Exists(cached) && TryLoadOptimized(cached, options) is { } fromDisk)
            return fromDisk;
        var sessionOptions = NewSessionOptions(options, GraphOptimizationLevel.ORT_ENABLE_ALL);
        var device = AppendProvider(sessionOptions, options);
        string? temporary = null;
        if (DiskCache.OptimizedModelPath(options, hash) is { } path)
        {
            temporary = DiskCache.TemporaryPath(path);
            sessionOptions.OptimizedModelFilePath = temporary;
        }
        try
        {
            var session = new OnnxSession(new InferenceSession(model, sessionOptions), device, options);
            if (temporary is not null) Publish(temporary, DiskCache.OptimizedModelPath(options, hash)!);
            return session;
        }
        catch (OnnxRuntimeException e)
        {
            if (temporary is not null) DiskCache.TryDelete(temporary);
            throw new InvalidOperationException($"ONNX Runtime could not load the model: {e.Message}", e);
        }
    }

    /// <summary>Renames the optimized graph ONNX Runtime wrote into its place in the cache (best effort).</summary>
    private static void Publish(string temporary, string path)
    {
        try
        {
            if (File.Exists(temporary)) File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            DiskCache.TryDelete(temporary);
        }
    }

    /// <summary>
    /// A session over an optimized graph from the disk cache, run as it is (ONNX Runtime's optimizations were applied when
    /// it was written); null, and the file deleted, when ONNX Runtime cannot load it.
    /// </summary>
    private static OnnxSession? TryLoadOptimized(string path, RuntimeOptions options)
    {
        var sessionOptions = NewSessionOptions(options, GraphOptimizationLevel.ORT_DISABLE_ALL);
        var device = AppendProvider(sessionOptions, options);
        try
        {
            return new OnnxSession(new InferenceSession(path, sessionOptions), device, options) { FromDiskCache = true };
        }
        catch (Exception e) when (e is OnnxRuntimeException or IOException or UnauthorizedAccessException)
        {
            DiskCache.TryDelete(path);
            return null;
        }
    }

    /// <summary>
    /// Adds the CUDA execution provider when <see cref="RuntimeOptions.GpuDeviceId"/> asks for it, and returns the device
    /// the session will run on. Exactly two failures mean "CUDA cannot be used here" and honour
    /// <see cref="RuntimeOptions.FallbackToCpu"/>: the CPU build of ONNX Runtime (no CUDA entry point) and the GPU build
    /// on a machine without the CUDA 13 / cuDNN 9 libraries. Anything else is a real error and propagates.
    /// </summary>
    internal static ExecutionDevice AppendProvider(SessionOptions sessionOptions, RuntimeOptions options)
    {
        if (options.GpuDeviceId is not int deviceId) return ExecutionDevice.Cpu;
        string? missing = null;
        Exception? cause = null;
        var available = AvailableProviders();
        if (!available.Contains(CudaProvider))
        {
            missing = $"this ONNX Runtime build offers only {string.Join(", ", available)}: reference the " +
                "Microsoft.ML.Attribution.Gpu package (Microsoft.ML.OnnxRuntime.Gpu) instead of Microsoft.ML.OnnxRuntime";
        }
        else
        {
            try
            {
                using var cuda = new OrtCUDAProviderOptions();
                cuda.UpdateOptions(CudaProviderSettings(options));
                sessionOptions.AppendExecutionProvider_CUDA(cuda);
                LogOnce(options.Log, $"CUDA was requested: running on CUDA device {deviceId} ({CudaProvider}).");
                return ExecutionDevice.Cuda;
            }
            catch (EntryPointNotFoundException e)
            {
                // A CPU build that still lists CUDA (or a mixed install): the native library has no CUDA entry point.
                missing = "the loaded ONNX Runtime library has no CUDA entry point (a CPU build): reference the " +
                    "Microsoft.ML.Attribution.Gpu package (Microsoft.ML.OnnxRuntime.Gpu) instead of Microsoft.ML.OnnxRuntime";
                cause = e;
            }
            // The GPU build without CUDA 13 / cuDNN 9: OrtCUDAProviderOptions loads the provider library and reports
            // "Failed to load library …providers_cuda.so with error: libcublasLt.so.13: cannot open shared object file";
            // AppendExecutionProvider_CUDA(int) reports "Failed to load shared library".
            catch (OnnxRuntimeException e) when (e.Message.Contains("Failed to load library", StringComparison.Ordinal) ||
                e.Message.Contains("Failed to load shared library", StringComparison.Ordinal))
            {
                missing = "ONNX Runtime's CUDA provider could not load its libraries: Microsoft.ML.OnnxRuntime.Gpu 1.32.0 needs " +
                    "CUDA 13 (libcudart.so.13, libcublasLt.so.13) and cuDNN 9 on the library path, and an NVIDIA driver " +
                    $"({e.Message.Trim()})";
                cause = e;
            }
        }
        if (!options.FallbackToCpu)
            throw new InvalidOperationException($"CUDA device {deviceId} was requested but cannot be used: {missing}. " +
                "Set RuntimeOptions.FallbackToCpu to run on the CPU instead.", cause);
        LogOnce(options.Log, $"CUDA was requested (device {deviceId}) but cannot be used: {missing}; running on the CPU.");
        return ExecutionDevice.Cpu;
    }

    /// <summary>Ends profiling of every cached session made with <paramref name="options"/>; returns the profile files.</summary>
    internal static IReadOnlyList<string> EndProfiling(RuntimeOptions options) =>
        Cache.Where(e => e.Key.Item2 == options && e.Value.Session.IsValueCreated).Select(e => e.Value.Session.Value.Session.EndProfiling()).ToList();

    /// <summary>The CUDA execution provider's settings for these options: the device, and TF32 off unless allowed.</summary>
    internal static Dictionary<string, string> CudaProviderSettings(RuntimeOptions options) => new()
    {
        ["device_id"] = options.CudaDeviceId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["use_tf32"] = options.AllowTf32 ? "1" : "0",
    };

    private static void LogOnce(Action<string>? log, string message)
    {
        if (LoggedOnce.TryAdd((log, message), true)) log?.Invoke(message);
    }

    /// <summary>Whether bound inputs and outputs go through <see cref="StagingBuffers"/> (always on CUDA).</summary>
    public bool Stages => Device == ExecutionDevice.Cuda || _options.Stage;

    /// <summary>An I/O binding and, when the session stages, its reusable staging tensors: one per concurrent run.</summary>
    private sealed class RunContext(OrtIoBinding binding, StagingBuffers? staging) : IDisposable
    {
        public OrtIoBinding Binding { get; } = binding;

        public StagingBuffers? Staging { get; } = staging;

        public void Dispose()
        {
            Staging?.Dispose();
            Binding.Dispose();
        }
    }

    /// <summary>
    /// Runs the model through an I/O binding and writes every output into its caller-owned
    /// <see cref="NamedOutput.Memory"/>. On the CPU, inputs and outputs are bound straight to the managed memory (no
    /// copies). When the session stages (CUDA), inputs are copied into reusable page-locked tensors that the device reads
    /// by DMA, and outputs come back the same way. Bindings and staging tensors are pooled per session and reused run
    /// after run (one set per concurrent caller).
    /// </summary>
    /// <exception cref="ArgumentException">A destination is smaller than its shape needs.</exception>
    /// <exception cref="InvalidOperationException">ONNX Runtime failed, e.g. an output's real shape differs from the bound one.</exception>
    public void RunInto(IReadOnlyList<NamedInput> inputs, IReadOnlyList<NamedOutput> outputs)
    {
        inputs = Feeds.Narrow(inputs);
        if (Feeds.RowsToChunk(inputs) is int rows)
        {
            RunIntoFixedBatch(inputs, outputs, rows, Feeds.FixedBatch!.Value);
            return;
        }
        foreach (var output in outputs)
        {
            long size = NdArray<float>.ShapeSize(output.Shape);
            if (size > output.Memory.Length)
                throw new ArgumentException($"Output '{output.Name}' shaped {NdArray<float>.FormatShape(output.Shape)} needs {size} values; its destination holds {output.Memory.Length}.");
        }
        // A graph input requested as an output (a layer that is the model input) is not written by ONNX Runtime into a
        // bound buffer: its values are the feed's.
        if (outputs.Any(o => InputNames.Contains(o.Name)))
        {
            foreach (var output in outputs.Where(o => InputNames.Contains(o.Name)))
            {
                var feed = inputs.FirstOrDefault(i => i.Name == output.Name);
                if (feed.Data is not float[] values)
                    throw new ArgumentException($"Output '{output.Name}' is a graph input; feed it as float32 values to read it back.");
                values.AsSpan(feed.Offset, (int)NdArray<float>.ShapeSize(output.Shape)).CopyTo(output.Memory.Span);
            }
            var computed = outputs.Where(o => !InputNames.Contains(o.Name)).ToList();
            if (computed.Count > 0) RunInto(inputs, computed);
            return;
        }
        var context = _contexts.TryTake(out var pooled) ? pooled : NewContext();
        var binding = context.Binding;
        var owned = new List<OrtValue>(context.Staging is null ? inputs.Count + outputs.Count : 0);
        try
        {
            context.Staging?.BeginRun();
            foreach (var input in inputs)
            {
                var value = context.Staging?.Input(input) ?? input.ToOrtValue();
                if (context.Staging is null) owned.Add(value);
                binding.BindInput(input.Name, value);
            }
            var staged = new OrtValue[outputs.Count];
            for (int k = 0; k < outputs.Count; k++)
            {
                var output = outputs[k];
                var value = context.Staging?.Output(output) ?? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
                    output.Memory[..(int)NdArray<float>.ShapeSize(output.Shape)], output.Shape.Select(d => (long)d).ToArray());
                if (context.Staging is null) owned.Add(value);
                staged[k] = value;
                binding.BindOutput(output.Name, value);
            }
            using var runOptions = new RunOptions();
            Session.RunWithBinding(runOptions, binding);
            if (Device != ExecutionDevice.Cpu) binding.SynchronizeBoundOutputs();
            if (context.Staging is not null)
            {
                for (int k = 0; k < outputs.Count; k++) StagingBuffers.CopyOut(staged[k], outputs[k]);
            }
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException($"ONNX Runtime failed with outputs bound as " +
                $"{string.Join(", ", outputs.Select(o => $"'{o.Name}' {NdArray<float>.FormatShape(o.Shape)}"))}: {e.Message}", e);
        }
        finally
        {
            binding.ClearBoundInputs();
            binding.ClearBoundOutputs();
            // Keep a bounded pool: a burst of concurrent callers must not pin bindings (and, on CUDA, page-locked memory) for good.
            if (_contexts.Count < MaxPooledContexts) _contexts.Add(context);
            else context.Dispose();
            foreach (var v in owned) v.Dispose();
        }
    }

    private RunContext NewContext()
    {
        var binding = Session.CreateIoBinding();
        try
        {
            return new RunContext(binding, Stages ? StagingBuffers.For(Session, Device, _options.CudaDeviceId) : null);
        }
        catch
        {
            binding.Dispose();
            throw;
        }
    }

    /// <summary>Runs the model and copies the requested float outputs out (for outputs whose shapes are not known before the run).</summary>
    public NdArray<float>[] Run(IReadOnlyList<NamedInput> inputs, IReadOnlyList<string> outputs)
    {
        inputs = Feeds.Narrow(inputs);
        if (Feeds.RowsToChunk(inputs) is int rows) return RunFixedBatch(inputs, outputs, rows, Feeds.FixedBatch!.Value);
        var values = new List<OrtValue>(inputs.Count);
        try
        {
            foreach (var input in inputs) values.Add(input.ToOrtValue());
            // Held in a variable so the GC cannot finalize the native options while the run uses them.
            using var runOptions = new RunOptions();
            using var results = Session.Run(runOptions, inputs.Select(i => i.Name).ToList(), values, outputs.ToList());
            var arrays = new NdArray<float>[outputs.Count];
            int k = 0;
            foreach (var result in results)
            {
                var info = result.GetTensorTypeAndShape();
                var shape = info.Shape.Select(d => checked((int)d)).ToArray();
                arrays[k++] = info.ElementDataType switch
                {
                    TensorElementType.Float => new NdArray<float>(result.GetTensorDataAsSpan<float>().ToArray(), shape),
                    TensorElementType.Double => new NdArray<float>(result.GetTensorDataAsSpan<double>().ToArray().Select(v => (float)v).ToArray(), shape),
                    var other => throw new NotSupportedException($"Output '{outputs[k - 1]}' has element type {other}; expected a float tensor."),
                };
            }
            return arrays;
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException($"ONNX Runtime failed: {e.Message}", e);
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary><see cref="RunInto"/> for a model with a fixed batch fed another row count: one run per chunk of its batch.</summary>
    private void RunIntoFixedBatch(IReadOnlyList<NamedInput> inputs, IReadOnlyList<NamedOutput> outputs, int rows, int batch)
    {
        var rowSizes = outputs.Select(o => Feeds.OutputRowSize(o, rows)).ToArray();
        for (int start = 0; start < rows; start += batch)
        {
            int count = Math.Min(batch, rows - start);
            var feeds = inputs.Select(i => i.Shape.Length == 0 ? i : SessionFeeds.Chunk(i, start, count, batch)).ToList();
            // Full chunks write straight into the caller's windows; a padded one goes through scratch, its real rows copied out.
            var bound = outputs.Select((o, k) => new NamedOutput(o.Name,
                count == batch ? o.Memory.Slice(start * rowSizes[k], batch * rowSizes[k]) : new float[batch * rowSizes[k]],
                [batch, .. o.Shape[1..]])).ToList();
            RunInto(feeds, bound);
            if (count == batch) continue;
            for (int k = 0; k < outputs.Count; k++)
                bound[k].Memory[..(count * rowSizes[k])].CopyTo(outputs[k].Memory.Slice(start * rowSizes[k]));
        }
    }

    /// <summary><see cref="Run"/> for a model with a fixed batch fed another row count: chunks run, their real rows joined.</summary>
    private NdArray<float>[] RunFixedBatch(IReadOnlyList<NamedInput> inputs, IReadOnlyList<string> outputs, int rows, int batch)
    {
        var parts = new List<NdArray<float>[]>();
        for (int start = 0; start < rows; start += batch)
        {
            int count = Math.Min(batch, rows - start);
            parts.Add(Run(inputs.Select(i => i.Shape.Length == 0 ? i : SessionFeeds.Chunk(i, start, count, batch)).ToList(), outputs));
        }
        var results = new NdArray<float>[outputs.Count];
        for (int k = 0; k < outputs.Count; k++)
        {
            var first = parts[0][k];
            if (first.Rank == 0 || first.Shape[0] != batch)
                throw new InvalidOperationException($"Output '{outputs[k]}' has shape {first.ShapeText} for a batch of {batch}; " +
                    "a model with a fixed batch is run in chunks, so its outputs need the batch axis first.");
            int rowSize = first.Length / batch;
            var data = new float[rows * rowSize];
            for (int c = 0; c < parts.Count; c++)
            {
                int count = Math.Min(batch, rows - c * batch);
                parts[c][k].Data.AsSpan(0, count * rowSize).CopyTo(data.AsSpan(c * batch * rowSize));
            }
            results[k] = new NdArray<float>(data, [rows, .. first.Shape[1..]]);
        }
        return results;
    }
}

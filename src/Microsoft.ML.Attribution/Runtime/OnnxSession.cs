using System.Collections.Concurrent;
using System.Security.Cryptography;
using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microsoft.ML.Attribution.Runtime;

/// <summary>A model input for one run: managed memory handed to ONNX Runtime without copying.</summary>
internal readonly record struct NamedInput(string Name, Array Data, int[] Shape)
{
    public static NamedInput Of(string name, NdArray<float> array) => new(name, array.Data, array.Shape);

    public static NamedInput Of(string name, NdArray<long> array) => new(name, array.Data, array.Shape);

    internal OrtValue ToOrtValue()
    {
        var shape = Shape.Select(d => (long)d).ToArray();
        return Data switch
        {
            float[] f => OrtValue.CreateTensorValueFromMemory(f, shape),
            long[] l => OrtValue.CreateTensorValueFromMemory(l, shape),
            double[] d => OrtValue.CreateTensorValueFromMemory(d, shape),
            int[] i => OrtValue.CreateTensorValueFromMemory(i, shape),
            _ => throw new NotSupportedException($"Input '{Name}' has element type {Data.GetType().GetElementType()?.Name}; use float, double, long or int."),
        };
    }
}

/// <summary>
/// One ONNX Runtime inference session over model bytes, created with the provider the options ask for (CUDA only when
/// the loaded ONNX Runtime build has it, else CPU with one log line). Sessions are cached per (model bytes, options).
/// </summary>
internal sealed class OnnxSession
{
    private const string CudaProvider = "CUDAExecutionProvider";
    private static readonly ConcurrentDictionary<(string, RuntimeOptions), Lazy<OnnxSession>> Cache = new();
    private static readonly ConcurrentDictionary<(Action<string>?, string), bool> LoggedOnce = new();

    private OnnxSession(InferenceSession session, ExecutionDevice device)
    {
        Session = session;
        Device = device;
        InputNames = session.InputMetadata.Keys.ToList();
        OutputNames = session.OutputMetadata.Keys.ToList();
    }

    public InferenceSession Session { get; }

    /// <summary>The device the session really runs on.</summary>
    public ExecutionDevice Device { get; }

    public IReadOnlyList<string> InputNames { get; }

    public IReadOnlyList<string> OutputNames { get; }

    /// <summary>The cached session for these model bytes and options, created on first use.</summary>
    public static OnnxSession Get(byte[] model, RuntimeOptions options)
    {
        var key = (Convert.ToHexString(SHA256.HashData(model)), options);
        return Cache.GetOrAdd(key, _ => new Lazy<OnnxSession>(() => Create(model, options))).Value;
    }

    /// <summary>Names of the execution providers the loaded ONNX Runtime build offers.</summary>
    public static IReadOnlyList<string> AvailableProviders() => OrtEnv.Instance().GetAvailableProviders();

    private static OnnxSession Create(byte[] model, RuntimeOptions options)
    {
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
        };
        if (options.IntraOpThreads > 0) sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
        if (options.InterOpThreads > 0) sessionOptions.InterOpNumThreads = options.InterOpThreads;
        var device = ExecutionDevice.Cpu;
        if (options.Device == ExecutionDevice.Cuda)
        {
            var available = AvailableProviders();
            if (!available.Contains(CudaProvider))
            {
                LogOnce(options.Log, $"CUDA was requested but this ONNX Runtime build offers only {string.Join(", ", available)}; " +
                    "running on the CPU. Reference Microsoft.ML.OnnxRuntime.Gpu to use the GPU.");
            }
            else
            {
                try
                {
                    sessionOptions.AppendExecutionProvider_CUDA(options.CudaDeviceId);
                    device = ExecutionDevice.Cuda;
                }
                catch (Exception e) when (e is EntryPointNotFoundException or OnnxRuntimeException or DllNotFoundException)
                {
                    LogOnce(options.Log, $"CUDA device {options.CudaDeviceId} could not be used ({e.Message}); running on the CPU.");
                }
            }
        }
        try
        {
            return new OnnxSession(new InferenceSession(model, sessionOptions), device);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException($"ONNX Runtime could not load the model: {e.Message}", e);
        }
    }

    private static void LogOnce(Action<string>? log, string message)
    {
        if (LoggedOnce.TryAdd((log, message), true)) log?.Invoke(message);
    }

    /// <summary>Runs the model and copies the requested float outputs out.</summary>
    public NdArray<float>[] Run(IReadOnlyList<NamedInput> inputs, IReadOnlyList<string> outputs)
    {
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
}

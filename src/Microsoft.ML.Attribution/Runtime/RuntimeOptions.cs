namespace Microsoft.ML.Attribution.Runtime;

/// <summary>Where ONNX Runtime runs a model.</summary>
public enum ExecutionDevice
{
    /// <summary>The CPU execution provider (always available).</summary>
    Cpu,

    /// <summary>The CUDA execution provider (needs the Microsoft.ML.Attribution.Gpu package, CUDA 13 and cuDNN 9).</summary>
    Cuda,
}

/// <summary>The floating-point precision a model and its gradients are computed in.</summary>
public enum ComputePrecision
{
    /// <summary>As the model is (float32): fastest; results carry float32 rounding through every layer.</summary>
    Float32,

    /// <summary>
    /// Float64 inside the model, float32 at its inputs and outputs: a float32 model's weights, constants and intermediate
    /// tensors are converted, so gradients can be checked against a float64 reference (torch's, to ~1e-15 where every op
    /// has a float64 kernel) and a ReLU or max-pool tie that float32 rounding decides differently is told apart from a
    /// wrong gradient. ONNX Runtime's CPU provider has no float64 Conv: a Conv with constant weights and static spatial
    /// dims is rewritten as strided Slices and MatMuls (and the global pools as reductions), which run in float64 (slower,
    /// and memory × kernel size). Other ops it cannot run in float64 (ConvTranspose, AveragePool, Resize, Erf, Gelu,
    /// HardSigmoid, HardSwish, Elu, Selu, Celu, LeakyRelu, PRelu, ThresholdedRelu, Mish, Softplus, Softsign,
    /// InstanceNormalization, LRN) run in float32 between Casts, each adding one float32 rounding (~1e-7 relative), unless
    /// <see cref="RuntimeOptions.RequireFloat64Kernels"/> refuses them. Input-gradient methods only: layer methods refuse it.
    /// </summary>
    Float64,
}

/// <summary>ONNX Runtime settings for attribution sessions.</summary>
public sealed record RuntimeOptions
{
    // Device/CudaDeviceId (the first API) and GpuDeviceId/FallbackToCpu (ML.NET's names) are two views of one choice;
    // the backing fields keep them consistent whatever order an object initializer sets them in.
    private int? _gpuDeviceId;
    private bool _gpuDeviceIdSet;
    private bool _fallbackToCpu;
    private bool _fallbackToCpuSet;
    private bool _deviceIsCuda;
    private int _cudaDeviceId;

    /// <summary>
    /// The CUDA device to run on, as ML.NET's <c>MLContext.GpuDeviceId</c> and <c>OnnxOptions.GpuDeviceId</c>:
    /// <see langword="null"/> (the default) runs on the CPU. Needs the Microsoft.ML.Attribution.Gpu package
    /// (Microsoft.ML.OnnxRuntime.Gpu 1.32.0) and CUDA 13 with cuDNN 9 on the machine; see <see cref="FallbackToCpu"/>.
    /// </summary>
    public int? GpuDeviceId
    {
        get => _gpuDeviceIdSet ? _gpuDeviceId : _deviceIsCuda ? _cudaDeviceId : null;
        init
        {
            _gpuDeviceId = value;
            _gpuDeviceIdSet = true;
        }
    }

    /// <summary>
    /// What happens when <see cref="GpuDeviceId"/> is set but CUDA cannot be used (CPU build of ONNX Runtime, or CUDA
    /// 13 / cuDNN 9 libraries missing): <see langword="true"/> runs on the CPU and logs why through <see cref="Log"/>;
    /// <see langword="false"/> (the default, as in ML.NET) throws an <see cref="InvalidOperationException"/> naming
    /// what is missing. <c>Device = ExecutionDevice.Cuda</c> implies <see langword="true"/> unless set here.
    /// </summary>
    public bool FallbackToCpu
    {
        get => _fallbackToCpuSet ? _fallbackToCpu : _deviceIsCuda;
        init
        {
            _fallbackToCpu = value;
            _fallbackToCpuSet = true;
        }
    }

    /// <summary>
    /// The device asked for. Default: CPU. <see cref="ExecutionDevice.Cuda"/> is shorthand for
    /// <see cref="GpuDeviceId"/> = <see cref="CudaDeviceId"/> with <see cref="FallbackToCpu"/> = <see langword="true"/>
    /// (run on the CPU, with one log line, where CUDA cannot be used).
    /// </summary>
    public ExecutionDevice Device
    {
        get => GpuDeviceId is null ? ExecutionDevice.Cpu : ExecutionDevice.Cuda;
        init
        {
            _deviceIsCuda = value == ExecutionDevice.Cuda;
            if (value == ExecutionDevice.Cpu)
            {
                _gpuDeviceId = null;
                _gpuDeviceIdSet = true;
            }
        }
    }

    /// <summary>CUDA device ordinal when <see cref="Device"/> is CUDA (the same number as <see cref="GpuDeviceId"/>).</summary>
    public int CudaDeviceId
    {
        get => GpuDeviceId ?? _cudaDeviceId;
        init => _cudaDeviceId = value;
    }

    /// <summary>
    /// Let CUDA run float32 matrix products and convolutions in TF32 on Ampere and newer GPUs: faster, but with about
    /// three decimal digits, so attributions drift from the CPU's and Captum's. Default false (full float32).
    /// </summary>
    public bool AllowTf32 { get; init; }

    /// <summary>Threads of ONNX Runtime's intra-op pool; 0 lets ONNX Runtime choose (one per physical core).</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Threads of the inter-op pool; 0 lets ONNX Runtime choose.</summary>
    public int InterOpThreads { get; init; }

    /// <summary>
    /// Receives informational messages: which execution provider a session runs on when a GPU was asked for, and why
    /// it fell back to the CPU. <see cref="MLContextLog.For"/> routes them
    /// into an <c>MLContext</c>'s log.
    /// </summary>
    public Action<string>? Log { get; init; }

    /// <summary>
    /// When set, ONNX Runtime profiles every session made with these options into <c>{prefix}_*.json</c> (for
    /// diagnosis; see <see cref="OnnxSession.EndProfiling"/>) and writes each optimized graph to <c>{prefix}_*.onnx</c>.
    /// </summary>
    internal string? ProfilePrefix { get; init; }

    /// <summary>
    /// Route bound inputs and outputs through reusable ONNX Runtime-allocated tensors (<see cref="StagingBuffers"/>)
    /// even on the CPU, where managed memory is otherwise bound without copies. CUDA sessions always stage (through
    /// page-locked memory); this switch lets the same path be tested on machines without a GPU.
    /// </summary>
    internal bool Stage { get; init; }

    /// <summary>The precision the model and its gradients run in; default <see cref="ComputePrecision.Float32"/>.</summary>
    public ComputePrecision Precision { get; init; }

    /// <summary>
    /// With <see cref="ComputePrecision.Float64"/>: refuse (NotSupportedException naming them) ops that have no float64
    /// kernel instead of running them in float32, so that a result is float64 throughout or not at all. Default false.
    /// </summary>
    public bool RequireFloat64Kernels { get; init; }

    /// <summary>
    /// A folder that keeps work between processes: ONNX Runtime's optimized graph of every model a CPU session is made
    /// for, and the gradient graphs built from a model (keyed by the SHA-256 of the model bytes, the output, the
    /// differentiated tensors and the rule set). A later process with the same folder skips building the gradient graph
    /// and optimizing either graph. Null (the default) keeps nothing on disk; <see cref="DefaultCacheDirectory"/> is the
    /// user's cache folder. Entries are tied to this ONNX Runtime, this build of the library and this CPU's instruction
    /// sets; the folder may be deleted at any time.
    /// </summary>
    public string? CacheDirectory { get; init; }

    /// <summary>
    /// The user's cache folder for this library: <c>$XDG_CACHE_HOME/microsoft-ml-attribution</c>, else
    /// <c>~/.cache/microsoft-ml-attribution</c> (the local application-data folder on Windows).
    /// </summary>
    public static string DefaultCacheDirectory
    {
        get
        {
            string? root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (string.IsNullOrEmpty(root))
                root = OperatingSystem.IsWindows()
                    ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
                    : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
            return Path.Combine(root, "microsoft-ml-attribution");
        }
    }

    /// <summary>CPU, ONNX Runtime's default threading.</summary>
    public static RuntimeOptions Default { get; } = new();

    /// <summary>
    /// Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c> (the command line's <c>--device</c>); CUDA falls back to the CPU
    /// with a log line where it cannot be used.
    /// </summary>
    /// <exception cref="ArgumentException">Any other text.</exception>
    public static RuntimeOptions ForDevice(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var text = device.Trim().ToLowerInvariant();
        if (text == "cpu") return new RuntimeOptions();
        if (text == "cuda") return new RuntimeOptions { GpuDeviceId = 0, FallbackToCpu = true };
        if (text.StartsWith("cuda:", StringComparison.Ordinal) &&
            int.TryParse(text.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
            return new RuntimeOptions { GpuDeviceId = id, FallbackToCpu = true };
        throw new ArgumentException($"Device '{device}' is not one of cpu, cuda, cuda:N.", nameof(device));
    }
}

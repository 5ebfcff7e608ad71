namespace Microsoft.ML.Attribution.Runtime;

/// <summary>Where ONNX Runtime runs a model.</summary>
public enum ExecutionDevice
{
    /// <summary>The CPU execution provider (always available).</summary>
    Cpu,

    /// <summary>The CUDA execution provider, when the referenced ONNX Runtime build has it; otherwise the CPU, with one log line.</summary>
    Cuda,
}

/// <summary>ONNX Runtime settings for attribution sessions.</summary>
public sealed record RuntimeOptions
{
    /// <summary>The device asked for. Default: CPU.</summary>
    public ExecutionDevice Device { get; init; } = ExecutionDevice.Cpu;

    /// <summary>CUDA device ordinal when <see cref="Device"/> is CUDA.</summary>
    public int CudaDeviceId { get; init; }

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
    /// Receives informational messages such as the CUDA → CPU fallback. <see cref="MLContextLog.For"/> routes them
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

    /// <summary>CPU, ONNX Runtime's default threading.</summary>
    public static RuntimeOptions Default { get; } = new();

    /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    /// <exception cref="ArgumentException">Any other text.</exception>
    public static RuntimeOptions ForDevice(string device)
    {
        ArgumentNullException.ThrowIfNull(device);
        var text = device.Trim().ToLowerInvariant();
        if (text == "cpu") return new RuntimeOptions();
        if (text == "cuda") return new RuntimeOptions { Device = ExecutionDevice.Cuda };
        if (text.StartsWith("cuda:", StringComparison.Ordinal) &&
            int.TryParse(text.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
            return new RuntimeOptions { Device = ExecutionDevice.Cuda, CudaDeviceId = id };
        throw new ArgumentException($"Device '{device}' is not one of cpu, cuda, cuda:N.", nameof(device));
    }
}

using Microsoft.ML.Attribution.Tensors;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microsoft.ML.Attribution.Runtime;

/// <summary>
/// Tensors allocated by ONNX Runtime, one per (name, shape), kept and reused run after run for a session's bound inputs
/// and outputs. On CUDA they live in page-locked host memory (the session's <c>CudaPinned</c> allocator), which the
/// device reads and writes by DMA without ONNX Runtime's pageable-memory staging; on the CPU the same path runs over
/// ONNX Runtime's CPU allocator (how it is tested on machines without a GPU).
/// </summary>
internal sealed class StagingBuffers : IDisposable
{
    // Chunked runs use at most two shapes per tensor (full chunks and the last one); more means the callers' shapes vary.
    private const int MaxKept = 32;
    private readonly OrtAllocator _allocator;
    private readonly Dictionary<(string Name, TensorElementType Type, string Shape), OrtValue> _values = new();

    private StagingBuffers(OrtAllocator allocator, OrtMemoryInfo memory)
    {
        _allocator = allocator;
        Memory = memory;
    }

    /// <summary>Where the buffers live.</summary>
    public OrtMemoryInfo Memory { get; }

    /// <summary>The memory staged buffers take for a session on <paramref name="device"/>: pinned host memory on CUDA, else CPU memory.</summary>
    public static OrtMemoryInfo MemoryFor(ExecutionDevice device, int deviceId) => device == ExecutionDevice.Cuda
        ? new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA_PINNED, OrtAllocatorType.DeviceAllocator, deviceId, OrtMemType.CpuOutput)
        : OrtMemoryInfo.DefaultInstance;

    /// <summary>Staging buffers from <paramref name="session"/>'s allocator for <paramref name="device"/>'s staging memory.</summary>
    /// <exception cref="InvalidOperationException">The session has no such allocator (e.g. CUDA staging on the CPU package).</exception>
    public static StagingBuffers For(InferenceSession session, ExecutionDevice device, int deviceId)
    {
        var memory = MemoryFor(device, deviceId);
        try
        {
            return new StagingBuffers(new OrtAllocator(session, memory), memory);
        }
        catch (OnnxRuntimeException e)
        {
            string name = memory.Name;
            if (!ReferenceEquals(memory, OrtMemoryInfo.DefaultInstance)) memory.Dispose();
            throw new InvalidOperationException($"The ONNX Runtime session has no allocator for '{name}' memory (device {deviceId}): {e.Message} " +
                (device == ExecutionDevice.Cuda ? "Page-locked staging needs a session running on the CUDA execution provider (Microsoft.ML.OnnxRuntime.Gpu)." : ""), e);
        }
    }

    /// <summary>
    /// Called before binding a run: drops the kept tensors once there are many (callers' shapes vary), never during a
    /// run, whose bound tensors must stay alive until its outputs are copied out.
    /// </summary>
    public void BeginRun()
    {
        if (_values.Count >= MaxKept) Clear();
    }

    /// <summary>The staged tensor for <paramref name="input"/>, holding a copy of its values.</summary>
    public OrtValue Input(NamedInput input) => input.Data switch
    {
        float[] f => Copy(input, f, TensorElementType.Float),
        long[] l => Copy(input, l, TensorElementType.Int64),
        double[] d => Copy(input, d, TensorElementType.Double),
        int[] i => Copy(input, i, TensorElementType.Int32),
        _ => throw new NotSupportedException($"Input '{input.Name}' has element type {input.Data.GetType().GetElementType()?.Name}; use float, double, long or int."),
    };

    private OrtValue Copy<T>(NamedInput input, T[] data, TensorElementType type) where T : unmanaged
    {
        var value = Take(input.Name, type, input.Shape);
        data.AsSpan(input.Offset, checked((int)NdArray<float>.ShapeSize(input.Shape))).CopyTo(value.GetTensorMutableDataAsSpan<T>());
        return value;
    }

    /// <summary>The staged float tensor for <paramref name="output"/> (copy it out with <see cref="CopyOut"/> after the run).</summary>
    public OrtValue Output(NamedOutput output) => Take(output.Name, TensorElementType.Float, output.Shape);

    /// <summary>Copies a staged output into its caller-owned destination.</summary>
    public static void CopyOut(OrtValue staged, NamedOutput output) =>
        staged.GetTensorDataAsSpan<float>().CopyTo(output.Memory.Span);

    private OrtValue Take(string name, TensorElementType type, int[] shape)
    {
        var key = (name, type, NdArray<float>.FormatShape(shape));
        if (_values.TryGetValue(key, out var value)) return value;
        value = OrtValue.CreateAllocatedTensorValue(_allocator, type, shape.Select(d => (long)d).ToArray());
        _values[key] = value;
        return value;
    }

    /// <summary>How many staged tensors are kept.</summary>
    public int Count => _values.Count;

    private void Clear()
    {
        foreach (var v in _values.Values) v.Dispose();
        _values.Clear();
    }

    public void Dispose()
    {
        Clear();
        _allocator.Dispose();
        if (!ReferenceEquals(Memory, OrtMemoryInfo.DefaultInstance)) Memory.Dispose();
    }
}

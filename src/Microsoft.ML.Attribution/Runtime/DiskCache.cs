using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.OnnxRuntime;

namespace Microsoft.ML.Attribution.Runtime;

/// <summary>
/// Files kept between processes under <see cref="RuntimeOptions.CacheDirectory"/>: ONNX Runtime's optimized graph of
/// each model (named by the SHA-256 of the model bytes) and small index files that map a key (e.g. model + output +
/// differentiated tensors + rule set) to the hash of a model built from it. Every name carries a tag of this
/// environment — ONNX Runtime's version, this library's version, the process architecture and the CPU's vector
/// instruction sets — because ONNX Runtime's fully optimized graphs may hold kernels for this CPU only. Writes go to a
/// temporary file renamed into place, so concurrent processes never read half a file; a file that fails to load is
/// deleted and rebuilt.
/// </summary>
internal static class DiskCache
{
    private static readonly Lazy<string> Tag = new(ComputeTag);

    /// <summary>The SHA-256 of bytes as upper-case hex (the cache's and the session cache's key).</summary>
    public static string Hash(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes));

    /// <summary>The SHA-256 of a text key.</summary>
    public static string Hash(string key) => Hash(Encoding.UTF8.GetBytes(key));

    /// <summary>Where the optimized graph of the model with this hash lives, or null when these options keep nothing on disk.</summary>
    /// <remarks>CPU sessions only: a graph optimized for CUDA holds provider-specific nodes; profiling sessions write their own.</remarks>
    public static string? OptimizedModelPath(RuntimeOptions options, string modelHash) =>
        Folder(options) is { } folder && options.GpuDeviceId is null && options.ProfilePrefix is null
            ? Path.Combine(folder, $"ort-{modelHash[..32]}-{Tag.Value}.onnx")
            : null;

    /// <summary>The lines stored for a key, or null.</summary>
    public static string[]? ReadIndex(RuntimeOptions options, string kind, string key)
    {
        if (Folder(options) is not { } folder) return null;
        string path = IndexPath(folder, kind, key);
        try
        {
            return File.Exists(path) ? File.ReadAllLines(path) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>Stores lines for a key (best effort: an unwritable cache only costs the next process the work again).</summary>
    public static void WriteIndex(RuntimeOptions options, string kind, string key, IEnumerable<string> lines)
    {
        if (Folder(options) is not { } folder) return;
        string path = IndexPath(folder, kind, key);
        string temporary = TemporaryPath(path);
        try
        {
            File.WriteAllLines(temporary, lines);
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            TryDelete(temporary);
        }
    }

    /// <summary>A unique sibling of <paramref name="path"/> to write before renaming it into place.</summary>
    public static string TemporaryPath(string path) => $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";

    public static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // another process holds it, or the folder is read-only: nothing to clean up from here
        }
    }

    private static string IndexPath(string folder, string kind, string key) => Path.Combine(folder, $"{kind}-{Hash(key + "\n" + Tag.Value)[..32]}.txt");

    /// <summary>The cache folder (created), or null when none is set or it cannot be created.</summary>
    private static string? Folder(RuntimeOptions options)
    {
        if (string.IsNullOrEmpty(options.CacheDirectory)) return null;
        try
        {
            return Directory.CreateDirectory(options.CacheDirectory).FullName;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string ComputeTag()
    {
        string isa = string.Concat(
            Avx2.IsSupported ? "avx2," : "", Avx512F.IsSupported ? "avx512f," : "", Avx512BW.IsSupported ? "avx512bw," : "",
            AvxVnni.IsSupported ? "avxvnni," : "", Avx512Vbmi.IsSupported ? "avx512vbmi," : "", Fma.IsSupported ? "fma," : "");
        string library = typeof(DiskCache).Assembly.ManifestModule.ModuleVersionId.ToString("N");
        string text = $"{OrtEnv.Instance().GetVersionString()}|{library}|{RuntimeInformation.ProcessArchitecture}|{isa}";
        return Hash(text)[..12];
    }
}

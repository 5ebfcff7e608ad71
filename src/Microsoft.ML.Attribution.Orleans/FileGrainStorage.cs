using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Orleans.Storage;

namespace Microsoft.ML.Attribution.Orleans;

/// <summary>
/// Grain state as JSON files in a folder, with etags: a job's plan outlives its silos and a whole-cluster restart on one
/// machine (or a shared file system). For a production cluster use Redis or ADO.NET grain storage under
/// <see cref="ExplanationJobs.StorageName"/>.
/// </summary>
public sealed class FileGrainStorage(string directory) : IGrainStorage
{
    private static readonly ConcurrentDictionary<string, SemaphoreSlim> Gates = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        string path = PathOf(stateName, grainId);
        if (!File.Exists(path)) return;
        var saved = JsonSerializer.Deserialize<Saved<T>>(await File.ReadAllTextAsync(path))!;
        grainState.State = saved.State;
        grainState.ETag = saved.ETag;
        grainState.RecordExists = true;
    }

    /// <inheritdoc />
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        string path = PathOf(stateName, grainId);
        var gate = Gates.GetOrAdd(path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync();
        try
        {
            string? current = File.Exists(path) ? JsonSerializer.Deserialize<Saved<T>>(await File.ReadAllTextAsync(path))!.ETag : null;
            if (current != grainState.ETag)
                throw new InconsistentStateException($"Grain state '{path}' has etag {current ?? "(none)"}; the writer holds {grainState.ETag ?? "(none)"}.", current, grainState.ETag);
            string etag = Guid.NewGuid().ToString("N");
            Directory.CreateDirectory(directory);
            string temporary = $"{path}.{etag}.tmp";
            await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(new Saved<T>(etag, grainState.State!)));
            File.Move(temporary, path, overwrite: true);
            grainState.ETag = etag;
            grainState.RecordExists = true;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        File.Delete(PathOf(stateName, grainId));
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private string PathOf(string stateName, GrainId grainId)
    {
        var name = new StringBuilder(stateName).Append('-');
        foreach (char c in grainId.ToString()) name.Append(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_');
        return Path.Combine(directory, name.Append(".json").ToString());
    }

    private sealed record Saved<T>(string ETag, T State);
}

namespace Microsoft.ML.Attribution.Cli;

/// <summary>
/// What Ctrl+C must undo: the <c>.partial</c> files being written. The run checks its cancellation token between
/// batches and before moving an output into place (under <see cref="Gate"/>); the SIGINT handler calls
/// <see cref="Abandon"/> when a batch inside ONNX Runtime does not return in time, so no partial file survives either way.
/// </summary>
internal static class Interrupt
{
    private static readonly object Gate = new();
    private static readonly HashSet<string> Partials = new(StringComparer.Ordinal);
    private static bool _abandoned;

    public static void Track(string partial)
    {
        lock (Gate) Partials.Add(partial);
    }

    public static void Untrack(string partial)
    {
        lock (Gate) Partials.Remove(partial);
    }

    /// <summary>Moves a finished partial file into place unless the run was cancelled.</summary>
    public static void Commit(string partial, string path, CancellationToken cancellation)
    {
        lock (Gate)
        {
            if (_abandoned) throw new OperationCanceledException();
            cancellation.ThrowIfCancellationRequested();
            File.Move(partial, path, overwrite: true);
        }
    }

    /// <summary>Deletes every partial file and refuses later commits (the process is about to exit).</summary>
    public static void Abandon()
    {
        lock (Gate)
        {
            _abandoned = true;
            foreach (var partial in Partials)
            {
                try { File.Delete(partial); }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
        }
    }
}

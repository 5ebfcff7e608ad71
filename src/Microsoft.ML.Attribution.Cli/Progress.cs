using System.Diagnostics;
using System.Globalization;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>One self-overwriting stderr line per batch: rows done, rate and ETA (only on a terminal, never with --quiet).</summary>
internal sealed class Progress(TextWriter? sink, string label, int totalRows)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private bool _written;

    public void Report(int rowsDone)
    {
        if (sink is null) return;
        double seconds = _clock.Elapsed.TotalSeconds;
        double rate = seconds > 0 ? rowsDone / seconds : 0;
        string eta = rowsDone == 0 || rate <= 0 ? "?" : Format(TimeSpan.FromSeconds((totalRows - rowsDone) / rate));
        sink.Write(string.Create(CultureInfo.InvariantCulture,
            $"\r{label}: {rowsDone}/{totalRows} rows ({100.0 * rowsDone / Math.Max(1, totalRows):0}%), {rate:0.0} rows/s, ETA {eta}   "));
        sink.Flush();
        _written = true;
    }

    /// <summary>Ends the line (so the next output starts on its own line).</summary>
    public void Finish()
    {
        if (sink is null || !_written) return;
        sink.WriteLine();
        sink.Flush();
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss", CultureInfo.InvariantCulture) : t.ToString(@"m\:ss", CultureInfo.InvariantCulture);
}

#:property PublishAot=false
// Executes .ipynb notebooks top to bottom through `dotnet-interactive stdio` and writes their outputs back.
//
// Usage (from the repository root, after `dotnet tool restore`):
//     dotnet run build/notebooks/run-notebooks.cs -- [--timeout SECONDS] NOTEBOOK...
//
// Each notebook gets a fresh kernel whose working directory is the notebook's folder (as in VS Code). Every code cell is
// sent as a SubmitCode command; the events it raises become the cell's outputs: return values and displays become
// execute_result / display_data with every MIME type the kernel formatted, console output becomes streams, a failure
// an error output. The notebook is written back with its outputs. The exit status is non-zero when any cell fails or
// times out, so CI fails on a notebook that does not run. The kernel is the repository's local tool
// (.config/dotnet-tools.json). A .NET file-based app, so CI needs nothing but the SDK.
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

double timeout = 600;
var paths = new List<string>();
for (int i = 0; i < args.Length; i++)
{
    if (args[i] == "--timeout" && i + 1 < args.Length) timeout = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture);
    else if (args[i].StartsWith("--", StringComparison.Ordinal)) { Console.Error.WriteLine($"unknown option {args[i]}"); return 2; }
    else paths.Add(args[i]);
}
if (paths.Count == 0) { Console.Error.WriteLine("usage: run-notebooks.cs [--timeout SECONDS] NOTEBOOK..."); return 2; }

var failures = new List<string>();
foreach (var path in paths) failures.AddRange(Notebooks.Run(path, TimeSpan.FromSeconds(timeout)));
foreach (var failure in failures) Console.Error.WriteLine(failure);
return failures.Count == 0 ? 0 : 1;

static class Notebooks
{
    static readonly Dictionary<string, string> DisplayEvents = new()
    {
        ["ReturnValueProduced"] = "execute_result",
        ["DisplayedValueProduced"] = "display_data",
    };

    static readonly Dictionary<string, string> StreamEvents = new()
    {
        ["StandardOutputValueProduced"] = "stdout",
        ["StandardErrorValueProduced"] = "stderr",
    };

    /// <summary>Jupyter stores multi-line strings as lists of lines, each keeping its newline.</summary>
    static JsonArray Lines(string text)
    {
        var result = new JsonArray();
        int start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] != '\n') continue;
            result.Add(JsonValue.Create(text[start..(i + 1)]));
            start = i + 1;
        }
        if (start < text.Length || result.Count == 0) result.Add(JsonValue.Create(text[start..]));
        return result;
    }

    static string SourceText(JsonNode cell) => cell["source"] switch
    {
        JsonArray parts => string.Concat(parts.Select(p => p?.GetValue<string>() ?? "")),
        JsonNode text => text.GetValue<string>(),
        null => "",
    };

    static string CellKernel(JsonNode cell, string fallback) =>
        cell["metadata"]?["polyglot_notebook"]?["kernelName"]?.GetValue<string>()
        ?? cell["metadata"]?["dotnet_interactive"]?["language"]?.GetValue<string>()
        ?? fallback;

    public static List<string> Run(string path, TimeSpan timeout)
    {
        var notebook = JsonNode.Parse(File.ReadAllText(path))!;
        string fallback = notebook["metadata"]?["polyglot_notebook"]?["kernelInfo"]?["defaultKernelName"]?.GetValue<string>() ?? "csharp";
        var failures = new List<string>();
        var started = Stopwatch.StartNew();
        int count = 0;
        using (var kernel = new Kernel(Path.GetDirectoryName(Path.GetFullPath(path))!))
        {
            var cells = notebook["cells"]!.AsArray();
            for (int index = 0; index < cells.Count; index++)
            {
                var cell = cells[index]!;
                if (cell["cell_type"]?.GetValue<string>() != "code") continue;
                count++;
                var cellStarted = Stopwatch.StartNew();
                var (outputs, error) = kernel.Submit(count.ToString(), SourceText(cell), CellKernel(cell, fallback), timeout);
                if (error is not null)
                {
                    var traceback = new JsonArray(error.Split('\n').Select(l => (JsonNode?)JsonValue.Create(l)).ToArray());
                    outputs.Add(new JsonObject
                    {
                        ["output_type"] = "error",
                        ["ename"] = "CellFailed",
                        ["evalue"] = error.Split('\n')[0],
                        ["traceback"] = traceback,
                    });
                    failures.Add($"{path}: cell {index} (code cell {count}) failed: {error}");
                }
                cell["outputs"] = outputs;
                cell["execution_count"] = count;
                Console.WriteLine($"  cell {count}: {outputs.Count} output(s), {cellStarted.Elapsed.TotalSeconds:F1} s{(error is null ? "" : " FAILED")}");
                if (error is not null) break; // later cells depend on this one
            }
        }
        var options = new JsonSerializerOptions { WriteIndented = true, IndentSize = 1, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        File.WriteAllText(path, notebook.ToJsonString(options) + "\n", new UTF8Encoding(false));
        Console.WriteLine($"{path}: {count} code cell(s) in {started.Elapsed.TotalSeconds:F1} s{(failures.Count > 0 ? " FAILED" : "")}");
        return failures;
    }

    sealed class Kernel : IDisposable
    {
        readonly Process _process;
        readonly BlockingCollection<JsonNode?> _events = new();
        readonly ConcurrentQueue<string> _stderr = new();

        public Kernel(string workingDirectory)
        {
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = Encoding.UTF8,
                StandardInputEncoding = new UTF8Encoding(false),
            };
            foreach (var a in new[] { "tool", "run", "dotnet-interactive", "--", "stdio" }) start.ArgumentList.Add(a);
            _process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet-interactive");
            _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) _stderr.Enqueue(e.Data); };
            _process.BeginErrorReadLine();
            new Thread(ReadEvents) { IsBackground = true }.Start();
        }

        void ReadEvents()
        {
            string? line;
            while ((line = _process.StandardOutput.ReadLine()) is not null)
            {
                line = line.Trim();
                if (!line.StartsWith('{')) continue;
                try { _events.Add(JsonNode.Parse(line)); }
                catch (JsonException) { }
            }
            _events.Add(null);
        }

        /// <summary>Runs one cell; returns its outputs and an error message, or null when it succeeded.</summary>
        public (JsonArray Outputs, string? Error) Submit(string token, string code, string kernelName, TimeSpan timeout)
        {
            var envelope = new JsonObject
            {
                ["token"] = token,
                ["commandType"] = "SubmitCode",
                ["command"] = new JsonObject { ["code"] = code, ["targetKernelName"] = kernelName },
            };
            _process.StandardInput.WriteLine(envelope.ToJsonString());
            _process.StandardInput.Flush();
            var outputs = new JsonArray();
            var deadline = DateTime.UtcNow + timeout;
            while (true)
            {
                var left = deadline - DateTime.UtcNow;
                if (!_events.TryTake(out var received, left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(10)))
                    return (outputs, $"the cell did not finish within {timeout.TotalSeconds} s");
                if (received is null)
                    return (outputs, "the kernel exited: " + string.Join("\n", _stderr.TakeLast(20)));
                string commandToken = received["command"]?["token"]?.GetValue<string>() ?? "";
                if (commandToken != token && !commandToken.StartsWith(token + ".", StringComparison.Ordinal)) continue;
                string kind = received["eventType"]?.GetValue<string>() ?? "";
                var e = received["event"];
                var values = e?["formattedValues"]?.AsArray() ?? [];
                if (DisplayEvents.TryGetValue(kind, out var outputType))
                {
                    var data = new JsonObject();
                    foreach (var v in values)
                    {
                        if (v?["suppressDisplay"]?.GetValue<bool>() == true) continue;
                        data[v!["mimeType"]!.GetValue<string>()] = Lines(v["value"]?.GetValue<string>() ?? "");
                    }
                    if (data.Count > 0)
                        outputs.Add(new JsonObject { ["output_type"] = outputType, ["data"] = data, ["metadata"] = new JsonObject() });
                }
                else if (StreamEvents.TryGetValue(kind, out var stream))
                {
                    string text = string.Concat(values.Where(v => v?["mimeType"]?.GetValue<string>() == "text/plain")
                        .Select(v => v!["value"]?.GetValue<string>() ?? ""));
                    outputs.Add(new JsonObject { ["output_type"] = "stream", ["name"] = stream, ["text"] = Lines(text) });
                }
                else if (kind == "CommandFailed" && commandToken == token)
                    return (outputs, e?["message"]?.GetValue<string>() ?? "the command failed");
                else if (kind == "CommandSucceeded" && commandToken == token)
                    return (outputs, null);
            }
        }

        public void Dispose()
        {
            // `dotnet tool run` starts the kernel as a child process: end the whole tree, not only the launcher.
            try { _process.StandardInput.Close(); } catch (IOException) { }
            try
            {
                if (!_process.WaitForExit(TimeSpan.FromSeconds(5))) _process.Kill(entireProcessTree: true);
                _process.WaitForExit(TimeSpan.FromSeconds(30));
            }
            catch (InvalidOperationException) { }
            _process.Dispose();
        }
    }
}

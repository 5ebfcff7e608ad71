using System.Globalization;
using Microsoft.ML.Attribution.Methods;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>A usage error: reported as one line, exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// <c>--name value</c> options after a command word; every value is required and every option known, except the
/// switches (<c>--quiet</c>, <c>--help</c>), which take none.
/// </summary>
/// <remarks>
/// Why this small parser and not System.CommandLine 3.0.0 (which the feed serves): the explain command's options are
/// not a fixed list but the properties of whichever options record the registry holds for the chosen method (and, for
/// a wrapper, the wrapped method), so the valid set is known only after <c>--method</c> is read. System.CommandLine
/// wants the option tree declared up front; declaring every method's flags on one command would accept a flag for the
/// wrong method, and rebuilding the tree per method means parsing twice. This parser is ~100 lines, gives "did you mean"
/// from the registry's own edit distance, and keeps every error one line naming the option; nothing here knows a method.
/// </remarks>
internal sealed class CommandLine
{
    /// <summary>Options that take no value.</summary>
    public static readonly IReadOnlySet<string> Switches = new HashSet<string>(StringComparer.Ordinal) { "quiet", "help" };

    /// <summary>Options that may be given several times (<c>--input NAME=FILE</c> once per model input); <see cref="Values"/> reads them.</summary>
    public static readonly IReadOnlySet<string> Repeatable = new HashSet<string>(StringComparer.Ordinal) { "input", "fixed", "baseline", "mask" };

    private readonly Dictionary<string, string> _values;
    private readonly Dictionary<string, List<string>> _repeated = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    private CommandLine(Dictionary<string, string> values) => _values = values;

    public static CommandLine Parse(IReadOnlyList<string> args, IReadOnlySet<string> known)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var repeated = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
                throw new UsageException($"unexpected argument '{arg}'; options look like --name value");
            string name = arg[2..];
            string? inline = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
            if (Switches.Contains(name) && inline is null)
            {
                if (!values.TryAdd(name, "true")) throw new UsageException($"option --{name} is given twice");
                continue;
            }
            if (!known.Contains(name))
            {
                string? near = MethodRegistry.Nearest(name, known.Concat(Switches));
                throw new UsageException($"unknown option --{name}{(near is null ? "" : $" (did you mean --{near}?)")}; " +
                    $"known options: {string.Join(", ", known.Order().Select(k => "--" + k))}");
            }
            string value = inline ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"option --{name} needs a value"));
            if (!values.TryAdd(name, value) && !Repeatable.Contains(name)) throw new UsageException($"option --{name} is given twice");
            if (Repeatable.Contains(name)) (repeated.TryGetValue(name, out var list) ? list : repeated[name] = []).Add(value);
        }
        var line = new CommandLine(values);
        foreach (var (name, list) in repeated) line._repeated[name] = list;
        return line;
    }

    /// <summary>Every value of a repeatable option, in the order given (empty when absent).</summary>
    public IReadOnlyList<string> Values(string name)
    {
        _used.Add(name);
        return _repeated.TryGetValue(name, out var list) ? list : [];
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public IEnumerable<string> Given => _values.Keys;

    public IEnumerable<string> Unused => _values.Keys.Where(k => !_used.Contains(k));

    public string? String(string name)
    {
        if (_repeated.TryGetValue(name, out var list) && list.Count > 1) throw new UsageException($"option --{name} is given twice");
        _used.Add(name);
        return _values.GetValueOrDefault(name);
    }

    public string Required(string name, string why) => String(name) ?? throw new UsageException($"--{name} is required {why}");

    public int? Int(string name)
    {
        var text = String(name);
        if (text is null) return null;
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value)
            ? value : throw new UsageException($"--{name} expects an integer, got '{text}'");
    }

    public double? Double(string name)
    {
        var text = String(name);
        if (text is null) return null;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value)
            ? value : throw new UsageException($"--{name} expects a number, got '{text}'");
    }

    public bool? Bool(string name)
    {
        var text = String(name);
        return text?.ToLowerInvariant() switch
        {
            null => null,
            "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            _ => throw new UsageException($"--{name} expects true or false, got '{text}'"),
        };
    }

    public int[]? Ints(string name)
    {
        var text = String(name);
        if (text is null) return null;
        try
        {
            return text.Split(',', StringSplitOptions.TrimEntries).Select(t => int.Parse(t, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new UsageException($"--{name} expects comma-separated integers like 1,4,4, got '{text}'");
        }
    }
}

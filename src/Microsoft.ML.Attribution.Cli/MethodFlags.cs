using System.Globalization;
using System.Reflection;
using System.Text;
using Microsoft.ML.Attribution.Methods;

namespace Microsoft.ML.Attribution.Cli;

/// <summary>
/// Command-line flags of a method, read from its options record in <see cref="MethodRegistry"/>: every public property is
/// a flag named in kebab-case (<c>Steps</c> → <c>--steps</c>, <c>LayerInput</c> → <c>--layer-input</c>), its default is
/// the record's. Nothing about a particular method is written here.
/// </summary>
internal static class MethodFlags
{
    /// <summary>The settable properties of an options record, by flag name.</summary>
    public static IReadOnlyDictionary<string, PropertyInfo> Of(Type optionsType) => optionsType
        .GetProperties(BindingFlags.Public | BindingFlags.Instance)
        .Where(p => p.CanWrite && p.Name != "EqualityContract" && p.PropertyType != typeof(MethodOptions))
        .ToDictionary(p => Kebab(p.Name), StringComparer.Ordinal);

    /// <summary>Every flag any registered method takes.</summary>
    public static IEnumerable<string> All => MethodRegistry.All.SelectMany(m => Of(m.OptionsType).Keys).Distinct();

    /// <summary>The flags a method reads: its own, and for a wrapper those of the wrapped method too.</summary>
    public static HashSet<string> For(AttributionMethod method, AttributionMethod? wrapped) =>
        [.. Of(method.OptionsType).Keys, .. wrapped is null ? [] : Of(wrapped.OptionsType).Keys];

    /// <summary>The method's options: its defaults with every given flag applied.</summary>
    public static MethodOptions Read(AttributionMethod method, CommandLine line)
    {
        var options = method.CreateDefaultOptions();
        foreach (var (flag, property) in Of(method.OptionsType))
        {
            if (line.String(flag) is not { } text) continue;
            property.SetValue(options, Parse(flag, text, property.PropertyType));
        }
        foreach (var (flag, property) in Of(method.OptionsType))
        {
            if (property.GetCustomAttributes(typeof(RequiredOptionAttribute), true).Length > 0 && property.GetValue(options) is null)
                throw new UsageException($"--{flag} is required for {method.Name} ({Expected(Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType)})");
        }
        if (options is NoiseTunnelOptions tunnel)
        {
            var wrapped = MethodRegistry.Get(tunnel.BaseMethod);
            options = tunnel with { BaseOptions = Read(wrapped, line) };
        }
        return options;
    }

    /// <summary>One line per flag with its default, for help texts.</summary>
    public static string Describe(AttributionMethod method)
    {
        var defaults = method.CreateDefaultOptions();
        var text = new StringBuilder();
        foreach (var (flag, property) in Of(method.OptionsType))
            text.Append(CultureInfo.InvariantCulture, $" [--{flag} {Format(property.GetValue(defaults))}]");
        return text.ToString();
    }

    /// <summary>One line per flag: <c>--flag TYPE  (default: value)</c>, then any required flag marked.</summary>
    public static IEnumerable<string> Lines(AttributionMethod method)
    {
        var defaults = method.CreateDefaultOptions();
        foreach (var (flag, property) in Of(method.OptionsType))
        {
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            string values = type.IsEnum ? string.Join("|", Enum.GetNames(type).Select(Kebab))
                : type == typeof(int) ? "INT" : type == typeof(double) ? "NUMBER" : type == typeof(bool) ? "true|false"
                : type == typeof(int[]) ? "INT,INT,…" : "NAME";
            bool required = property.GetCustomAttributes(typeof(RequiredOptionAttribute), true).Length > 0;
            yield return $"--{flag} {values}  ({(required ? "required" : "default: " + Format(property.GetValue(defaults)))})";
        }
    }

    private static string Format(object? value) => value switch
    {
        null => "(none)",
        bool b => b ? "true" : "false",
        int[] ints => string.Join(",", ints),
        Enum e => Kebab(e.ToString()),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static object? Parse(string flag, string text, Type type)
    {
        var target = Nullable.GetUnderlyingType(type) ?? type;
        try
        {
            if (target == typeof(string)) return text;
            if (target == typeof(int)) return int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
            if (target == typeof(double)) return double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            if (target == typeof(bool))
                return text.ToLowerInvariant() switch
                {
                    "true" or "1" or "yes" => true,
                    "false" or "0" or "no" => false,
                    _ => throw new FormatException(),
                };
            if (target == typeof(int[]))
                return text.Split(',', StringSplitOptions.TrimEntries).Select(t => int.Parse(t, NumberStyles.Integer, CultureInfo.InvariantCulture)).ToArray();
            if (target.IsEnum)
            {
                // Accept kebab-case, snake_case or run-together names (riemann-left, smoothgrad-sq, gausslegendre).
                string key = Squash(text).Replace("sq", "squared", StringComparison.Ordinal).Replace("squaredared", "squared", StringComparison.Ordinal);
                foreach (var name in Enum.GetNames(target))
                    if (Squash(name) == key || Squash(name) == Squash(text)) return Enum.Parse(target, name);
                throw new UsageException($"--{flag} '{text}' is not one of {string.Join(", ", Enum.GetNames(target).Select(Kebab))}");
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            throw new UsageException($"--{flag} expects {Expected(target)}, got '{text}'");
        }
        throw new NotSupportedException($"Option type {type.Name} of --{flag} has no parser.");
    }

    private static string Expected(Type type) =>
        type == typeof(int) ? "an integer" : type == typeof(double) ? "a number" : type == typeof(bool) ? "true or false"
        : type == typeof(int[]) ? "comma-separated integers like 1,4,4" : type == typeof(string) ? "a name" : type.Name;

    private static string Squash(string text) => text.Replace("-", "", StringComparison.Ordinal).Replace("_", "", StringComparison.Ordinal).ToLowerInvariant();

    /// <summary>PascalCase → kebab-case.</summary>
    public static string Kebab(string name)
    {
        var text = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && (!char.IsUpper(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1])))) text.Append('-');
            text.Append(char.ToLowerInvariant(name[i]));
        }
        return text.ToString();
    }
}

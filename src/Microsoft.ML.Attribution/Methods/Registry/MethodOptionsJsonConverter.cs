using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Attribution.Methods;

/// <summary>
/// Saves a <see cref="MethodOptions"/> record with its type name (<c>{"Type": "KernelShapOptions", "Options": {…}}</c>)
/// and reads it back through the registry, so a saved explainer keeps its method's settings.
/// </summary>
public sealed class MethodOptionsJsonConverter : JsonConverter<MethodOptions>
{
    /// <inheritdoc />
    public override MethodOptions? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        string name = root.TryGetProperty("Type", out var t) ? t.GetString() ?? "" : throw new JsonException("Saved method options have no Type.");
        var type = MethodRegistry.All.Select(m => m.OptionsType).FirstOrDefault(o => o.Name == name)
            ?? throw new JsonException($"Saved method options are a '{name}', which no registered method takes (is the package that adds it referenced?).");
        return root.TryGetProperty("Options", out var value) ? (MethodOptions?)value.Deserialize(type, options) : (MethodOptions)Activator.CreateInstance(type)!;
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, MethodOptions value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("Type", value.GetType().Name);
        writer.WritePropertyName("Options");
        JsonSerializer.Serialize(writer, value, value.GetType(), options);
        writer.WriteEndObject();
    }
}

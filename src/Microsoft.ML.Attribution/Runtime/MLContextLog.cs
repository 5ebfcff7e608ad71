using Microsoft.ML.Runtime;

namespace Microsoft.ML.Attribution.Runtime;

/// <summary>Routes the library's messages into an <see cref="MLContext"/>'s log (its <c>Log</c> event).</summary>
public static class MLContextLog
{
    /// <summary>A sink that writes each message as a warning on an "Attribution" channel of the context.</summary>
    public static Action<string> For(MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        var host = ((IHostEnvironment)mlContext).Register("Attribution");
        return message =>
        {
            using var channel = host.Start("Runtime");
            channel.Warning(MessageSensitivity.None, message);
        };
    }
}

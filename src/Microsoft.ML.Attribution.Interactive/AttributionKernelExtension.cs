using Microsoft.DotNet.Interactive;

namespace Microsoft.ML.Attribution.Interactive;

/// <summary>
/// Registers <see cref="AttributionFormatters"/> when a notebook references the package
/// (<c>#r "nuget: Microsoft.ML.Attribution.Interactive"</c>): .NET Interactive instantiates every
/// <see cref="IKernelExtension"/> it finds in the package's <c>interactive-extensions/dotnet</c> folder.
/// </summary>
public sealed class AttributionKernelExtension : IKernelExtension
{
    /// <inheritdoc />
    public Task OnLoadAsync(Kernel kernel)
    {
        AttributionFormatters.Register();
        return Task.CompletedTask;
    }
}

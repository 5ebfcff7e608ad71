using System.Runtime.InteropServices;
using Microsoft.ML.Attribution.Cli;

using var cancel = new CancellationTokenSource();
// Ctrl+C: the run stops between batches, writes nothing and exits 130. A batch inside ONNX Runtime cannot be stopped, so
// after a grace period the partial files are removed and the process exits from here.
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
{
    context.Cancel = true;
    cancel.Cancel();
    _ = Task.Delay(TimeSpan.FromSeconds(2)).ContinueWith(_ =>
    {
        Interrupt.Abandon();
        Console.Error.WriteLine();
        Console.Error.WriteLine("interrupted: stopped before writing any output");
        Environment.Exit(CliApp.Interrupted);
    }, TaskScheduler.Default);
});
return CliApp.Run(args, Console.Out, Console.Error, new CliSession(cancel.Token, Terminal: !Console.IsErrorRedirected));

using Microsoft.ML.Attribution.Cli;

return CliApp.Run(args, Console.Out, Console.Error);

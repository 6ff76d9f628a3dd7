using System.CommandLine;
using SecureBuild.Cli;

// The trace launcher is a hidden mode that must do as little as possible before it executes the traced command.
if (args.Length > 0 && args[0] == SecureBuild.Core.Tracing.Linux.TraceLauncher.Verb)
{
    return TraceCommand.RunLauncher(args, Console.Error);
}

return CliApplication.Run(args, Console.Out, Console.Error);

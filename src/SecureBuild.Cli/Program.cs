using System.CommandLine;
using SecureBuild.Cli;

return CliApplication.Run(args, Console.Out, Console.Error);

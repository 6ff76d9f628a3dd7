using System.CommandLine;

namespace SecureBuild.Cli;

/// <summary>The `securebuild` command line: verbs over SecureBuild.Core. Exit codes: 0 success, 1 failure, 2 usage or unreadable input.</summary>
public static class CliApplication
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("securebuild: keys, in-toto layouts and verification for SecureBuild.Sdk builds.");
        root.Subcommands.Add(KeygenCommand.Create(stdout, stderr));
        root.Subcommands.Add(LayoutCommand.Create(stdout, stderr));
        root.Subcommands.Add(ProvenanceCommand.Create(stdout, stderr));
        root.Subcommands.Add(VerifyCommand.Create(stdout, stderr));
        root.Subcommands.Add(BundleCommand.Create(stdout, stderr));
        root.Subcommands.Add(LockCommand.Create(stdout, stderr));
        root.Subcommands.Add(ReproCommands.CreateDiff(stdout, stderr));
        root.Subcommands.Add(ReproCommands.CreateRebuild(stdout, stderr));
        root.Subcommands.Add(ReproCommands.CreateCompare(stdout, stderr));

        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                stderr.WriteLine($"securebuild: {error.Message}");
            }
            stderr.WriteLine("Run 'securebuild --help' for usage.");
            return Usage;
        }
        var config = new InvocationConfiguration { Output = stdout, Error = stderr };
        return parse.Invoke(config);
    }
}

using System.CommandLine;
using SecureBuild.Core.Diagnostics;

namespace SecureBuild.Cli;

/// <summary>
/// The `securebuild` command line: verbs over SecureBuild.Core. Exit codes: 0 success, 1 failure, 2 usage or unreadable
/// input. Fails closed: an exception a verb did not expect is reported as SB3900 on one line (the stack trace only
/// with SECUREBUILD_DEBUG=1) and exits 2, never with a stack trace and never with success.
/// </summary>
public static class CliApplication
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    /// <summary>An exception no verb expected: a bug, reported on one line with a request to report it.</summary>
    public const string InternalErrorCode = "SB3900";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr) => Invoke(CreateRoot(stdout, stderr), args, stdout, stderr);

    /// <summary>Every verb.</summary>
    internal static RootCommand CreateRoot(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("securebuild: keys, in-toto layouts and verification for SecureBuild.Sdk builds.");
        root.Subcommands.Add(KeygenCommand.Create(stdout, stderr));
        root.Subcommands.Add(KeyCommand.Create(stdout, stderr));
        root.Subcommands.Add(LayoutCommand.Create(stdout, stderr));
        root.Subcommands.Add(ProvenanceCommand.Create(stdout, stderr));
        root.Subcommands.Add(VerifyCommand.Create(stdout, stderr));
        root.Subcommands.Add(BundleCommand.Create(stdout, stderr));
        root.Subcommands.Add(AttestCommand.Create(stdout, stderr));
        root.Subcommands.Add(VerifyImageCommand.Create(stdout, stderr));
        root.Subcommands.Add(LockCommand.Create(stdout, stderr));
        root.Subcommands.Add(ReproCommands.CreateDiff(stdout, stderr));
        root.Subcommands.Add(ReproCommands.CreateRebuild(stdout, stderr));
        root.Subcommands.Add(ReproCommands.CreateCompare(stdout, stderr));
        root.Subcommands.Add(ApproveCommand.Create(stdout, stderr));
        root.Subcommands.Add(TraceCommand.Create(stdout, stderr));
        root.Subcommands.Add(InspectCommand.Create(stdout, stderr));
        root.Subcommands.Add(TrustCommand.Create(stdout, stderr));
        root.Subcommands.Add(TufCommand.Create(stdout, stderr));
        root.Subcommands.Add(SvidCommand.Create(stdout, stderr));
        root.Subcommands.Add(InitCommand.Create(stdout, stderr));
        root.Subcommands.Add(PipelineCommand.Create(stdout, stderr));
        return root;
    }

    /// <summary>Parses and runs one command line: parse errors exit 2, and so does any exception a verb lets escape.</summary>
    internal static int Invoke(RootCommand root, string[] args, TextWriter stdout, TextWriter stderr)
    {
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
        // System.CommandLine's own handler would print the stack trace and exit 1 (a verification verb's "failed").
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
        try
        {
            return parse.Invoke(config);
        }
        catch (Exception e) when (InternalError.IsCatchable(e))
        {
            ReportInternalError(VerbName(parse.CommandResult.Command), e, stderr);
            return Usage;
        }
    }

    /// <summary>Writes an unexpected exception as one SB3900 line (and the stack trace when SECUREBUILD_DEBUG=1).</summary>
    internal static void ReportInternalError(string verb, Exception e, TextWriter stderr)
    {
        try
        {
            stderr.WriteLine($"{verb}: {InternalErrorCode}: internal error: {InternalError.Describe(e)}. {InternalError.ReportHint}");
            if (InternalError.StackTraceIfAsked(e) is { } trace)
            {
                stderr.WriteLine(trace);
            }
        }
        catch (IOException)
        {
            // Standard error is gone (a closed pipe): the exit code still says the verb failed.
        }
    }

    /// <summary>"securebuild layout sign" for the layout sign command.</summary>
    private static string VerbName(Command command)
    {
        var names = new List<string>();
        for (Command? c = command; c is not null and not RootCommand; c = c.Parents.OfType<Command>().FirstOrDefault())
        {
            names.Insert(0, c.Name);
        }

        names.Insert(0, "securebuild");
        return string.Join(" ", names);
    }
}

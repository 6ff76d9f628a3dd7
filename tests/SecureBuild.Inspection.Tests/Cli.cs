using SecureBuild.Cli;

namespace SecureBuild.Inspection.Tests;

/// <summary>Runs `securebuild` in process and captures what it writes.</summary>
public static class Cli
{
    public static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = CliApplication.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}

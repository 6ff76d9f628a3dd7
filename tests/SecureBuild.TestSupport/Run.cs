using System.Diagnostics;
using System.Text;

namespace SecureBuild.TestSupport;

/// <summary>The result of one child process: its exit code and its standard output and error, interleaved.</summary>
public sealed record ProcessResult(int ExitCode, string Output)
{
    public override string ToString() => $"exit {ExitCode}\n{Output}";
}

/// <summary>
/// Runs real processes (dotnet, in-toto-verify, openssl) the way a user would: no inherited MSBuild or test-host
/// variables, no telemetry banner, no build server or node reuse that would outlive the test, bounded in time.
/// </summary>
public static class Run
{
    /// <summary>Variables the test host may carry that would make a child MSBuild behave unlike a user's.</summary>
    public static readonly IReadOnlyList<string> HostVariables = new[]
    {
        "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildExtensionsPath", "MSBuildLoadMicrosoftTargetsReadOnly",
        "VSTEST_HOST_DEBUG", "SecureBuildSigningKey", "SecureBuildDevelopmentKeyFile", "DOTNET_HOST_PATH",
    };

    /// <summary>CI detection: a child build behaves as on a developer's machine unless a test sets these itself (.ci/run runs with CI=true).</summary>
    public static readonly IReadOnlyList<string> CiVariables = new[]
    {
        "CI", "GITHUB_ACTIONS", "TF_BUILD", "GITLAB_CI", "JENKINS_URL", "TEAMCITY_VERSION", "BUILDKITE", "CIRCLECI", "TRAVIS", "APPVEYOR",
        "ContinuousIntegrationBuild",
    };

    /// <summary>What <see cref="Process"/> removes unless told otherwise: the host's MSBuild variables and CI detection.</summary>
    public static readonly IReadOnlyList<string> DefaultScrubbed = HostVariables.Concat(CiVariables).ToArray();

    /// <summary>
    /// Runs <paramref name="fileName"/> to its end (killing its whole tree after <paramref name="timeout"/>, 5 minutes
    /// unless given). <paramref name="environment"/> sets variables (null removes one) after <paramref name="scrubbed"/>
    /// (<see cref="DefaultScrubbed"/> unless given) are removed.
    /// </summary>
    public static ProcessResult Process(string fileName, IEnumerable<string> arguments, string workingDirectory,
        IDictionary<string, string?>? environment = null, TimeSpan? timeout = null, IEnumerable<string>? scrubbed = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var name in scrubbed ?? DefaultScrubbed)
        {
            start.Environment.Remove(name);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }
        var output = new StringBuilder();
        using var process = new System.Diagnostics.Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit((int)(timeout ?? TimeSpan.FromMinutes(5)).TotalMilliseconds))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(" ", arguments)} did not finish in time.\n{output}");
        }
        process.WaitForExit();
        lock (output)
        {
            return new ProcessResult(process.ExitCode, output.ToString());
        }
    }

    /// <summary>`dotnet` with <paramref name="arguments"/> in <paramref name="workingDirectory"/>.</summary>
    public static ProcessResult DotNet(string workingDirectory, IDictionary<string, string?>? environment, params string[] arguments) =>
        Process("dotnet", arguments, workingDirectory, environment);
}

using System.Diagnostics;
using System.Text;

namespace SecureBuild.Tasks.Tests.Infrastructure;

/// <summary>Debian's reference in-toto-verify (in-toto 1.3.1), installed on demand.</summary>
public static class InTotoVerify
{
    public const string Executable = "/usr/bin/in-toto-verify";

    public static void EnsureInstalled()
    {
        if (File.Exists(Executable))
        {
            return;
        }
        var script = Path.Combine(RepoRoot(), "build", "install-prerequisites.sh");
        var install = Run("bash", new[] { script }, RepoRoot(), TimeSpan.FromMinutes(10));
        Assert.That(install.ExitCode, Is.EqualTo(0), "could not install Debian's in-toto (the reference verifier):\n" + install.Output);
        Assert.That(File.Exists(Executable), Is.True, "in-toto-verify is still missing after build/install-prerequisites.sh");
    }

    public static (int ExitCode, string Output) Verify(string workingDirectory, string layout, string linkDirectory, string layoutKey, string keyType)
    {
        EnsureInstalled();
        return Run(Executable,
            new[] { "--layout", layout, "--link-dir", linkDirectory, "--layout-keys", layoutKey, "--key-types", keyType, "-v" },
            workingDirectory, TimeSpan.FromMinutes(2));
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SecureBuild.Sdk.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("SecureBuild.Sdk.sln not found above " + AppContext.BaseDirectory);
    }

    private static (int ExitCode, string Output) Run(string fileName, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit((int)timeout.TotalMilliseconds))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} did not finish in {timeout}.\n{output}");
        }
        process.WaitForExit();
        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }
}

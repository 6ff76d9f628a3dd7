using System.Diagnostics;
using System.Text;
using SecureBuild.Core.Json;

namespace SecureBuild.Attestation.Tests;

/// <summary>Where the test data lives, and helpers to run the CLI and the sigstore-js oracle.</summary>
internal static class TestData
{
    /// <summary>The fixed "now" for the case manifest: the day the vectors were collected (the bundles sign in 2023..2026).</summary>
    public static readonly DateTimeOffset CaseClock = new(2026, 11, 24, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The Sigstore interop data: $SECUREBUILD_SIGSTORE_DATA, else the copy in TestData/sigstore.</summary>
    public static string Sigstore
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("SECUREBUILD_SIGSTORE_DATA");
            string dir = !string.IsNullOrEmpty(env) ? env : Path.Combine(AppContext.BaseDirectory, "TestData", "sigstore");
            if (!File.Exists(Path.Combine(dir, "cases.json")))
            {
                throw new InvalidOperationException($"Sigstore test data not found in '{dir}' (expected cases.json).");
            }

            return dir;
        }
    }

    public static string InToto => Path.Combine(AppContext.BaseDirectory, "TestData", "in-toto");

    public static string SigstorePath(string relative) => Path.Combine(Sigstore, relative.Replace('/', Path.DirectorySeparatorChar));

    public static JsonMap Cases() => (JsonMap)JsonParser.Parse(File.ReadAllBytes(Path.Combine(Sigstore, "cases.json")));

    public static string NewTempDir(string prefix = "sbattest") => SecureBuild.TestSupport.ScratchDirectory.Create(prefix);

    public static void TryDelete(string dir) => SecureBuild.TestSupport.ScratchDirectory.TryDelete(dir);

    /// <summary>Runs `securebuild` in-process, or as the executable SECUREBUILD_TEST_CLI names (e.g. the Native AOT build).</summary>
    public static (int Exit, string Out, string Err) Cli(params string[] args)
    {
        if (Environment.GetEnvironmentVariable("SECUREBUILD_TEST_CLI") is { Length: > 0 } executable)
        {
            return Run(executable, args);
        }
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int exit = SecureBuild.Cli.CliApplication.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    public static (int Exit, string Out, string Err) Run(string file, IEnumerable<string> args, string? workingDirectory = null, int timeoutMs = 300_000)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var outTask = p.StandardOutput.ReadToEndAsync();
        var errTask = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(" ", args)} did not finish in {timeoutMs / 1000} s");
        }

        return (p.ExitCode, outTask.Result, errTask.Result);
    }

    public static bool OnPath(string tool)
    {
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            if (dir.Length > 0 && File.Exists(Path.Combine(dir, tool)))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>The sigstore-js oracle (verify-with-sigstore-js.mjs), installed by SecureBuild.TestSupport's SigstoreNodeTools.</summary>
internal static class Oracle
{
    /// <summary>The folder holding the oracle, the signer, the stand-in and their node_modules.</summary>
    public static string Directory_() => SecureBuild.TestSupport.Sigstore.SigstoreNodeTools.Install(TestData.Sigstore);

    /// <summary>Runs the oracle's single-bundle mode; returns its exit code (0 verified, 1 not, 2 usage) and output.</summary>
    public static (int Exit, string Out, string Err) Verify(params string[] args)
    {
        string dir = Directory_();
        return TestData.Run("node", new[] { Path.Combine(dir, "verify-with-sigstore-js.mjs") }.Concat(args), dir, 120_000);
    }
}

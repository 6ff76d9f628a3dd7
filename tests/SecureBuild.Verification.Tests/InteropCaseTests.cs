using SecureBuild.Cli;
using SecureBuild.Core.Json;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// Every case of TestData/in-toto/cases.json (the in-toto interop set, see TestData/README.md): our verdict and failure kind equal the ones the reference
/// produced. Each case runs from a scratch copy (the inspection writes into its working directory), with the clock
/// pinned to 2030-06-01 (all layouts expire 2036-01-01, except the expired case's 2020-01-01).
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Children)]
public class InteropCaseTests
{
    public static IEnumerable<TestCaseData> Cases()
    {
        var manifest = (JsonMap)JsonParser.Parse(File.ReadAllBytes(Path.Combine(TestData.Root, "cases.json")));
        foreach (var node in (JsonList)manifest["cases"])
        {
            var c = (JsonMap)node;
            string id = ((JsonString)c["id"]).Value;
            yield return new TestCaseData(c).SetName($"Case_{id}");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Verifier_matches_the_reference_verdict(JsonMap c)
    {
        string id = ((JsonString)c["id"]).Value;
        var (layout, keys, types, linkDir) = ParseCommand(c);
        int expectedExit = (int)((JsonNumber)c["expected_exit_code"]).AsInt64();
        string expectedType = ((JsonString)c["error_type"]).Value;
        string scratch = TestData.NewTempDir("case-" + id);
        try
        {
            TestData.CopyDirectory(Path.Combine(TestData.Root, ((JsonString)c["dir"]).Value), scratch);
            string cwd = Path.Combine(scratch, ((JsonString)c["cwd"]).Value);
            var result = Ours.Verify(cwd, layout, keys, linkDir, Ours.PinnedNow);
            var verdict = Ours.ToVerdict(result);
            Assert.That(verdict.ExitCode, Is.EqualTo(expectedExit), $"{id}: {verdict.Output}");
            Assert.That(verdict.Kind, Is.EqualTo(expectedType), $"{id}: {verdict.Output}");

            foreach (var w in (JsonList)c["warnings"])
            {
                string expected = ((JsonString)w).Value;
                Assert.That(result.Warnings.Select(x => x.Message), Has.Some.Contains(expected), $"{id}: expected warning '{expected}'");
            }

            if (expectedExit != 0)
            {
                Assert.That(result.Failures[0].Message, Is.Not.Empty);
            }
        }
        finally
        {
            TestData.DeleteDirectory(scratch);
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void Cli_exit_code_matches_the_reference(JsonMap c) =>
        AssertCliVerdict(c, "cli-", (cwd, args) =>
        {
            var (code, stdout, stderr) = Cli.Run(cwd, args.ToArray());
            return (code, stdout + "\n" + stderr);
        });

    /// <summary>
    /// The same cases through the other Ed25519 backend: in this test host the verifier uses libsodium (Debian's in-toto
    /// pulls it in), so `securebuild verify` runs here as a child process with SECUREBUILD_NO_LIBSODIUM=1, where every
    /// ed25519 link signature goes through BouncyCastle (Ed25519BackendTests compares the two primitives directly).
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void Without_libsodium_the_cli_reaches_the_reference_verdict(JsonMap c) =>
        AssertCliVerdict(c, "nosodium-", (cwd, args) =>
        {
            var run = SecureBuild.TestSupport.Run.Process("dotnet", args.Prepend(Path.Combine(AppContext.BaseDirectory, "securebuild.dll")), cwd,
                new Dictionary<string, string?> { ["SECUREBUILD_NO_LIBSODIUM"] = "1" }, TimeSpan.FromMinutes(2));
            return (run.ExitCode, run.Output);
        });

    /// <summary>Runs `securebuild verify` for case <paramref name="c"/> from a scratch copy and checks its exit code and error type.</summary>
    private static void AssertCliVerdict(JsonMap c, string scratchPrefix, Func<string, List<string>, (int Code, string Output)> verify)
    {
        string id = ((JsonString)c["id"]).Value;
        var (layout, keys, types, linkDir) = ParseCommand(c);
        int expectedExit = (int)((JsonNumber)c["expected_exit_code"]).AsInt64();
        string expectedType = ((JsonString)c["error_type"]).Value;
        if (expectedType == "LayoutExpiredError" || expectedExit == 0)
        {
            // The CLI uses the real clock; the shared layouts are valid until 2036.
            Assume.That(DateTimeOffset.UtcNow, Is.LessThan(new DateTimeOffset(2036, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        }

        string scratch = TestData.NewTempDir(scratchPrefix + id);
        try
        {
            TestData.CopyDirectory(Path.Combine(TestData.Root, ((JsonString)c["dir"]).Value), scratch);
            string cwd = Path.Combine(scratch, ((JsonString)c["cwd"]).Value);
            var args = new List<string> { "verify", "--layout", Path.Combine(cwd, layout), "--layout-keys" };
            args.AddRange(keys.Select(k => Path.Combine(cwd, k)));
            args.Add("--key-types");
            args.AddRange(types);
            args.Add("--link-dir");
            args.Add(Path.Combine(cwd, linkDir));
            var (code, output) = verify(cwd, args);
            Assert.That(code, Is.EqualTo(expectedExit), $"{id}:\n{output}");
            if (expectedExit != 0)
            {
                Assert.That(output, Does.Contain($"securebuild verify: {expectedType}:"), id);
            }
        }
        finally
        {
            TestData.DeleteDirectory(scratch);
        }
    }

    private static (string Layout, List<string> Keys, List<string> Types, string LinkDir) ParseCommand(JsonMap c)
    {
        var argv = ((JsonList)c["command"]).Select(n => ((JsonString)n).Value).ToList();
        string layout = "", linkDir = ".";
        var keys = new List<string>();
        var types = new List<string>();
        List<string>? current = null;
        for (int i = 1; i < argv.Count; i++)
        {
            switch (argv[i])
            {
                case "--layout": layout = argv[++i]; current = null; break;
                case "--link-dir": linkDir = argv[++i]; current = null; break;
                case "--layout-keys": current = keys; break;
                case "--key-types": current = types; break;
                default:
                    (current ?? throw new InvalidOperationException($"unexpected argument {argv[i]}")).Add(argv[i]);
                    break;
            }
        }

        return (layout, keys, types, linkDir);
    }
}

/// <summary>
/// Runs the CLI in-process (with its own working directory for inspections), or, when SECUREBUILD_TEST_CLI names an
/// executable (e.g. the Native AOT `securebuild` from the linux-x64 tool package), as that process.
/// </summary>
internal static class Cli
{
    private static readonly object CwdGate = new();

    public static (int Code, string Stdout, string Stderr) Run(string cwd, params string[] args)
    {
        if (Environment.GetEnvironmentVariable("SECUREBUILD_TEST_CLI") is { Length: > 0 } executable)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(executable)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = cwd,
            };
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }
            using var process = System.Diagnostics.Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {executable}");
            var stdoutTask = process.StandardOutput.ReadToEndAsync();
            var stderrTask = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return (process.ExitCode, stdoutTask.Result, stderrTask.Result);
        }

        // Inspections run in the process's current directory; serialize changes of it.
        lock (CwdGate)
        {
            string old = Directory.GetCurrentDirectory();
            Directory.SetCurrentDirectory(cwd);
            try
            {
                var stdout = new StringWriter();
                var stderr = new StringWriter();
                int code = CliApplication.Run(args, stdout, stderr);
                return (code, stdout.ToString(), stderr.ToString());
            }
            finally
            {
                Directory.SetCurrentDirectory(old);
            }
        }
    }
}

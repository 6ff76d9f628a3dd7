using System.Diagnostics;
using System.Text;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Tests;

/// <summary>Locations of the reference data and scratch directories.</summary>
internal static class TestData
{
    /// <summary>The in-toto interop data: $SECUREBUILD_INTOTO_DATA, else the copy under TestData/in-toto.</summary>
    public static string Root
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("SECUREBUILD_INTOTO_DATA");
            string dir = !string.IsNullOrEmpty(env) ? env : Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "in-toto");
            if (!File.Exists(Path.Combine(dir, "vectors", "keyids.json")))
            {
                Assert.Fail($"in-toto reference data not found in '{dir}' (expected vectors/keyids.json).");
            }

            return dir;
        }
    }

    public static string Path_(params string[] parts) => Path.Combine(new[] { Root }.Concat(parts).ToArray());

    public static string Keys(string name) => Path_("keys", name);

    public static string PrivateKey(string name) => Path_("keys", "test-only-private", name);

    public static string Case(string id) => Path_("cases", id);

    public static byte[] Bytes(params string[] parts) => File.ReadAllBytes(Path_(parts));

    public static JsonMap KeyIds() => (JsonMap)JsonParser.Parse(Bytes("vectors", "keyids.json"));

    public static string ExpectedKeyId(string name) => ((JsonString)((JsonMap)KeyIds()[name])["keyid"]).Value;

    /// <summary>A fresh scratch directory, deleted again when the test passes.</summary>
    public static string NewTempDir(string prefix = "sbcore") => SecureBuild.TestSupport.ScratchDirectory.Create(prefix);

    public static void CopyDirectory(string source, string target) => SecureBuild.TestSupport.ScratchDirectory.Copy(source, target);

    public static void TryDelete(string dir) => SecureBuild.TestSupport.ScratchDirectory.TryDelete(dir);
}

internal sealed record ProcessResult(int ExitCode, string StdOut, string StdErr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{StdOut}\n--- stderr ---\n{StdErr}";
}

/// <summary>
/// Debian's reference in-toto 1.3.1 as a test oracle. Installs it with apt-get when missing; if that fails the
/// test fails (never skips).
/// </summary>
internal static class InTotoOracle
{
    private static readonly object Gate = new();
    private static bool _ready;

    /// <summary>Full path of an in-toto CLI script (in-toto-run, in-toto-verify, ...).</summary>
    public static string Tool(string name)
    {
        EnsureInstalled();
        return FindOnPath(name) ?? throw new AssertionException($"'{name}' is not on PATH although the in-toto package is installed.");
    }

    /// <summary>The interpreter of the in-toto scripts (their shebang, /usr/bin/python3 on Debian).</summary>
    public static string Python
    {
        get
        {
            string script = Tool("in-toto-verify");
            string first = File.ReadLines(script).First();
            if (!first.StartsWith("#!", StringComparison.Ordinal))
            {
                Assert.Fail($"{script} has no shebang line.");
            }

            return first.Substring(2).Trim().Split(' ')[0];
        }
    }

    public static void EnsureInstalled()
    {
        lock (Gate)
        {
            if (_ready)
            {
                return;
            }

            if (FindOnPath("in-toto-verify") is null)
            {
                var psi = new ProcessStartInfo("apt-get") { ArgumentList = { "install", "-y", "in-toto" } };
                psi.Environment["DEBIAN_FRONTEND"] = "noninteractive";
                ProcessResult result;
                try
                {
                    result = Run(psi, TimeSpan.FromMinutes(10));
                }
                catch (Exception e)
                {
                    Assert.Fail($"in-toto-verify is not on PATH and running 'apt-get install -y in-toto' failed: {e.Message}");
                    throw;
                }

                if (result.ExitCode != 0 || FindOnPath("in-toto-verify") is null)
                {
                    Assert.Fail($"in-toto-verify is not on PATH and 'apt-get install -y in-toto' did not install it. Install Debian's in-toto (1.3.1) by hand.\n{result}");
                }
            }

            _ready = true;
        }
    }

    /// <summary>Runs an in-toto CLI tool with its own interpreter, a clean IN_TOTO_* environment and a scratch HOME.</summary>
    public static ProcessResult RunTool(string tool, string workingDirectory, params string[] args)
    {
        var psi = new ProcessStartInfo(Python) { WorkingDirectory = workingDirectory };
        psi.ArgumentList.Add(Tool(tool));
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        Sanitize(psi, workingDirectory);
        return Run(psi, TimeSpan.FromMinutes(3));
    }

    /// <summary>Runs a Python snippet with the in-toto interpreter; <paramref name="stdin"/> is written to its input.</summary>
    public static ProcessResult RunPython(string script, string workingDirectory, string? stdin = null)
    {
        var psi = new ProcessStartInfo(Python) { WorkingDirectory = workingDirectory };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(script);
        Sanitize(psi, workingDirectory);
        return Run(psi, TimeSpan.FromMinutes(3), stdin);
    }

    private static void Sanitize(ProcessStartInfo psi, string workingDirectory)
    {
        foreach (string key in psi.Environment.Keys.Where(k => k.StartsWith("IN_TOTO", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(key);
        }

        // in-toto-run reads ~/.in_totorc; keep the user's out of the picture.
        string home = Path.Combine(workingDirectory, ".home");
        Directory.CreateDirectory(home);
        psi.Environment["HOME"] = home;
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        psi.Environment["PYTHONIOENCODING"] = "utf-8";
    }

    private static ProcessResult Run(ProcessStartInfo psi, TimeSpan timeout, string? stdin = null)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        psi.StandardOutputEncoding = Encoding.UTF8;
        psi.StandardErrorEncoding = Encoding.UTF8;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {psi.FileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }

        process.StandardInput.Close();
        if (!process.WaitForExit((int)timeout.TotalMilliseconds))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{psi.FileName} {string.Join(" ", psi.ArgumentList)} timed out after {timeout}.");
        }

        process.WaitForExit();
        return new ProcessResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    private static string? FindOnPath(string name)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).ToList();
        dirs.Add("/usr/bin"); // apt installs here even if PATH is minimal
        foreach (string dir in dirs.Where(d => d.Length > 0))
        {
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}

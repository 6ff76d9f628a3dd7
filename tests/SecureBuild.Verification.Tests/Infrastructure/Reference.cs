using System.Diagnostics;
using System.Text.RegularExpressions;

namespace SecureBuild.Verification.Tests.Infrastructure;

/// <summary>A verdict: exit code plus the failure kind ("" when passed).</summary>
internal readonly record struct Verdict(int ExitCode, string Kind, string Output)
{
    public bool Passed => ExitCode == 0;

    public override string ToString() => Passed ? "pass" : $"fail ({ExitCode}, {Kind})";
}

/// <summary>Runs Debian's /usr/bin/in-toto-verify 1.3.1.</summary>
internal static class Reference
{
    public const string Tool = "/usr/bin/in-toto-verify";
    private static readonly object Gate = new();
    private static bool _checked;

    private static readonly Regex ErrorLine = new(@"^\(in-toto-verify\) ([A-Za-z_.]+):", RegexOptions.Multiline);

    /// <summary>Installs the reference with build/install-prerequisites.sh if it is missing; fails the test if that fails.</summary>
    public static void EnsureInstalled()
    {
        lock (Gate)
        {
            if (_checked)
            {
                return;
            }

            if (!File.Exists(Tool))
            {
                string script = Path.Combine(TestData.RepoRoot, "build", "install-prerequisites.sh");
                var (code, output) = RunProcess("bash", new[] { script }, TestData.RepoRoot, TimeSpan.FromMinutes(10));
                if (code != 0 || !File.Exists(Tool))
                {
                    Assert.Fail($"{Tool} is missing and `bash {script}` could not install it (exit {code}):\n{output}");
                }
            }

            var (vc, vo) = RunProcess(Tool, new[] { "--version" }, Path.GetTempPath(), TimeSpan.FromMinutes(1));
            if (vc != 0 || !vo.Contains("1.3.1"))
            {
                Assert.Fail($"{Tool} --version did not report 1.3.1 (exit {vc}): {vo}");
            }

            _checked = true;
        }
    }

    /// <summary>in-toto-verify --layout L --layout-keys K.. --key-types T.. --link-dir D, in <paramref name="cwd"/>.</summary>
    public static Verdict Verify(string cwd, string layout, IReadOnlyList<(string Path, string Type)> keys, string linkDir)
    {
        EnsureInstalled();
        var (code, output) = RunProcess(Tool, Arguments(layout, keys, linkDir), cwd, TimeSpan.FromMinutes(2));
        return ToVerdict(code, output);
    }

    /// <summary>in-toto-verify's arguments for <see cref="Verify"/>.</summary>
    public static List<string> Arguments(string layout, IReadOnlyList<(string Path, string Type)> keys, string linkDir)
    {
        var args = new List<string> { "--layout", layout, "--layout-keys" };
        args.AddRange(keys.Select(k => k.Path));
        args.Add("--key-types");
        args.AddRange(keys.Select(k => k.Type));
        args.Add("--link-dir");
        args.Add(linkDir);
        return args;
    }

    /// <summary>The verdict of an in-toto-verify run: its exit code and the exception name of its error line.</summary>
    public static Verdict ToVerdict(int code, string output)
    {
        var m = ErrorLine.Match(output);
        return new Verdict(code, code == 0 ? "" : m.Success ? m.Groups[1].Value : "?", output);
    }

    /// <summary>The reference runs without the caller's IN_TOTO_* settings.</summary>
    public static void RemoveInTotoVariables(ProcessStartInfo psi)
    {
        foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("IN_TOTO_", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(name);
        }
    }

    /// <summary>Maps a reference exception name onto our FailureKind names (Python crashes count as FormatError).</summary>
    public static string NormalizeKind(string referenceKind) => referenceKind switch
    {
        "" => "",
        "SignatureVerificationError" or "LayoutExpiredError" or "LinkNotFoundError" or "ThresholdVerificationError"
            or "RuleVerificationError" or "BadReturnValueError" or "FormatError" or "TimeoutExpired" => referenceKind,
        "FileNotFoundError" or "PermissionError" or "OSError" => "OSError",
        _ => "FormatError", // KeyError, IndexError, JSONDecodeError, UnicodeDecodeError, TypeError, AttributeError, Error (binascii), ...
    };

    public static (int Code, string Output) RunProcess(string file, IEnumerable<string> args, string cwd, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file)
        {
            WorkingDirectory = cwd,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in args)
        {
            psi.ArgumentList.Add(a);
        }

        RemoveInTotoVariables(psi);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(" ", args)} did not finish within {timeout}.");
        }

        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}

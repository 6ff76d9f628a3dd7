using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using SecureBuild.Core.Processes;

namespace SecureBuild.Core.Hermetic;

/// <summary>
/// A hermetic dotnet command (`securebuild trace --hermetic`, docs/trace-policy.md): restore runs first, with the
/// network and the caller's environment; then the command itself runs with <c>--no-restore</c> in a new network
/// namespace that has only loopback (unprivileged through a user namespace: <c>unshare -rn</c>), with an environment
/// reduced to <see cref="AllowedEnvironment"/> plus the names the user passes (<c>--env NAME</c>), a fresh HOME, and
/// the NuGet packages folder restore filled. Where namespaces are not available it fails closed
/// (<see cref="HermeticUnavailableException"/>, SB4220), never running the command unconfined.
/// </summary>
public sealed class HermeticPlan
{
    /// <summary>SB4220: namespaces are not available here; the hermetic step does not run.</summary>
    public const string UnavailableCode = "SB4220";

    /// <summary>SB4221: the command cannot be run hermetically (not a dotnet build verb, a bad --env name).</summary>
    public const string UnsupportedCode = "SB4221";

    /// <summary>Variables the hermetic step keeps (when set): the toolchain's, the locale's, reproducibility's.</summary>
    public static readonly IReadOnlyList<string> AllowedEnvironment = new[]
    {
        "PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM", "TMPDIR", "SOURCE_DATE_EPOCH",
        "DOTNET_ROOT", "DOTNET_HOST_PATH", "DOTNET_CLI_TELEMETRY_OPTOUT", "DOTNET_NOLOGO", "DOTNET_SKIP_FIRST_TIME_EXPERIENCE",
        "DOTNET_ROLL_FORWARD", "DOTNET_MULTILEVEL_LOOKUP", "MSBUILDDISABLENODEREUSE", "DOTNET_CLI_USE_MSBUILD_SERVER",
    };

    private static readonly string[] BuildVerbs = { "build", "pack", "publish", "test" };

    // Options of the build verbs that `dotnet restore` takes too (with their value when they have one).
    private static readonly string[] RestoreOptionsWithValue = { "-r", "--runtime", "-s", "--source", "--configfile", "--packages", "-v", "--verbosity", "--arch", "-a", "--os" };
    private static readonly string[] RestoreFlags = { "--disable-parallel", "--no-cache", "--interactive", "--force", "--no-dependencies", "--ucr", "--use-current-runtime" };

    private HermeticPlan(ProcessSpec restore, ProcessSpec command, string home, IReadOnlyList<string> wrapperPrograms)
    {
        Restore = restore;
        Command = command;
        Home = home;
        WrapperPrograms = wrapperPrograms;
    }

    /// <summary>Step 1: `dotnet restore` with the network and the caller's environment.</summary>
    public ProcessSpec Restore { get; }

    /// <summary>Step 2: the command, --no-restore, inside the namespaces with the reduced environment.</summary>
    public ProcessSpec Command { get; }

    /// <summary>The fresh HOME of step 2 (the caller deletes it when done).</summary>
    public string Home { get; }

    /// <summary>Programs the wrapper itself runs (unshare, sh, ip): the policy does not hold them against the build.</summary>
    public IReadOnlyList<string> WrapperPrograms { get; }

    /// <param name="command">The dotnet command: dotnet build|pack|publish|test ARGS.</param>
    /// <param name="workingDirectory">Where it runs.</param>
    /// <param name="environment">The caller's environment.</param>
    /// <param name="passed">Names given with --env: passed into the hermetic step unchanged.</param>
    /// <param name="sandbox">What <see cref="HermeticSandbox.Probe"/> found.</param>
    /// <param name="homeParent">Where the fresh HOME is created (a temporary folder).</param>
    public static HermeticPlan Create(IReadOnlyList<string> command, string workingDirectory, IReadOnlyDictionary<string, string> environment,
        IEnumerable<string> passed, HermeticSandbox sandbox, string homeParent)
    {
        if (command.Count < 2 || Path.GetFileName(command[0]) is not ("dotnet" or "dotnet.exe") || !BuildVerbs.Contains(command[1]))
        {
            throw new HermeticUnavailableException(UnsupportedCode,
                $"--hermetic runs dotnet build, pack, publish or test; '{string.Join(" ", command.Take(2))}' is not one of them.",
                "Trace the command without --hermetic, or run the dotnet verb hermetically.");
        }
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in AllowedEnvironment)
        {
            if (environment.TryGetValue(name, out var value))
            {
                env[name] = value;
            }
        }
        foreach (var name in passed)
        {
            if (name.Length == 0 || name.IndexOf('=') >= 0 || name.Any(char.IsWhiteSpace))
            {
                throw new HermeticUnavailableException(UnsupportedCode, $"--env takes a variable's name, not '{name}'.", "Pass --env NAME (the value comes from your environment).");
            }
            if (environment.TryGetValue(name, out var value))
            {
                env[name] = value;
            }
        }
        string home = Path.Combine(homeParent, "securebuild-hermetic-home-" + Guid.NewGuid().ToString("N").Substring(0, 12));
        Directory.CreateDirectory(home);
        env["HOME"] = home;
        env["DOTNET_CLI_HOME"] = home;
        // A fresh HOME is a first run: no workload update check (it looks up a host; MakeQuiet), no tools folder added to PATH.
        DotnetEnvironment.MakeQuiet(env);
        env["DOTNET_ADD_GLOBAL_TOOLS_TO_PATH"] = "false";
        // Restore filled the caller's packages folder; the fresh HOME must not hide it.
        env["NUGET_PACKAGES"] = PackagesFolder(environment);

        var arguments = command.Skip(2).ToList();
        var restore = new ProcessSpec(command[0], new[] { "restore" }.Concat(RestoreArguments(arguments)), workingDirectory) { Timeout = TimeSpan.FromHours(1) };
        var inner = new[] { command[0], command[1] }.Concat(arguments).Append("--no-restore").ToList();
        var wrapped = sandbox.Wrap(inner);
        var step = new ProcessSpec(wrapped[0], wrapped.Skip(1), workingDirectory) { Environment = env, Timeout = TimeSpan.FromHours(2) };
        return new HermeticPlan(restore, step, home, sandbox.Programs);
    }

    /// <summary>
    /// Runs both steps through <paramref name="runner"/> (untraced; the trace verb runs the same two specs under its
    /// tracer): restore, then, only when restore succeeded, the command. The fresh HOME is removed afterwards.
    /// </summary>
    public (ProcessOutcome Restore, ProcessOutcome? Command) Run(IProcessRunner runner, Action<string>? onLine = null)
    {
        try
        {
            Restore.OnLine = onLine;
            Command.OnLine = onLine;
            var restored = runner.Run(Restore);
            if (!restored.Exited || restored.ExitCode != 0)
            {
                return (restored, null);
            }
            return (restored, runner.Run(Command));
        }
        finally
        {
            try
            {
                Directory.Delete(Home, recursive: true);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // Left in the temporary folder: it holds nothing of the caller's.
            }
        }
    }

    /// <summary>NUGET_PACKAGES, else ~/.nuget/packages of the caller.</summary>
    public static string PackagesFolder(IReadOnlyDictionary<string, string> environment) =>
        environment.TryGetValue("NUGET_PACKAGES", out var folder) && folder.Length > 0 ? Path.GetFullPath(folder)
            : Path.Combine(environment.TryGetValue("HOME", out var home) ? home : "/", ".nuget", "packages");

    /// <summary>The arguments of a build verb that `dotnet restore` understands: the project, properties, runtime, sources.</summary>
    public static IEnumerable<string> RestoreArguments(IReadOnlyList<string> arguments)
    {
        for (int i = 0; i < arguments.Count; i++)
        {
            string a = arguments[i];
            if (!a.StartsWith("-", StringComparison.Ordinal))
            {
                if (i == 0 || !TakesValue(arguments[i - 1]))
                {
                    yield return a; // the project or solution
                }
                continue;
            }
            string name = a.Split(':', '=')[0];
            if (name is "-p" or "--property" or "/p" || a.StartsWith("-p:", StringComparison.Ordinal) || a.StartsWith("--property:", StringComparison.Ordinal))
            {
                yield return a;
                if (a is "-p" or "--property" && i + 1 < arguments.Count)
                {
                    yield return arguments[++i];
                }
            }
            else if (RestoreOptionsWithValue.Contains(name))
            {
                yield return a;
                if (a == name && i + 1 < arguments.Count)
                {
                    yield return arguments[++i];
                }
            }
            else if (RestoreFlags.Contains(a))
            {
                yield return a;
            }
        }
    }

    private static bool TakesValue(string option) =>
        option.StartsWith("-", StringComparison.Ordinal) && option.IndexOfAny(new[] { ':', '=' }) < 0
        && (RestoreOptionsWithValue.Contains(option) || option is "-p" or "--property" or "-c" or "--configuration" or "-f" or "--framework" or "-o" or "--output" or "--version-suffix" or "-bl" or "--logger" or "-l" or "--filter" or "--settings" or "-s");
}

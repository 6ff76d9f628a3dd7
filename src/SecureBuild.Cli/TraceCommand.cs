using System.CommandLine;
using SecureBuild.Core.IO;
using SecureBuild.Core.Tracing;
using SecureBuild.Core.Tracing.Linux;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild trace [--out DIR] -- COMMAND...`: runs the command under the Linux tracer, writes the trace
/// (trace.json, <see cref="TraceLogJson"/>) and a short summary, and exits with the command's exit code (128+n when a
/// signal killed it). 2 when tracing is impossible here: never runs the command unconfined.
/// </summary>
internal static class TraceCommand
{
    /// <summary>dotnet verbs that run MSBuild: they get switches so that every node and the compiler are children of the trace.</summary>
    private static readonly HashSet<string> MsBuildVerbs = new(StringComparer.Ordinal) { "build", "pack", "publish", "test", "msbuild", "restore", "clean" };

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var output = new Option<string>("--out") { Description = "Directory to write trace.json into (default: obj/securebuild/trace)." };
        var command = new Argument<string[]>("COMMAND") { Description = "The command to trace, after --.", Arity = ArgumentArity.ZeroOrMore };
        var verb = new Command("trace", "Run a command under the runtime tracer (Linux: ptrace + seccomp-bpf) and record every process, file and network operation of its process tree. Exit: the command's exit code (128+n when killed by signal n), 2 when it cannot be traced.")
        {
            output, command,
        };
        // --policy/--audit/--hermetic/--env/--key: attribution, policy, attestation (Cli/Tracing/TraceVerbOptions.cs).
        var enforcement = Tracing.TraceVerbOptions.AddTo(verb);
        verb.SetAction(parse => enforcement.Run(parse, parse.GetValue(command) ?? Array.Empty<string>(), parse.GetValue(output), stdout, stderr));
        return verb;
    }

    /// <summary>The hidden launcher mode: `securebuild __trace-exec PROGRAM ARGS...` (see <see cref="TraceLauncher"/>).</summary>
    public static int RunLauncher(string[] args, TextWriter stderr)
    {
        var command = args.Skip(1).ToList();
        if (command.Count > 0 && command[0] == "--")
        {
            command.RemoveAt(0);
        }

        return TraceLauncher.Run(command, stderr);
    }

    // enforce: called with the trace and the exit code the verb would return; returns the final one (the policy).
    // environmentOverride: the command's whole environment (a hermetic step's) instead of this process's.
    // platform: the machine as the support check sees it (tests: another operating system or architecture).
    internal static int Run(IReadOnlyList<string> command, string? outDirectory, TextWriter stdout, TextWriter stderr,
        Func<TraceLog, int, int>? enforce = null, IReadOnlyDictionary<string, string>? environmentOverride = null, TracePlatform? platform = null, bool hashCache = true)
    {
        const string name = "securebuild trace";
        if (command.Count == 0)
        {
            stderr.WriteLine($"{name}: SB4108: no command given. Usage: securebuild trace [--out DIR] -- COMMAND [ARGS...]");
            return CliApplication.Usage;
        }

        var environment = environmentOverride?.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal) ?? Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
        var traced = MsBuildSwitches(command, environment, out bool msbuild);
        if (msbuild)
        {
            stderr.WriteLine($"{name}: MSBuild command: added -nodeReuse:false -p:UseSharedCompilation=false and DOTNET_CLI_USE_MSBUILD_SERVER=0, " +
                "so that every MSBuild node and the compiler run inside the trace instead of in long-lived servers outside it; " +
                "and turned off the dotnet CLI's telemetry, workload update check and first-run experience (DOTNET_CLI_TELEMETRY_OPTOUT, " +
                "DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE, ...), whose connections and writes are not the build's.");
        }

        string outDir = Path.GetFullPath(outDirectory ?? Path.Combine("obj", "securebuild", "trace"));
        TraceResult result;
        try
        {
            PtraceTracer.EnsureSupported(platform);
            // The tool's own home (not a hermetic step's fresh one): the store outlives the step.
            var store = hashCache ? PtraceTracer.DefaultHashStoreFile(Environment.GetEnvironmentVariable) : null;
            result = PtraceTracer.Run(new TraceOptions { Command = traced, Launcher = Launcher(), Environment = environment, HashStoreFile = store });
        }
        catch (TraceException e)
        {
            stderr.WriteLine($"{name}: {e.Code}: {e.Message}");
            return CliApplication.Usage;
        }

        var log = result.Log;
        if (!result.CommandExecuted)
        {
            // The launcher said why on standard error (SB4102/SB4103/SB4106); 126/127 like a shell for a command that cannot run.
            return log.ExitCode is 126 or 127 ? log.ExitCode.Value : CliApplication.Usage;
        }

        string file = Path.Combine(outDir, "trace.json");
        try
        {
            AtomicFile.WriteAllBytes(file, TraceLogJson.ToBytes(log));
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            stderr.WriteLine($"{name}: SB4107: cannot write the trace to '{file}': {e.Message} Give a writable --out directory.");
            return CliApplication.Usage;
        }

        WriteSummary(log, file, stderr, result.Hashing);
        int exit = log.ExitCode ?? CliApplication.Failure;
        if (log.Signal is { } signal)
        {
            stderr.WriteLine($"{name}: the command was killed by {signal}.");
            int n = PtraceTracer.SignalNumber(signal);
            exit = n > 0 ? 128 + n : CliApplication.Failure;
        }

        return enforce is null ? exit : enforce(log, exit);
    }

    /// <summary>The command with MSBuild's node reuse and the compiler server turned off, when it is a dotnet MSBuild verb.</summary>
    internal static IReadOnlyList<string> MsBuildSwitches(IReadOnlyList<string> command, Dictionary<string, string> environment, out bool msbuild)
    {
        msbuild = command.Count >= 2 && Path.GetFileName(command[0]) == "dotnet" && MsBuildVerbs.Contains(command[1]);
        if (!msbuild)
        {
            return command;
        }

        // No MSBuild server or reused node (every node must be a child of the trace), and none of the CLI's own side
        // activities (telemetry, the workload update check, first-run files): their connections and writes are not the build's.
        Core.Processes.DotnetEnvironment.MakeQuiet(environment);
        var result = command.Take(2).Concat(new[] { "-nodeReuse:false", "-p:UseSharedCompilation=false" }).Concat(command.Skip(2)).ToList();
        return result;
    }

    private static void WriteSummary(TraceLog log, string file, TextWriter stderr, TraceHashing hashing)
    {
        var executables = log.Processes.Select(p => p.Executable).Where(e => e.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var connections = log.Network.Where(n => n.Operation != NetworkOperation.Bind && n.Family != "unix")
            .Select(n => $"{(n.Family == "inet6" ? "[" + n.Address + "]" : n.Address)}:{n.Port}").Distinct(StringComparer.Ordinal).ToList();
        var written = log.Files.Where(f => f.Kind is FileAccessKind.Write or FileAccessKind.Create).Select(f => f.Path).Distinct(StringComparer.Ordinal).Count();
        stderr.WriteLine($"securebuild trace: {log.Processes.Count} processes, {executables.Count} distinct executables, " +
            $"{connections.Count} network peers{(connections.Count > 0 ? " (" + string.Join(", ", connections.Take(10)) + (connections.Count > 10 ? ", ..." : "") + ")" : "")}, " +
            $"{written} files written, {log.Files.Count} file events.");
        if (log.DroppedEvents > 0 || log.UnhashedFiles > 0)
        {
            stderr.WriteLine($"securebuild trace: SB4109: {log.DroppedEvents} events could not be recorded and {log.UnhashedFiles} files could not be hashed " +
                "(gone before they could be read, or unreadable); both counts are in the trace.");
        }

        stderr.WriteLine($"securebuild trace: trace written to {file}{TracerResources()}; " +
            string.Create(System.Globalization.CultureInfo.InvariantCulture, $"hashed {hashing.FilesHashed} files ({hashing.BytesHashed / 1048576.0:0.0} MB), {hashing.FromStore} digests from the hash cache."));
        if (hashing.StoreDiscarded)
        {
            stderr.WriteLine("securebuild trace: warning SB4236: the tracer's hash cache changed during the trace, or a traced process wrote into its folder; " +
                "the cache was deleted and the next trace reads and hashes every file again. Find what wrote it in the trace (writes under ~/.cache/securebuild-trace, or a hard link to it).");
        }
    }

    /// <summary>"; tracer peak memory 85 MB, CPU 0.24 s" (VmHWM and the CPU time of this process so far: the tracer's
    /// own cost, not the command's), or less where /proc does not say.</summary>
    private static string TracerResources()
    {
        string cpu = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"CPU {System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds:0.00} s");
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            var kb = line?.Substring(6).Trim().Split(' ')[0];
            return long.TryParse(kb, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long value)
                ? $"; tracer peak memory {(value + 512) / 1024} MB, {cpu}"
                : $"; tracer {cpu}";
        }
        catch (IOException)
        {
            return $"; tracer {cpu}";
        }
    }

    /// <summary>How to start the launcher: this executable itself (apphost or Native AOT), or the dotnet host with securebuild.dll.</summary>
    internal static IReadOnlyList<string> Launcher()
    {
        string directory = AppContext.BaseDirectory;
        string apphost = Path.Combine(directory, "securebuild");
        if (File.Exists(apphost))
        {
            return new[] { apphost, TraceLauncher.Verb };
        }

        string dll = Path.Combine(directory, "securebuild.dll");
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(host) || !File.Exists(host))
        {
            host = Environment.ProcessPath is { } self && Path.GetFileName(self) == "dotnet" ? self : TraceLauncher.ResolveProgram("dotnet", Environment.GetEnvironmentVariable("PATH"));
        }

        return new[] { Path.GetFullPath(host ?? "dotnet"), dll, TraceLauncher.Verb };
    }
}

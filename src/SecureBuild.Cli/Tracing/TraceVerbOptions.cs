using System.CommandLine;
using SecureBuild.Core.Hermetic;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Tracing;

namespace SecureBuild.Cli.Tracing;

/// <summary>
/// The trace verb's enforcement options (--policy, --audit, --hermetic, --env, --key) and what they do around one
/// traced run: an MSBuild command gets the trace logger (when the user gave no -bl) so its events can be attributed; after the run
/// <see cref="TraceEnforcement"/> holds the trace to the policy and writes the signed runtime-trace attestation;
/// --hermetic traces restore first, then the command in the sandbox (<see cref="HermeticPlan"/>), each enforced.
/// </summary>
internal sealed class TraceVerbOptions
{
    private readonly Option<string> _policy = new("--policy") { Description = "A trace policy file (JSON, docs/trace-policy.md); default: the built-in policy." };
    private readonly Option<bool> _audit = new("--audit") { Description = "Report policy violations as warnings without failing." };
    private readonly Option<bool> _hermetic = new("--hermetic") { Description = "Restore with the network, then run the dotnet verb with no network (only loopback), a reduced environment and a fresh HOME. Fails closed where namespaces are not available." };
    private readonly Option<string[]> _env = new("--env") { Description = "With --hermetic: pass this environment variable (by name, repeatable) into the hermetic step.", AllowMultipleArgumentsPerToken = false };
    private readonly Option<string> _key = new("--key") { Description = "Private key that signs the runtime-trace attestation (default: SecureBuildSigningKey, else the development key the links use)." };
    private readonly Option<bool> _noHashCache = new("--no-hash-cache") { Description = "Read and hash every file the command opens, instead of taking an unchanged file's digest (same device, inode, size, modification and change time) from ~/.cache/securebuild-trace/hashes." };
    private readonly Option<bool> _printPolicy = new("--print-policy") { Description = "Print the built-in policy (a complete policy file to start from) and exit." };

    /// <summary>Adds the options to the trace verb.</summary>
    public static TraceVerbOptions AddTo(Command verb)
    {
        var options = new TraceVerbOptions();
        verb.Options.Add(options._policy);
        verb.Options.Add(options._audit);
        verb.Options.Add(options._hermetic);
        verb.Options.Add(options._env);
        verb.Options.Add(options._key);
        verb.Options.Add(options._noHashCache);
        verb.Options.Add(options._printPolicy);
        return options;
    }

    /// <summary>The trace verb's action: print the policy, or trace (hermetically when asked) and enforce.</summary>
    public int Run(ParseResult parse, IReadOnlyList<string> command, string? outDirectory, TextWriter stdout, TextWriter stderr)
    {
        const string name = "securebuild trace";
        if (parse.GetValue(_printPolicy))
        {
            stdout.WriteLine(Core.Json.JsonText.Write(TracePolicy.Default.ToJson()));
            return CliApplication.Success;
        }
        string outDir = Path.GetFullPath(outDirectory ?? Path.Combine("obj", "securebuild", "trace"));
        var enforcement = new TraceEnforcementOptions
        {
            PolicyFile = parse.GetValue(_policy),
            Audit = parse.GetValue(_audit),
            SigningKey = parse.GetValue(_key),
            OutputDirectory = outDirectory is null ? null : outDir,
        };
        if (enforcement.PolicyFile is { } policyFile)
        {
            try
            {
                TracePolicy.Load(policyFile); // a bad policy stops before anything runs
            }
            catch (TracePolicyException e)
            {
                stderr.WriteLine($"{name}: {e.Code}: {e.Message} {e.Fix}");
                return CliApplication.Usage;
            }
        }
        var passed = parse.GetValue(_env) ?? Array.Empty<string>();
        bool hashCache = !parse.GetValue(_noHashCache);
        if (!parse.GetValue(_hermetic))
        {
            if (passed.Length > 0)
            {
                stderr.WriteLine($"{name}: {HermeticPlan.UnsupportedCode}: --env names what passes into a hermetic step; it needs --hermetic.");
                return CliApplication.Usage;
            }
            return RunFollowed(WithAttributionLog(command, outDir, "build", stderr), outDir, "build", outDirectory, enforcement, null, hashCache, stdout, stderr);
        }
        return RunHermetic(command, outDir, outDirectory, passed, enforcement, hashCache, stdout, stderr);
    }

    private int RunHermetic(IReadOnlyList<string> command, string outDir, string? outDirectory, IReadOnlyList<string> passed, TraceEnforcementOptions enforcement, bool hashCache, TextWriter stdout, TextWriter stderr)
    {
        const string name = "securebuild trace";
        var environment = System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
        HermeticPlan plan;
        try
        {
            var switched = TraceCommand.MsBuildSwitches(WithAttributionLog(command, outDir, "build", stderr), new Dictionary<string, string>(environment), out _);
            plan = HermeticPlan.Create(switched, Directory.GetCurrentDirectory(), environment, passed, HermeticSandbox.Probe(new ProcessRunner()), Path.GetTempPath());
        }
        catch (HermeticUnavailableException e)
        {
            stderr.WriteLine($"{name}: {e.Message}");
            return CliApplication.Usage;
        }
        try
        {
            stderr.WriteLine($"{name}: --hermetic: restore first, with the network; then '{string.Join(" ", command)}' with no network, a reduced environment and a fresh HOME.");
            var restore = new[] { plan.Restore.FileName }.Concat(plan.Restore.Arguments).ToList();
            int restored = RunFollowed(WithAttributionLog(restore, outDir, "restore", stderr), outDir, "restore", Path.Combine(outDir, "restore"), enforcement, null, hashCache, stdout, stderr);
            if (restored != CliApplication.Success)
            {
                return restored;
            }
            var step = new[] { plan.Command.FileName }.Concat(plan.Command.Arguments).ToList();
            var hermetic = new TraceEnforcementOptions
            {
                PolicyFile = enforcement.PolicyFile,
                Audit = enforcement.Audit,
                SigningKey = enforcement.SigningKey,
                OutputDirectory = enforcement.OutputDirectory,
                Hermetic = true,
                RunnerPrograms = plan.WrapperPrograms,
                StepName = TraceAttributor.PhaseOfCommand(command).ToString().ToLowerInvariant(),
            };
            return RunFollowed(step, outDir, "build", outDirectory is null ? null : outDir, hermetic, (IReadOnlyDictionary<string, string>)plan.Command.Environment!, hashCache, stdout, stderr);
        }
        finally
        {
            try
            {
                Directory.Delete(plan.Home, recursive: true);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // A fresh, empty-of-secrets HOME left in the temporary folder.
            }
        }
    }

    /// <summary>
    /// Traces <paramref name="traced"/> (writing the trace to <paramref name="traceOut"/>) while following its
    /// attribution log OUT/LABEL.attribution.jsonl, then enforces the policy on it.
    /// </summary>
    private static int RunFollowed(IReadOnlyList<string> traced, string outDir, string label, string? traceOut, TraceEnforcementOptions enforcement,
        IReadOnlyDictionary<string, string>? environment, bool hashCache, TextWriter stdout, TextWriter stderr)
    {
        using var follower = AttributionLogFollower.Start(traced, outDir, label, enforcement);
        return TraceCommand.Run(traced, traceOut, stdout, stderr, Enforce(enforcement, outDir, label, stdout, stderr, follower.Tail), environment, hashCache: hashCache);
    }

    /// <summary>After the trace: the policy, the attestation, the summary; the command's own failure keeps its exit code.</summary>
    private static Func<TraceLog, int, int> Enforce(TraceEnforcementOptions options, string outDir, string label, TextWriter stdout, TextWriter stderr, AttributionLogTail? tail) => (log, exit) =>
    {
        // The user's binary log when the command wrote one; else the trace logger's log; else the binary log the verb
        // added because the logger was missing.
        string? binlog = BinaryLogOf(log.Command) ?? Path.Combine(outDir, label + ".binlog");
        string attribution = AttributionLogPath(outDir, label);
        bool logger = BinaryLogOf(log.Command) is null && log.Command.Any(a => a.StartsWith(LoggerSwitch, StringComparison.Ordinal));
        var result = TraceEnforcement.Run(log, new TraceEnforcementOptions
        {
            PolicyFile = options.PolicyFile,
            Audit = options.Audit,
            SigningKey = options.SigningKey,
            OutputDirectory = options.OutputDirectory,
            Hermetic = options.Hermetic,
            RunnerPrograms = options.RunnerPrograms,
            StepName = options.StepName,
            AttributionLog = logger ? attribution : null,
            AttributionTail = logger ? tail : null,
            BinaryLog = !logger && File.Exists(binlog) ? binlog : null,
        }, stdout, stderr);
        return exit != CliApplication.Success ? exit : result.ExitCode;
    };

    /// <summary>The -logger: switch's start for the trace logger (its type name).</summary>
    internal const string LoggerSwitch = "-logger:SecureBuild.TraceLogger.AttributionLogger,";

    /// <summary>SB4235: the trace logger's assembly is not next to the tool; the verb falls back to MSBuild's binary log.</summary>
    public const string LoggerMissingCode = "SB4235";

    /// <summary>The trace logger's assembly, shipped next to the tool's executable (SecureBuild.Cli.csproj copies it there).</summary>
    internal static string LoggerAssembly => Path.Combine(AppContext.BaseDirectory, "SecureBuild.TraceLogger.dll");

    /// <summary>The -logger: argument that makes MSBuild load the trace logger writing <paramref name="log"/>; quoted, as MSBuild splits the switch at ',' and ';' outside quotes.</summary>
    /// <param name="assembly">SecureBuild.TraceLogger.dll.</param>
    /// <param name="log">The file the logger writes.</param>
    /// <param name="taskInputs">Have MSBuild log every task's inputs (the logger's "v=diag;"): what PackTask and a
    /// publish Copy were given, for the undeclared-input check; the compiler's are on its command line without them.</param>
    internal static string LoggerArgument(string assembly, string log, bool taskInputs) =>
        $"{LoggerSwitch}\"{assembly}\";\"{(taskInputs ? "v=diag;" : "")}{log}\"";

    /// <summary>
    /// True when the command packs or publishes (dotnet pack/publish, a Pack or Publish target, GeneratePackageOnBuild):
    /// PackTask's and a publish Copy's inputs are known only from MSBuild's task input logging, which costs a no-op
    /// build of ten projects about a third more CPU, so a plain build or test does without it.
    /// </summary>
    internal static bool NeedsTaskInputs(IReadOnlyList<string> command)
    {
        if (command.Count >= 2 && command[1] is "pack" or "publish")
        {
            return true;
        }
        return command.Skip(2).Any(a =>
        {
            string lower = a.ToLowerInvariant();
            bool target = lower.StartsWith("-t:", StringComparison.Ordinal) || lower.StartsWith("/t:", StringComparison.Ordinal)
                || lower.StartsWith("-target:", StringComparison.Ordinal) || lower.StartsWith("/target:", StringComparison.Ordinal)
                || lower.StartsWith("--target:", StringComparison.Ordinal);
            return (target && (lower.Contains("pack") || lower.Contains("publish"))) || lower.Contains("generatepackageonbuild=true");
        });
    }

    internal static string AttributionLogPath(string outDir, string label) => Path.Combine(outDir, label + ".attribution.jsonl");

    /// <summary>
    /// A dotnet MSBuild verb gets the trace logger (SecureBuild.TraceLogger.dll, next to the tool), which writes
    /// OUT/LABEL.attribution.jsonl: what attribution needs and nothing else. When the user asked for a binary log,
    /// the command is left alone and attribution reads that log. MSBuild's binary log used to be added instead; it
    /// records every message, property and item and compresses them, which made a traced no-op build of ten projects
    /// about a quarter slower than an untraced one (build/bench/trace-overhead.sh). Only when the logger's assembly is
    /// missing (a damaged installation) does the verb add -bl:OUT/LABEL.binlog;ProjectImports=None, and says so.
    /// </summary>
    internal static IReadOnlyList<string> WithAttributionLog(IReadOnlyList<string> command, string outDir, string label, TextWriter stderr)
    {
        bool dotnet = command.Count >= 2 && Path.GetFileName(command[0]) == "dotnet" && command[1] is "build" or "pack" or "publish" or "test" or "msbuild" or "restore";
        if (!dotnet || BinaryLogOf(command) is not null)
        {
            return command;
        }
        string assembly = LoggerAssembly;
        string log = AttributionLogPath(outDir, label);
        if (File.Exists(assembly) && !assembly.Contains('"') && !log.Contains('"'))
        {
            try
            {
                Directory.CreateDirectory(outDir); // the logger creates its file; MSBuild stops the build when a logger cannot start
                return command.Concat(new[] { LoggerArgument(assembly, log, NeedsTaskInputs(command)) }).ToList();
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                // The trace cannot be written there either: SB4107 after the run says so.
            }
        }
        else
        {
            stderr.WriteLine($"securebuild trace: warning {LoggerMissingCode}: the trace logger {assembly} is missing (or its path holds a '\"'); attributing from MSBuild's binary log instead, which slows the build down. Reinstall the tool.");
        }
        return command.Concat(new[] { $"-bl:{Path.Combine(outDir, label + ".binlog")};ProjectImports=None" }).ToList();
    }

    private static string? BinaryLogOf(IReadOnlyList<string> command)
    {
        foreach (var a in command)
        {
            string lower = a.ToLowerInvariant();
            foreach (var prefix in new[] { "-bl", "/bl", "--binarylogger", "-binarylogger", "/binarylogger" })
            {
                if (lower == prefix)
                {
                    return "msbuild.binlog";
                }
                if (lower.StartsWith(prefix + ":", StringComparison.Ordinal))
                {
                    string value = a.Substring(prefix.Length + 1);
                    int semicolon = value.IndexOf(';');
                    value = semicolon >= 0 ? value.Substring(0, semicolon) : value;
                    return value.StartsWith("LogFile=", StringComparison.OrdinalIgnoreCase) ? value.Substring(8) : value;
                }
            }
        }
        return null;
    }
}

using System.CommandLine;
using SecureBuild.Core.Hermetic;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Tracing;

namespace SecureBuild.Cli.Tracing;

/// <summary>
/// The trace verb's enforcement options (--policy, --audit, --hermetic, --env, --key) and what they do around one
/// traced run: an MSBuild command gets -bl (when the user gave none) so its events can be attributed; after the run
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
        if (!parse.GetValue(_hermetic))
        {
            if (passed.Length > 0)
            {
                stderr.WriteLine($"{name}: {HermeticPlan.UnsupportedCode}: --env names what passes into a hermetic step; it needs --hermetic.");
                return CliApplication.Usage;
            }
            return TraceCommand.Run(WithBinaryLog(command, outDir, "build"), outDirectory, stdout, stderr, Enforce(enforcement, outDir, "build", stdout, stderr));
        }
        return RunHermetic(command, outDir, outDirectory, passed, enforcement, stdout, stderr);
    }

    private int RunHermetic(IReadOnlyList<string> command, string outDir, string? outDirectory, IReadOnlyList<string> passed, TraceEnforcementOptions enforcement, TextWriter stdout, TextWriter stderr)
    {
        const string name = "securebuild trace";
        var environment = System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
        HermeticPlan plan;
        try
        {
            var switched = TraceCommand.MsBuildSwitches(WithBinaryLog(command, outDir, "build"), new Dictionary<string, string>(environment), out _);
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
            int restored = TraceCommand.Run(WithBinaryLog(restore, outDir, "restore"), Path.Combine(outDir, "restore"), stdout, stderr, Enforce(enforcement, outDir, "restore", stdout, stderr));
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
            return TraceCommand.Run(step, outDirectory is null ? null : outDir, stdout, stderr, Enforce(hermetic, outDir, "build", stdout, stderr), (IReadOnlyDictionary<string, string>)plan.Command.Environment!);
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

    /// <summary>After the trace: the policy, the attestation, the summary; the command's own failure keeps its exit code.</summary>
    private static Func<TraceLog, int, int> Enforce(TraceEnforcementOptions options, string outDir, string label, TextWriter stdout, TextWriter stderr) => (log, exit) =>
    {
        var binlog = BinaryLogOf(log.Command) ?? Path.Combine(outDir, label + ".binlog");
        var result = TraceEnforcement.Run(log, new TraceEnforcementOptions
        {
            PolicyFile = options.PolicyFile,
            Audit = options.Audit,
            SigningKey = options.SigningKey,
            OutputDirectory = options.OutputDirectory,
            Hermetic = options.Hermetic,
            RunnerPrograms = options.RunnerPrograms,
            StepName = options.StepName,
            BinaryLog = File.Exists(binlog) ? binlog : null,
        }, stdout, stderr);
        return exit != CliApplication.Success ? exit : result.ExitCode;
    };

    /// <summary>
    /// A dotnet MSBuild verb gets -bl:OUT/LABEL.binlog;ProjectImports=None unless the user asked for a binary log already.
    /// ProjectImports=None: attribution needs the events, not copies of every imported .props/.targets file, and
    /// collecting and compressing those costs a no-op build of ten projects about as much CPU as the build itself
    /// (measured: 3.1 s user untraced, 5.0-7.5 s with -bl, 4.5-4.9 s with ProjectImports=None).
    /// </summary>
    internal static IReadOnlyList<string> WithBinaryLog(IReadOnlyList<string> command, string outDir, string label)
    {
        bool dotnet = command.Count >= 2 && Path.GetFileName(command[0]) == "dotnet" && command[1] is "build" or "pack" or "publish" or "test" or "msbuild" or "restore";
        if (!dotnet || BinaryLogOf(command) is not null)
        {
            return command;
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

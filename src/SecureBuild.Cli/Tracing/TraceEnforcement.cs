using System.Net;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Locking;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Recording;
using SecureBuild.Core.Tracing;

namespace SecureBuild.Cli.Tracing;

/// <summary>What `securebuild trace` does with a recorded trace: --policy, --audit, --key and where to write.</summary>
public sealed class TraceEnforcementOptions
{
    /// <summary>A policy file (--policy); null: the built-in default.</summary>
    public string? PolicyFile { get; init; }

    /// <summary>Report findings as warnings without failing (--audit).</summary>
    public bool Audit { get; init; }

    /// <summary>The build's binary log (the user's -bl; the verb adds one only when its logger is missing).</summary>
    public string? BinaryLog { get; init; }

    /// <summary>The trace logger's log (the verb adds the logger when the user gave no -bl); read instead of <see cref="BinaryLog"/>.</summary>
    public string? AttributionLog { get; init; }

    /// <summary>The reader that followed <see cref="AttributionLog"/> during the command (it has read all but the end); null: read the file now.</summary>
    public AttributionLogTail? AttributionTail { get; init; }

    /// <summary>Where the attestation goes (--out); null: next to the step links the command wrote, else the working directory.</summary>
    public string? OutputDirectory { get; init; }

    /// <summary>The key that signs the attestation (--key); null: SecureBuildSigningKey, else the development key links use.</summary>
    public string? SigningKey { get; init; }

    /// <summary>The command ran hermetically (recorded in the attestation).</summary>
    public bool Hermetic { get; init; }

    /// <summary>Programs the runner started around the command (the hermetic wrapper's).</summary>
    public IReadOnlyList<string> RunnerPrograms { get; init; } = Array.Empty<string>();

    /// <summary>The step name the attestation file is named after (default: the command's verb).</summary>
    public string? StepName { get; init; }

    /// <summary>The environment (tests pass their own).</summary>
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
}

/// <summary>The outcome: the findings, the attestation written and the exit code the verb returns.</summary>
public sealed class TraceEnforcementResult
{
    public required TracePolicyReport Report { get; init; }

    public required TraceAttribution Attribution { get; init; }

    public string? AttestationPath { get; init; }

    /// <summary>0 pass, 1 a policy violation (the command's own failure keeps its exit code), 2 usage.</summary>
    public required int ExitCode { get; init; }
}

/// <summary>
/// After the command ran under the tracer: attributes the trace to MSBuild tasks (the trace logger's log, or the binary log), holds it to the policy,
/// cross-checks the compiler's, packer's and publisher's reads against their declared inputs and the step links,
/// writes the signed runtime-trace attestation and prints the summary. One entry point the trace verb calls.
/// </summary>
public static class TraceEnforcement
{
    /// <summary>SB4214: no key to sign the trace attestation with.</summary>
    public const string NoKeyCode = "SB4214";

    public static TraceEnforcementResult Run(TraceLog log, TraceEnforcementOptions options, TextWriter stdout, TextWriter stderr)
    {
        var env = EnvironmentOf(options);
        TracePolicy policy;
        try
        {
            policy = options.PolicyFile is null ? TracePolicy.Default : TracePolicy.Load(options.PolicyFile);
        }
        catch (TracePolicyException e)
        {
            stderr.WriteLine($"securebuild trace: {e.Code}: {e.Message} {e.Fix}");
            return new TraceEnforcementResult { Report = new TracePolicyReport(Array.Empty<TraceFinding>(), options.Audit), Attribution = TraceAttribution.None(log), ExitCode = CliApplication.Usage };
        }

        var timeline = BuildTimeline.Empty;
        try
        {
            if (options.AttributionLog is not null)
            {
                var read = options.AttributionTail?.Finish() ?? AttributionLogReader.Read(options.AttributionLog, PackageFolders(env));
                timeline = read.Timeline;
                if (read.Warning is not null)
                {
                    stderr.WriteLine($"securebuild trace: warning {read.Warning}");
                }
            }
            else if (options.BinaryLog is not null)
            {
                timeline = BinlogTimelineReader.Read(options.BinaryLog, PackageFolders(env));
            }
        }
        catch (Exception e) when (e is BinlogException || e is AttributionLogException)
        {
            stderr.WriteLine($"securebuild trace: warning {e.Message}");
        }
        var attribution = TraceAttributor.Attribute(log, timeline);
        var context = Context(log, timeline, options, env);
        var links = LinksWritten(log);
        var namer = Namer(log, context);
        var findings = new TracePolicyEvaluator(policy, context).Evaluate(log, attribution);
        var undeclared = new UndeclaredInputCheck(context, LinkMaterials(links), namer).Check(log, attribution);
        if (policy.UndeclaredInputs)
        {
            findings.AddRange(undeclared);
        }
        var report = new TracePolicyReport(findings.OrderBy(f => f.Time).ToList(), options.Audit);

        string? written = WriteAttestation(log, attribution, policy, report, namer, context, links, options, env, stderr);
        TraceSummary.Write(log, attribution, report, policy.UndeclaredInputs ? Array.Empty<TraceFinding>() : undeclared, written, stdout, stderr);
        int exit = log.ExitCode is int code && code != 0 ? code : log.Signal is not null ? 128 + 9 : report.Failed ? CliApplication.Failure : CliApplication.Success;
        return new TraceEnforcementResult { Report = report, Attribution = attribution, AttestationPath = written, ExitCode = exit };
    }

    /// <summary>The run's folders, the lock's tools and sources, the dotnet installation: what the policy's tokens stand for.</summary>
    public static TracePolicyContext Context(TraceLog log, BuildTimeline timeline, TraceEnforcementOptions options, IReadOnlyDictionary<string, string> env)
    {
        string home = env.TryGetValue("HOME", out var h) ? h.TrimEnd('/') : "";
        var projects = timeline.Projects.Select(p => Path.GetDirectoryName(p)!).Distinct(StringComparer.Ordinal).ToList();
        if (projects.Count == 0)
        {
            projects.Add(log.WorkingDirectory);
        }
        string repository = SafeRepositoryRoot(log.WorkingDirectory);
        var temp = new List<string> { "/tmp", "/var/tmp", "/dev/shm" };
        if (env.TryGetValue("TMPDIR", out var tmp) && tmp.Length > 0)
        {
            temp.Add(tmp.TrimEnd('/'));
        }
        var outputs = OutputArguments(log.Command, log.WorkingDirectory).ToList();
        if (options.OutputDirectory is not null)
        {
            outputs.Add(Path.GetFullPath(options.OutputDirectory));
        }
        foreach (var buildLog in new[] { options.BinaryLog, options.AttributionLog })
        {
            if (buildLog is not null)
            {
                outputs.Add(Path.GetFullPath(buildLog)); // the log attribution reads
            }
        }
        var dotnetRoots = new List<string>();
        foreach (var exe in log.Processes.Where(p => Path.GetFileName(p.Executable) == "dotnet").Select(p => p.Executable).Distinct())
        {
            dotnetRoots.Add(Path.GetDirectoryName(exe)!);
            if (RealPath(exe) is { } real)
            {
                dotnetRoots.Add(Path.GetDirectoryName(real)!);
            }
        }
        if (env.TryGetValue("DOTNET_ROOT", out var dotnetRoot) && dotnetRoot.Length > 0)
        {
            dotnetRoots.Add(dotnetRoot.TrimEnd('/'));
        }
        dotnetRoots.RemoveAll(d => d == "/usr/bin" || d == "/bin" || d == "/usr/local/bin");
        // The host as it was started (/usr/bin/dotnet, a link into the installation) counts as the installation too.
        dotnetRoots.AddRange(log.Processes.Where(p => Path.GetFileName(p.Executable) == "dotnet").Select(p => p.Executable));
        var (tools, sources) = LockedToolsAndSources(repository, log.WorkingDirectory);
        return new TracePolicyContext
        {
            Home = home,
            RepositoryDirectory = repository,
            ProjectDirectories = projects,
            ArtifactsDirectory = Path.Combine(repository, "artifacts"),
            OutputDirectories = outputs,
            TempDirectories = temp,
            NuGetPackageFolders = timeline.PackageFolders.Concat(PackageFolders(env)).Distinct(StringComparer.Ordinal).ToList(),
            DotnetRoots = dotnetRoots.Distinct(StringComparer.Ordinal).ToList(),
            SecureBuildStateDirectories = SecureBuildStateDirectories(env),
            LockedToolCommands = tools,
            RunnerPrograms = options.RunnerPrograms,
            NetworkIsolated = options.Hermetic,
            FindPackageSourceHosts = sources,
            Resolve = ResolveHost,
        };
    }

    /// <summary>Where the SDK keeps its per-user state in the traced command's environment: the verification store's folder.</summary>
    public static IReadOnlyList<string> SecureBuildStateDirectories(IReadOnlyDictionary<string, string> env)
    {
        var store = UserVerificationStore.DefaultDirectory(name => env.TryGetValue(name, out var value) ? value : null);
        return store is null || Path.GetDirectoryName(Path.GetFullPath(store)) is not { } folder ? Array.Empty<string>() : new[] { folder };
    }

    /// <summary>The traced command's environment as the checks see it: the one given, else this process's.</summary>
    public static IReadOnlyDictionary<string, string> EnvironmentOf(TraceEnforcementOptions options) =>
        options.Environment ?? Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);

    /// <summary>NuGet's global packages folder: NUGET_PACKAGES, else ~/.nuget/packages.</summary>
    public static IEnumerable<string> PackageFolders(IReadOnlyDictionary<string, string> env)
    {
        if (env.TryGetValue("NUGET_PACKAGES", out var folder) && folder.Length > 0)
        {
            yield return Path.GetFullPath(folder).TrimEnd('/');
        }
        if (env.TryGetValue("HOME", out var home) && home.Length > 0)
        {
            yield return Path.Combine(home, ".nuget", "packages");
        }
    }

    private static IReadOnlyList<string> ResolveHost(string host)
    {
        try
        {
            return Dns.GetHostAddresses(host).Select(a => a.ToString()).ToList();
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException || e is ArgumentException)
        {
            return Array.Empty<string>();
        }
    }

    private static string SafeRepositoryRoot(string directory)
    {
        try
        {
            return RepositoryRoot.Find(directory);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return directory;
        }
    }

    private static string? RealPath(string path)
    {
        try
        {
            var target = File.ResolveLinkTarget(path, returnFinalTarget: true);
            return target?.FullName;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>-o/--output DIR (and -o:DIR) of the traced dotnet command.</summary>
    private static IEnumerable<string> OutputArguments(IReadOnlyList<string> command, string workingDirectory)
    {
        for (int i = 0; i < command.Count; i++)
        {
            string a = command[i];
            string? value = (a == "-o" || a == "--output") && i + 1 < command.Count ? command[i + 1]
                : a.StartsWith("-o:", StringComparison.Ordinal) || a.StartsWith("--output:", StringComparison.Ordinal) || a.StartsWith("--output=", StringComparison.Ordinal) ? a.Substring(a.IndexOfAny(new[] { ':', '=' }) + 1)
                : null;
            if (!string.IsNullOrEmpty(value))
            {
                yield return Path.GetFullPath(Path.Combine(workingDirectory, value)).TrimEnd('/');
            }
        }
    }

    /// <summary>Tools and package source hosts of securebuild.lock.json; without a lock, NuGet's enabled sources (asked
    /// for only when the policy first needs them: `dotnet nuget list source` is a process of its own).</summary>
    private static (IReadOnlyList<string> Tools, Func<IReadOnlyList<string>> Hosts) LockedToolsAndSources(string repository, string workingDirectory)
    {
        string lockPath = Path.Combine(repository, RepositoryLock.DefaultFileName);
        IReadOnlyList<string> tools = Array.Empty<string>();
        if (!InputFile.Exists(lockPath))
        {
            return (tools, () => HostsOf(NuGetSources(workingDirectory)));
        }
        IEnumerable<string> sources;
        try
        {
            var lockModel = LockFile.Load(lockPath);
            tools = lockModel.Tools.Values.SelectMany(t => t.Commands).Distinct(StringComparer.Ordinal).ToList();
            sources = lockModel.Sources;
        }
        catch (Exception e) when (e is LockFormatException || e is IOException)
        {
            sources = Array.Empty<string>(); // the lock's own verification reports it; no host is allowed
        }
        var hosts = HostsOf(sources);
        return (tools, () => hosts);
    }

    private static IReadOnlyList<string> HostsOf(IEnumerable<string> sources) =>
        sources.Select(s => Uri.TryCreate(s, UriKind.Absolute, out var uri) && (uri.Scheme == "https" || uri.Scheme == "http") ? uri.Host : null)
            .Where(h => h is not null).Select(h => h!).Distinct(StringComparer.OrdinalIgnoreCase).ToList();

    private static IEnumerable<string> NuGetSources(string workingDirectory)
    {
        var outcome = new ProcessRunner().Run(new ProcessSpec("dotnet", new[] { "nuget", "list", "source", "--format", "short" }, workingDirectory)
        {
            CaptureStandardOutput = true,
            Timeout = TimeSpan.FromMinutes(2),
            AddedEnvironment = new Dictionary<string, string> { ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" },
        });
        if (!outcome.Exited || outcome.ExitCode != 0)
        {
            return Array.Empty<string>();
        }
        // "E https://api.nuget.org/v3/index.json": enabled sources only.
        return outcome.StandardOutput.Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("E ", StringComparison.Ordinal)).Select(l => l.Substring(2).Trim()).ToList();
    }

    /// <summary>The in-toto links the command wrote (the SDK's step links), by path.</summary>
    private static Dictionary<string, Link> LinksWritten(TraceLog log)
    {
        var links = new Dictionary<string, Link>(StringComparer.Ordinal);
        foreach (var path in log.Files.Where(f => f.Kind is FileAccessKind.Create or FileAccessKind.Write or FileAccessKind.Rename)
                     .Select(f => f.RenamedTo ?? f.Path).Where(p => p.EndsWith(".link", StringComparison.Ordinal)).Distinct(StringComparer.Ordinal))
        {
            try
            {
                if (File.Exists(path))
                {
                    links[path] = Link.FromJson(Metablock.Load(path).Signed);
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is InTotoFormatException || e is Core.Json.JsonFormatException)
            {
                // Not a link we can read: the cross-check falls back to the tasks' declared inputs.
            }
        }
        return links;
    }

    private static IReadOnlyDictionary<string, ISet<string>> LinkMaterials(Dictionary<string, Link> links)
    {
        var materials = new Dictionary<string, ISet<string>>(StringComparer.Ordinal);
        foreach (var link in links.Values)
        {
            string step = link.Name.StartsWith("compile", StringComparison.Ordinal) ? "compile" : link.Name.StartsWith("pack", StringComparison.Ordinal) ? "pack" : link.Name.StartsWith("publish", StringComparison.Ordinal) ? "publish" : "";
            if (step.Length == 0)
            {
                continue;
            }
            if (!materials.TryGetValue(step, out var set))
            {
                set = new HashSet<string>(StringComparer.Ordinal);
                materials[step] = set;
            }
            set.UnionWith(link.Materials.Keys);
        }
        return materials;
    }

    /// <summary>Names artifacts as the links do: relative to the repository, NuGet's files as @nuget/...</summary>
    private static ArtifactNamer Namer(TraceLog log, TracePolicyContext context) =>
        new(SafeRepositoryRoot(log.WorkingDirectory),
            context.NuGetPackageFolders.Select(f => new KeyValuePair<string, string>(f, "@nuget"))
                .Concat(context.DotnetRoots.Take(1).Select(d => new KeyValuePair<string, string>(d, "@dotnet")))
                .Concat(context.Home.Length > 0 ? new[] { new KeyValuePair<string, string>(context.Home, "@home") } : Array.Empty<KeyValuePair<string, string>>()),
            context.OutputDirectories.Select(o => new KeyValuePair<string, string>(o, "@output")));

    private static string? WriteAttestation(TraceLog log, TraceAttribution attribution, TracePolicy policy, TracePolicyReport report, ArtifactNamer namer,
        TracePolicyContext context, Dictionary<string, Link> links, TraceEnforcementOptions options, IReadOnlyDictionary<string, string> env, TextWriter stderr)
    {
        SigningKey key;
        try
        {
            string? keyFile = options.SigningKey
                ?? (env.TryGetValue("SecureBuildSigningKey", out var k) && k.Length > 0 ? k : null)
                ?? (context.Home.Length > 0 && File.Exists(Path.Combine(context.Home, ".securebuild", "development-key")) ? Path.Combine(context.Home, ".securebuild", "development-key") : null);
            if (keyFile is null)
            {
                stderr.WriteLine($"securebuild trace: warning {NoKeyCode}: no key to sign the runtime-trace attestation: none was written. Pass --key FILE or set SecureBuildSigningKey (create one with `securebuild keygen --type ed25519 -o build.key`).");
                return null;
            }
            key = Core.Crypto.SigningKey.Load(keyFile);
        }
        catch (KeyFormatException e)
        {
            stderr.WriteLine($"securebuild trace: warning {e.Code}: {e.Message} {e.Fix} The runtime-trace attestation was not written.");
            return null;
        }

        var writeRoots = context.ProjectDirectories.SelectMany(d => new[] { Path.Combine(d, "bin"), Path.Combine(d, "obj") })
            .Concat(context.OutputDirectories).Concat(context.ArtifactsDirectory is null ? Array.Empty<string>() : new[] { context.ArtifactsDirectory }).ToList();
        var ci = CiContext.Detect(env);
        var inputs = new RuntimeTraceAttestation.Inputs(log, attribution, policy, report, namer)
        {
            HostId = ci.BuilderId,
            InvocationId = ci.InvocationId,
            Hermetic = options.Hermetic,
            IsProduct = path => writeRoots.Any(r => TracePolicyEvaluator.Under(path, r)) && !path.EndsWith(".link", StringComparison.Ordinal),
        };
        var line = RuntimeTraceAttestation.Sign(RuntimeTraceAttestation.CreateStatement(inputs), key);
        string directory = options.OutputDirectory ?? links.Keys.Select(Path.GetDirectoryName).FirstOrDefault() ?? log.WorkingDirectory;
        string step = options.StepName ?? StepNameOf(log.Command);
        string path = Path.Combine(directory, RuntimeTraceAttestation.FileName(step));
        Directory.CreateDirectory(directory);
        AtomicFile.WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(line));
        return path;
    }

    private static string StepNameOf(IReadOnlyList<string> command) =>
        TraceAttributor.PhaseOfCommand(command) switch
        {
            TracePhase.Other => "command",
            var phase => phase.ToString().ToLowerInvariant(),
        };
}

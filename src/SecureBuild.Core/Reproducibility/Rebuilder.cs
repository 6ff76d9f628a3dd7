using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Processes;

namespace SecureBuild.Core.Reproducibility;

/// <summary>What to rebuild and how.</summary>
public sealed class RebuildOptions
{
    /// <summary>A project, a solution, or a directory holding one.</summary>
    public string Target { get; set; } = ".";

    /// <summary>The directory to copy; default: the git work tree, else the nearest directory with a global.json, else the target's directory.</summary>
    public string? Root { get; set; }

    /// <summary><c>build</c> or <c>pack</c> (pack also builds).</summary>
    public string Command { get; set; } = "pack";

    public string Configuration { get; set; } = "Release";

    public ISet<string> Variations { get; set; } = Reproducibility.Variations.Parse(null);

    /// <summary>Keep the two build directories (their path is in the result).</summary>
    public bool Keep { get; set; }

    /// <summary>Run the builds at the same time; default: when the machine has two or more cores.</summary>
    public bool? Parallel { get; set; }

    /// <summary>The dotnet executable.</summary>
    public string DotNet { get; set; } = "dotnet";

    public IReadOnlyList<string> ExtraArguments { get; set; } = Array.Empty<string>();

    /// <summary>Progress lines (for stderr).</summary>
    public Action<string>? Progress { get; set; }

    /// <summary>Where the temporary build directories go; default: /dev/shm for file ordering when it is tmpfs, else the temp directory.</summary>
    public string? WorkRoot { get; set; }

    /// <summary>The environment the builds start from; default: this process's.</summary>
    public IDictionary<string, string>? BaseEnvironment { get; set; }

    public TimeSpan BuildTimeout { get; set; } = TimeSpan.FromMinutes(30);
}

/// <summary>One of the two builds.</summary>
public sealed class BuildRun
{
    internal BuildRun(string label)
    {
        Label = label;
    }

    public string Label { get; }

    /// <summary>The copy's root directory.</summary>
    public string Directory { get; internal set; } = string.Empty;

    public string WorkingDirectory { get; internal set; } = string.Empty;

    /// <summary>The variables this build set or changed relative to the base environment.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    public string? Umask { get; internal set; }

    public int ExitCode { get; internal set; }

    public string Output { get; internal set; } = string.Empty;

    public TimeSpan Duration { get; internal set; }

    /// <summary>Outputs: relative name → full path (valid until the directories are deleted).</summary>
    public Dictionary<string, string> Outputs { get; } = new(StringComparer.Ordinal);

    /// <summary>Outputs: relative name → sha256.</summary>
    public Dictionary<string, string> OutputDigests { get; } = new(StringComparer.Ordinal);

    internal List<KeyValuePair<string, string>> SkippedOutputs { get; } = new();
}

/// <summary>The outcome of a rebuild.</summary>
public sealed class RebuildResult
{
    public DiffReport Report { get; internal set; } = new("a", "b");

    public BuildRun A { get; } = new("a");

    public BuildRun B { get; } = new("b");

    /// <summary>The command both builds ran (relative target).</summary>
    public IReadOnlyList<string> Command { get; internal set; } = Array.Empty<string>();

    public long SourceDateEpoch { get; internal set; }

    public string? GitCommit { get; internal set; }

    public int SourceFileCount { get; internal set; }

    /// <summary>sha256 over the sorted (path, sha256) list of the copied source files.</summary>
    public string SourceDigest { get; internal set; } = string.Empty;

    /// <summary>The variations applied, with the values on each side.</summary>
    public List<KnownVariation> Applied { get; } = new();

    /// <summary>Variations asked for but not applied, with the reason.</summary>
    public List<KeyValuePair<string, string>> NotApplied { get; } = new();

    /// <summary>The temporary directory; deleted unless <see cref="RebuildOptions.Keep"/>.</summary>
    public string WorkDirectory { get; internal set; } = string.Empty;

    public bool Parallel { get; internal set; }

    public DateTimeOffset Started { get; internal set; }

    public DateTimeOffset Finished { get; internal set; }

    public bool Reproducible => Report.Identical && A.ExitCode == 0 && B.ExitCode == 0;
}

/// <summary>A rebuild could not be carried out (nothing to build, both builds failed, ...).</summary>
public sealed class RebuildException : Exception
{
    public RebuildException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// Builds the source twice from clean copies in two isolated directories, varying the environment like reprotest,
/// and compares every output (bin/**, *.nupkg, *.snupkg) with <see cref="ArtifactDiffer"/>.
/// </summary>
public sealed class Rebuilder
{
    /// <summary>Variables that would make a child MSBuild behave unlike a user's (set when called from inside a build).</summary>
    private static readonly string[] Scrubbed =
    {
        "MSBuildSDKsPath", "MSBUILD_EXE_PATH", "MSBuildExtensionsPath", "MSBuildLoadMicrosoftTargetsReadOnly", "MSBUILDNOINPROCNODE",
        "MSBuildCacheEnabled", "VSTEST_HOST_DEBUG", "MSBUILDLOGASYNC", "_MSBUILDTLENABLED",
    };

    private static readonly string[] LocaleVariables = { "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "LC_TIME", "LC_COLLATE", "LC_MONETARY", "LC_MESSAGES" };

    private readonly IProcessRunner _runner;

    public Rebuilder(IProcessRunner runner)
    {
        _runner = runner;
    }

    public RebuildResult Run(RebuildOptions options, CancellationToken cancellationToken = default)
    {
        var result = new RebuildResult { Started = DateTimeOffset.UtcNow };
        var progress = options.Progress ?? (_ => { });
        var target = Path.GetFullPath(options.Target);
        bool targetIsFile = File.Exists(target);
        if (!targetIsFile && !System.IO.Directory.Exists(target))
        {
            throw new RebuildException($"{options.Target} does not exist");
        }

        if (options.Command != "build" && options.Command != "pack")
        {
            throw new RebuildException($"unknown command \"{options.Command}\": use build or pack");
        }

        var targetDir = targetIsFile ? Path.GetDirectoryName(target)! : target;
        var baseEnv = options.BaseEnvironment is not null
            ? new Dictionary<string, string>(options.BaseEnvironment, StringComparer.Ordinal)
            : CurrentEnvironment();

        var gitRoot = Git(targetDir, "rev-parse", "--show-toplevel");
        var root = options.Root is not null ? Path.GetFullPath(options.Root) : gitRoot ?? GlobalJsonRoot(targetDir) ?? targetDir;
        root = root.TrimEnd(Path.DirectorySeparatorChar);
        if (!(target + Path.DirectorySeparatorChar).StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new RebuildException($"{target} is not inside the directory to copy ({root})");
        }

        bool useGit = gitRoot is not null && IsInside(root, gitRoot);
        var files = useGit ? GitFiles(root) : DirectoryFiles(root);
        if (files.Count == 0)
        {
            throw new RebuildException($"no source files found under {root}");
        }

        result.SourceFileCount = files.Count;
        result.SourceDigest = SourceDigest(root, files);
        if (useGit)
        {
            result.GitCommit = Git(root, "rev-parse", "HEAD");
        }

        result.SourceDateEpoch = SourceDateEpoch(baseEnv, useGit ? root : null, root, files);
        progress($"source: {files.Count} {(useGit ? "git-tracked " : string.Empty)}files under {root}{(result.GitCommit is null ? string.Empty : " at " + result.GitCommit.Substring(0, Math.Min(12, result.GitCommit.Length)))}; SOURCE_DATE_EPOCH={result.SourceDateEpoch}");

        var variations = options.Variations;
        bool fileOrdering = variations.Contains(Variations.FileOrdering);
        string parent;
        if (options.WorkRoot is not null)
        {
            parent = options.WorkRoot;
            if (fileOrdering && !IsTmpfs(parent))
            {
                result.NotApplied.Add(new(Variations.FileOrdering, $"{parent} is not tmpfs: directory order does not follow creation order there"));
                fileOrdering = false;
            }
        }
        else if (fileOrdering && IsTmpfs("/dev/shm"))
        {
            parent = "/dev/shm";
        }
        else
        {
            parent = Path.GetTempPath();
            if (fileOrdering)
            {
                result.NotApplied.Add(new(Variations.FileOrdering, "no tmpfs at /dev/shm (disorderfs is not used)"));
                fileOrdering = false;
            }
        }

        var work = Path.Combine(parent, "securebuild-rebuild-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        System.IO.Directory.CreateDirectory(work);
        result.WorkDirectory = work;
        try
        {
            RunBuilds(options, result, baseEnv, root, target, targetIsFile, useGit ? gitRoot : null, files, work, fileOrdering, progress, cancellationToken);
        }
        finally
        {
            if (!options.Keep)
            {
                TryDelete(work);
            }
        }

        result.Finished = DateTimeOffset.UtcNow;
        return result;
    }

    private void RunBuilds(RebuildOptions options, RebuildResult result, Dictionary<string, string> baseEnv, string root, string target, bool targetIsFile,
        string? gitRoot, List<string> files, string work, bool fileOrdering, Action<string> progress, CancellationToken cancellationToken)
    {
        var variations = options.Variations;
        bool buildPath = variations.Contains(Variations.BuildPath);
        var relTarget = target.Length > root.Length ? target.Substring(root.Length + 1).Replace('\\', '/') : string.Empty;
        var relDir = targetIsFile ? (Path.GetDirectoryName(relTarget) ?? string.Empty).Replace('\\', '/') : relTarget;
        // `pack` is a build followed by `pack --no-build`: packing a solution skips non-packable projects entirely.
        var commands = new List<List<string>>();
        foreach (var verb in options.Command == "pack" ? new[] { "build", "pack" } : new[] { "build" })
        {
            var command = new List<string> { verb };
            if (targetIsFile)
            {
                command.Add(Path.GetFileName(target));
            }

            command.AddRange(new[] { "-c", options.Configuration, "-nologo" });
            if (verb == "pack")
            {
                command.Add("--no-build");
            }

            command.AddRange(options.ExtraArguments);
            commands.Add(command);
        }

        result.Command = commands.SelectMany((c, i) => (i == 0 ? new[] { "dotnet" } : new[] { "&&", "dotnet" }).Concat(c)).ToList();

        var a = result.A;
        var b = result.B;
        a.Directory = buildPath ? Path.Combine(work, "a", "src") : Path.Combine(work, "src");
        b.Directory = buildPath ? Path.Combine(work, "rebuild-b", "nested", "source") : Path.Combine(work, "src");
        if (!buildPath)
        {
            result.NotApplied.Add(new(Variations.BuildPath, "not requested: both builds ran in the same directory, one after the other"));
        }
        else
        {
            result.Applied.Add(new KnownVariation("build path", a.Directory, b.Directory, Causes.PathInContent.Id));
        }

        // A signing key for the links the SDK writes, shared by both builds (they are not compared).
        if (!baseEnv.ContainsKey("SecureBuildSigningKey"))
        {
            var keyPath = Path.Combine(work, "rebuild.key");
            File.WriteAllText(keyPath, SigningKey.Generate(KeyType.Ed25519).ExportPrivate());
            baseEnv["SecureBuildSigningKey"] = keyPath;
        }

        foreach (var name in Scrubbed)
        {
            baseEnv.Remove(name);
        }

        DotnetEnvironment.MakeQuiet(baseEnv);
        baseEnv["UseSharedCompilation"] = "false";
        baseEnv["SOURCE_DATE_EPOCH"] = result.SourceDateEpoch.ToString(CultureInfo.InvariantCulture);

        ApplyVariations(variations, result, baseEnv, work);
        var branch = BranchVariation(variations, result, gitRoot, root);

        bool parallel = buildPath && (options.Parallel ?? System.Environment.ProcessorCount >= 2);
        result.Parallel = parallel;
        var startedA = new ManualResetEventSlim(false);
        void Build(BuildRun run, bool reverse)
        {
            Copy(root, files, run.Directory, reverse);
            CopyLocalFeeds(root, files, run.Directory, progress, run.Label);
            if (gitRoot is not null && PrepareGit(gitRoot, root, run.Directory) && branch is not null)
            {
                CheckOut(run.Directory, run == a ? branch : null);
            }

            run.WorkingDirectory = relDir.Length == 0 ? run.Directory : Path.Combine(run.Directory, relDir);
            var env = new Dictionary<string, string>(baseEnv, StringComparer.Ordinal);
            foreach (var kv in run.Environment)
            {
                env[kv.Key] = kv.Value;
            }

            if (run.Environment.TryGetValue("HOME", out var home))
            {
                System.IO.Directory.CreateDirectory(home);
                CopyNuGetConfig(baseEnv, home);
            }

            if (run == b && variations.Contains(Variations.Time))
            {
                startedA.Wait(cancellationToken);
                var now = DateTime.UtcNow;
                var next = now.AddTicks(TimeSpan.TicksPerSecond - (now.Ticks % TimeSpan.TicksPerSecond)).AddMilliseconds(20);
                Thread.Sleep(next - now);
            }

            var stopwatch = Stopwatch.StartNew();
            if (run == a)
            {
                startedA.Set();
            }

            var output = new StringBuilder();
            foreach (var command in commands)
            {
                progress($"[{run.Label}] dotnet {string.Join(" ", command)}   (in {run.WorkingDirectory})");
                var spec = new ProcessSpec(options.DotNet, command, run.WorkingDirectory)
                {
                    Environment = env,
                    Umask = run.Umask,
                    Timeout = options.BuildTimeout,
                    OnLine = line =>
                    {
                        if (line.Contains(" -> ") || line.Contains(": error ") || line.Contains("Successfully created package"))
                        {
                            progress($"[{run.Label}] {line.Trim()}");
                        }
                    },
                };
                var outcome = _runner.Run(spec, cancellationToken);
                output.Append(outcome.Output);
                if (outcome.StartError is not null)
                {
                    output.AppendLine(outcome.StartErrorMessage("Install the .NET SDK or pass the dotnet to use."));
                }
                else if (outcome.TimedOut)
                {
                    output.AppendLine(outcome.TimeoutMessage(
                        $"Run the same command by hand in a copy of the project to see where it waits (a prompt, a network source, a test that hangs); a build may take {ProcessOutcome.Describe(options.BuildTimeout)} at most."));
                }
                run.ExitCode = outcome.ExitCode;
                if (outcome.ExitCode != 0)
                {
                    break;
                }
            }

            run.Duration = stopwatch.Elapsed;
            run.Output = output.ToString();
            progress($"[{run.Label}] {(run.ExitCode == 0 ? "built" : $"FAILED (exit {run.ExitCode})")} in {run.Duration.TotalSeconds:0.0} s");
        }

        if (parallel)
        {
            progress("building a and b at the same time");
            var ta = Task.Run(() => Build(a, reverse: false), cancellationToken);
            var tb = Task.Run(() => Build(b, reverse: fileOrdering), cancellationToken);
            Task.WaitAll(new[] { ta, tb }, cancellationToken);
            CollectOutputs(a);
            CollectOutputs(b);
        }
        else
        {
            Build(a, reverse: false);
            if (!buildPath)
            {
                var moved = Path.Combine(work, "a-result");
                System.IO.Directory.Move(a.Directory, moved);
                a.Directory = moved;
            }

            CollectOutputs(a);
            Build(b, reverse: fileOrdering);
            CollectOutputs(b);
        }

        if (a.ExitCode != 0 && b.ExitCode != 0)
        {
            throw new RebuildException($"both builds failed (exit {a.ExitCode}); the last lines of the first:\n{Tail(a.Output, 30)}");
        }

        progress($"comparing {a.Outputs.Count} and {b.Outputs.Count} outputs");
        var diffOptions = new DiffOptions { Variations = result.Applied };
        result.Report = ArtifactDiffer.CompareSets($"a: {a.Directory}", a.Outputs, $"b: {b.Directory}", b.Outputs, diffOptions);
        foreach (var skip in Skipped(a))
        {
            result.Report.Skipped.Add(skip);
        }

        if (a.ExitCode != b.ExitCode)
        {
            result.Report.Differences.Insert(0, new Difference("(build)", "exit code", a.ExitCode.ToString(CultureInfo.InvariantCulture), b.ExitCode.ToString(CultureInfo.InvariantCulture),
                Causes.Environment.WithTitle("The build succeeded under one environment only"), Tail(a.ExitCode != 0 ? a.Output : b.Output, 20)));
        }

        if (a.Outputs.Count == 0 && b.Outputs.Count == 0)
        {
            throw new RebuildException("the builds produced no outputs under bin/ and no packages");
        }
    }

    private void ApplyVariations(ISet<string> variations, RebuildResult result, Dictionary<string, string> baseEnv, string work)
    {
        var a = result.A.Environment;
        var b = result.B.Environment;
        void Vary(string name, string left, string right, string label)
        {
            a[name] = left;
            b[name] = right;
            result.Applied.Add(new KnownVariation(label, left, right));
        }

        if (variations.Contains(Variations.TimeZone))
        {
            Vary("TZ", "Etc/GMT+12", "Etc/GMT-14", "TZ");
        }

        if (variations.Contains(Variations.Locales))
        {
            foreach (var v in LocaleVariables)
            {
                baseEnv.Remove(v);
            }

            Vary("LANG", "C.UTF-8", "fr_CH.UTF-8", "LANG");
            a["LC_ALL"] = "C.UTF-8";
            b["LC_ALL"] = "fr_CH.UTF-8";
            a["LANGUAGE"] = "en_US:en";
            b["LANGUAGE"] = "fr_CH:fr";
        }

        if (variations.Contains(Variations.Umask))
        {
            result.A.Umask = "0022";
            result.B.Umask = "0002";
            result.Applied.Add(new KnownVariation("umask", "0022", "0002"));
        }

        if (variations.Contains(Variations.Environment))
        {
            var noise = "noise-" + Guid.NewGuid().ToString("N").Substring(0, 12);
            b["SECUREBUILD_REPRO_NOISE"] = noise;
            b["CAPTURE_ENVIRONMENT"] = "i_capture_the_environment";
            result.Applied.Add(new KnownVariation("extra environment variables", "(none)", $"SECUREBUILD_REPRO_NOISE={noise}, CAPTURE_ENVIRONMENT=i_capture_the_environment"));
            result.Applied.Add(new KnownVariation("SECUREBUILD_REPRO_NOISE", "(unset)", noise));
        }

        if (variations.Contains(Variations.Home))
        {
            if (!baseEnv.ContainsKey("NUGET_PACKAGES") && baseEnv.TryGetValue("HOME", out var originalHome))
            {
                baseEnv["NUGET_PACKAGES"] = Path.Combine(originalHome, ".nuget", "packages");
            }

            Vary("HOME", Path.Combine(work, "home-a"), Path.Combine(work, "home-b", "user"), "HOME");
            a["DOTNET_CLI_HOME"] = a["HOME"];
            b["DOTNET_CLI_HOME"] = b["HOME"];
        }

        if (variations.Contains(Variations.User))
        {
            Vary("USER", "builder-a", "rebuilder-b", "USER");
            a["LOGNAME"] = a["USER"];
            b["LOGNAME"] = b["USER"];
            a["USERNAME"] = a["USER"];
            b["USERNAME"] = b["USER"];
            result.NotApplied.Add(new(Variations.User, "the user id stays the same (only USER/LOGNAME/USERNAME vary): switching users needs a second account"));
        }

        if (variations.Contains(Variations.NumCpus))
        {
            var many = Math.Max(2, System.Environment.ProcessorCount).ToString(CultureInfo.InvariantCulture);
            a["DOTNET_PROCESSOR_COUNT"] = "1";
            b["DOTNET_PROCESSOR_COUNT"] = many;
            result.Applied.Add(new KnownVariation("DOTNET_PROCESSOR_COUNT (MSBuild -m)", "1", many));
        }

        if (variations.Contains(Variations.Time))
        {
            result.Applied.Add(new KnownVariation("start time", "t", "t + ≥1 s (a later wall-clock second)"));
        }

        if (variations.Contains(Variations.FileOrdering))
        {
            result.Applied.Add(new KnownVariation("file creation order", "sorted", "reversed (tmpfs lists directories in creation order)"));
        }

        result.NotApplied.Add(new("kernel, aslr, domain_host, exec_path", "not varied: they do not reach a .NET build (reprotest varies them for native toolchains)"));
    }

    /// <summary>
    /// The branch the first copy checks out when the git_branch variation applies (the second gets a detached HEAD of
    /// the same commit), else null with the reason recorded.
    /// </summary>
    private string? BranchVariation(ISet<string> variations, RebuildResult result, string? gitRoot, string root)
    {
        if (!variations.Contains(Variations.GitBranch))
        {
            return null;
        }

        if (gitRoot is null || !string.Equals(gitRoot.TrimEnd(Path.DirectorySeparatorChar), root, StringComparison.Ordinal))
        {
            result.NotApplied.Add(new(Variations.GitBranch, "the copied source is not the root of a git work tree"));
            return null;
        }

        var branch = Git(root, "symbolic-ref", "--quiet", "--short", "HEAD");
        branch = string.IsNullOrEmpty(branch) ? "securebuild-rebuild" : branch;
        result.Applied.Add(new KnownVariation("git checkout", "branch " + branch, "detached HEAD", Causes.GitBranch.Id));
        return branch;
    }

    /// <summary>Puts the clone at <paramref name="copy"/> on <paramref name="branch"/>, or on a detached HEAD when it is null (same commit).</summary>
    private static void CheckOut(string copy, string? branch)
    {
        var commit = RunGit(copy, "rev-parse", "HEAD");
        if (commit is null)
        {
            return;
        }

        if (branch is null)
        {
            RunGit(copy, "update-ref", "--no-deref", "HEAD", commit);
        }
        else
        {
            RunGit(copy, "update-ref", "refs/heads/" + branch, commit);
            RunGit(copy, "symbolic-ref", "HEAD", "refs/heads/" + branch);
        }
    }

    private static void CopyNuGetConfig(Dictionary<string, string> baseEnv, string home)
    {
        if (!baseEnv.TryGetValue("HOME", out var original))
        {
            return;
        }

        var config = Path.Combine(original, ".nuget", "NuGet", "NuGet.Config");
        if (File.Exists(config))
        {
            var target = Path.Combine(home, ".nuget", "NuGet", "NuGet.Config");
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(config, target, overwrite: true);
        }
    }

    private static IEnumerable<KeyValuePair<string, string>> Skipped(BuildRun run) =>
        run.Outputs.Count == 0 ? Enumerable.Empty<KeyValuePair<string, string>>() : run.SkippedOutputs;

    private static void CollectOutputs(BuildRun run)
    {
        if (!System.IO.Directory.Exists(run.Directory))
        {
            return;
        }

        var root = run.Directory.TrimEnd(Path.DirectorySeparatorChar);
        foreach (var file in System.IO.Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var rel = file.Substring(root.Length + 1).Replace('\\', '/');
            var segments = rel.Split('/');
            if (segments.Contains(".git") || segments.Contains("obj"))
            {
                continue;
            }

            bool package = rel.EndsWith(".nupkg", StringComparison.OrdinalIgnoreCase) || rel.EndsWith(".snupkg", StringComparison.OrdinalIgnoreCase);
            int bin = Array.IndexOf(segments, "bin");
            if (bin < 0 && !package)
            {
                continue;
            }

            int attestations = Array.IndexOf(segments, "attestations");
            if (bin >= 0 && attestations > bin)
            {
                var dir = string.Join("/", segments.Take(attestations + 1)) + "/";
                if (!run.SkippedOutputs.Any(s => s.Key == dir))
                {
                    run.SkippedOutputs.Add(new(dir, "SecureBuild links and provenance: records of each build (per-build timestamps and invocation), not outputs"));
                }

                continue;
            }

            if (bin >= 0 && segments.Length > bin + 1 && segments[bin + 1] == "reproducibility")
            {
                continue;
            }

            run.Outputs[rel] = file;
            run.OutputDigests[rel] = Crypto.Sha256Hex.OfFile(file);
        }
    }

    /// <summary>Makes the copy a clone at the same commit; false when it could not (or the root is not the work tree's).</summary>
    private static bool PrepareGit(string gitRoot, string root, string copy)
    {
        // Only when the copied root is the work tree root: the copy becomes a clone at the same commit, so
        // SourceRevisionId, Source Link and SourceRoot are those of the real build.
        if (!string.Equals(gitRoot.TrimEnd(Path.DirectorySeparatorChar), root, StringComparison.Ordinal))
        {
            return false;
        }

        var temp = copy + ".git-clone";
        if (RunGit(null, "clone", "--quiet", "--shared", "--no-checkout", gitRoot, temp) is null)
        {
            return false;
        }

        System.IO.Directory.Move(Path.Combine(temp, ".git"), Path.Combine(copy, ".git"));
        TryDelete(temp);
        RunGit(copy, "reset", "--quiet");
        var origin = RunGit(gitRoot, "remote", "get-url", "origin");
        if (origin is not null)
        {
            RunGit(copy, "remote", "set-url", "origin", origin);
        }
        else
        {
            RunGit(copy, "remote", "remove", "origin");
        }

        return true;
    }

    private static void Copy(string root, List<string> files, string destination, bool reverse)
    {
        System.IO.Directory.CreateDirectory(destination);
        IEnumerable<string> order = reverse ? Enumerable.Reverse(files) : files;
        foreach (var rel in order)
        {
            var source = Path.Combine(root, rel);
            var target = Path.Combine(destination, rel);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(source, target, overwrite: true);
        }
    }

    /// <summary>
    /// A nuget.config may name a local feed by a relative path that the copy does not have (an untracked
    /// artifacts/packages, a folder above the root). The feed is an input like the package cache, not source: its
    /// files are copied to where the relative path points from the copy, so restore finds the same packages.
    /// </summary>
    private static void CopyLocalFeeds(string root, List<string> files, string copy, Action<string> progress, string label)
    {
        foreach (var config in files.Where(f => string.Equals(Path.GetFileName(f), "nuget.config", StringComparison.OrdinalIgnoreCase)))
        {
            System.Xml.Linq.XDocument doc;
            try
            {
                doc = System.Xml.Linq.XDocument.Load(new MemoryStream(InputFile.ReadAllBytes(Path.Combine(root, config), InputKind.Metadata)));
            }
            catch (System.Xml.XmlException)
            {
                continue;
            }

            var configDir = Path.GetDirectoryName(config) ?? string.Empty;
            foreach (var add in doc.Descendants("packageSources").Elements("add"))
            {
                var value = (string?)add.Attribute("value");
                if (value is null || value.Contains("://") || Path.IsPathRooted(value) || value.Contains("$"))
                {
                    continue;
                }

                var original = Path.GetFullPath(Path.Combine(root, configDir, value));
                var target = Path.GetFullPath(Path.Combine(copy, configDir, value));
                if (!System.IO.Directory.Exists(original) || System.IO.Directory.Exists(target))
                {
                    continue;
                }

                foreach (var file in System.IO.Directory.EnumerateFiles(original, "*", SearchOption.AllDirectories))
                {
                    var to = Path.Combine(target, file.Substring(original.Length).TrimStart(Path.DirectorySeparatorChar));
                    System.IO.Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                    File.Copy(file, to, overwrite: true);
                }

                progress($"[{label}] local feed {value} (from {config}) is not part of the source: copied its packages next to the copy");
            }
        }
    }

    private static bool IsInside(string path, string root) =>
        (path.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar).StartsWith(root.TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    private string? Git(string directory, params string[] arguments) => RunGitWith(_runner, directory, arguments);

    private static string? RunGit(string? directory, params string[] arguments) =>
        RunGitWith(new ProcessRunner(), directory ?? System.IO.Directory.GetCurrentDirectory(), directory is null ? arguments : arguments);

    private static string? RunGitWith(IProcessRunner runner, string directory, string[] arguments)
    {
        // stdout alone (a warning on stderr is not a file name); a listing cut by the output limit is no listing.
        var outcome = runner.Run(new ProcessSpec("git", arguments, directory)
        {
            Timeout = TimeSpan.FromMinutes(2),
            CaptureStandardOutput = true,
            OutputLimit = 256 * 1024 * 1024,
            AddedEnvironment = new Dictionary<string, string> { ["GIT_TERMINAL_PROMPT"] = "0" },
        });
        return outcome.Exited && outcome.ExitCode == 0 && outcome.DroppedCharacters == 0 ? outcome.StandardOutput.Trim() : null;
    }

    private List<string> GitFiles(string root)
    {
        var listing = Git(root, "ls-files", "--cached");
        if (listing is null)
        {
            return DirectoryFiles(root);
        }

        return listing.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0)
            .Select(Unquote)
            .Where(rel => File.Exists(Path.Combine(root, rel)))
            .Distinct(StringComparer.Ordinal)
            .OrderBy(rel => rel, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>git quotes unusual names ("a\tb"); decode the common escapes.</summary>
    private static string Unquote(string name)
    {
        if (name.Length < 2 || name[0] != '"' || name[name.Length - 1] != '"')
        {
            return name;
        }

        var bytes = new List<byte>();
        var inner = name.Substring(1, name.Length - 2);
        for (int i = 0; i < inner.Length; i++)
        {
            char c = inner[i];
            if (c == '\\' && i + 1 < inner.Length)
            {
                char n = inner[++i];
                if (n >= '0' && n <= '7' && i + 2 < inner.Length)
                {
                    bytes.Add(Convert.ToByte(inner.Substring(i, 3), 8));
                    i += 2;
                    continue;
                }

                bytes.AddRange(Encoding.UTF8.GetBytes(n switch { 't' => "\t", 'n' => "\n", '"' => "\"", '\\' => "\\", _ => n.ToString() }));
                continue;
            }

            bytes.AddRange(Encoding.UTF8.GetBytes(c.ToString()));
        }

        return Encoding.UTF8.GetString(bytes.ToArray());
    }

    private static List<string> DirectoryFiles(string root)
    {
        var result = new List<string>();
        var skip = new HashSet<string>(StringComparer.Ordinal) { "bin", "obj", ".git", ".vs" };
        void Walk(string dir, string prefix)
        {
            foreach (var file in System.IO.Directory.EnumerateFiles(dir))
            {
                result.Add(prefix + Path.GetFileName(file));
            }

            foreach (var sub in System.IO.Directory.EnumerateDirectories(dir))
            {
                var name = Path.GetFileName(sub);
                if (!skip.Contains(name))
                {
                    Walk(sub, prefix + name + "/");
                }
            }
        }

        Walk(root, string.Empty);
        result.Sort(StringComparer.Ordinal);
        return result;
    }

    private static string? GlobalJsonRoot(string start)
    {
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "global.json")))
            {
                return dir.FullName;
            }
        }

        return null;
    }

    private long SourceDateEpoch(Dictionary<string, string> env, string? gitRoot, string root, List<string> files)
    {
        if (env.TryGetValue("SOURCE_DATE_EPOCH", out var value) && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var epoch))
        {
            return epoch;
        }

        if (gitRoot is not null && long.TryParse(Git(gitRoot, "log", "-1", "--format=%ct"), NumberStyles.Integer, CultureInfo.InvariantCulture, out epoch))
        {
            return epoch;
        }

        var newest = files.Select(f => File.GetLastWriteTimeUtc(Path.Combine(root, f))).Max();
        return Math.Max(315532800L, (long)(newest - new DateTime(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds);
    }

    private static string SourceDigest(string root, List<string> files)
    {
        var sb = new StringBuilder();
        foreach (var rel in files)
        {
            sb.Append(Crypto.Sha256Hex.OfFile(Path.Combine(root, rel))).Append("  ").Append(rel).Append('\n');
        }

        return Crypto.Sha256Hex.Of(sb.ToString());
    }

    private static bool IsTmpfs(string path)
    {
        try
        {
            if (!System.IO.Directory.Exists(path) || !File.Exists("/proc/mounts"))
            {
                return false;
            }

            var full = Path.GetFullPath(path).TrimEnd('/') + "/";
            string? best = null;
            string? type = null;
            foreach (var line in InputFile.ReadAllLines("/proc/mounts", InputKind.Metadata))
            {
                var parts = line.Split(' ');
                if (parts.Length < 3)
                {
                    continue;
                }

                var mount = parts[1].TrimEnd('/') + "/";
                if (full.StartsWith(mount, StringComparison.Ordinal) && (best is null || mount.Length > best.Length))
                {
                    best = mount;
                    type = parts[2];
                }
            }

            return type == "tmpfs";
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static Dictionary<string, string> CurrentEnvironment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry kv in System.Environment.GetEnvironmentVariables())
        {
            env[(string)kv.Key] = (string?)kv.Value ?? string.Empty;
        }

        return env;
    }

    private static string Tail(string text, int lines) =>
        string.Join("\n", Enumerable.Reverse(Enumerable.Reverse(text.Replace("\r", string.Empty).Split('\n')).Take(lines)));

    internal static void TryDelete(string directory)
    {
        try
        {
            if (System.IO.Directory.Exists(directory))
            {
                foreach (var file in System.IO.Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories))
                {
                    File.SetAttributes(file, FileAttributes.Normal);
                }

                System.IO.Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

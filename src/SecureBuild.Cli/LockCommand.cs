using System.CommandLine;
using System.Text;
using SecureBuild.Core.Json;
using SecureBuild.Core.Locking;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Recording;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild lock [--update] [--pin-sdk] [--project P] [-p:Name=Value]`: builds the repository with
/// SecureBuildLockUpdate=true into a fresh lock in a temporary folder (verifying the NuGet cache and
/// signatures on the way), then writes it to securebuild.lock.json at the repository root when there
/// is none or with --update; otherwise compares it with the committed lock and lists every difference.
/// The committed lock is never changed without --update. Exit codes: 0 written or up to date,
/// 1 drift or a failed build, 2 usage.
/// </summary>
internal static class LockCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var update = new Option<bool>("--update") { Description = "Rewrite securebuild.lock.json from what the build uses now." };
        var pinSdk = new Option<bool>("--pin-sdk") { Description = "Pin global.json to the running .NET SDK with rollForward: disable first (creates global.json if needed)." };
        var project = new Option<string?>("--project") { Description = "The solution or project to build (default: the one in the current directory)." };
        var root = new Option<string?>("--root") { Description = "The repository root (default: the nearest directory holding .git, else global.json)." };
        var properties = new Option<string[]>("--property", "-p")
        {
            Description = "Extra MSBuild property for the build, Name=Value (repeatable; e.g. -p RuntimeIdentifier=linux-x64, -p \"TargetFrameworks=net8.0;net10.0\").",
            AllowMultipleArgumentsPerToken = false,
        };
        var command = new Command("lock", "Create, check or update securebuild.lock.json: every package, SDK, MSBuild SDK, tool, targeting pack, package source and downloaded file the build uses, with hashes.")
        {
            update, pinSdk, project, root, properties,
        };
        command.SetAction(parse => Run(stdout, stderr, parse.GetValue(update), parse.GetValue(pinSdk), parse.GetValue(project), parse.GetValue(root),
            parse.GetValue(properties) ?? Array.Empty<string>()));
        return command;
    }

    internal static int Run(TextWriter stdout, TextWriter stderr, bool update, bool pinSdk, string? project, string? rootOption, string[] properties)
    {
        const string me = "securebuild lock";
        var projectPath = project is null ? null : Path.GetFullPath(project);
        if (projectPath is not null && !File.Exists(projectPath) && !Directory.Exists(projectPath))
        {
            stderr.WriteLine($"{me}: --project {project} does not exist.");
            return CliApplication.Usage;
        }
        IReadOnlyList<string> propertySwitches;
        try
        {
            propertySwitches = Core.Reproducibility.PropertyArgument.ToSwitches(properties);
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"{me}: SB3471: {e.Message}");
            return CliApplication.Usage;
        }
        var workDir = projectPath is null ? Directory.GetCurrentDirectory() : Directory.Exists(projectPath) ? projectPath : Path.GetDirectoryName(projectPath)!;
        var root = Path.GetFullPath(rootOption ?? RepositoryRoot.Find(workDir));
        var lockPath = Path.Combine(root, RepositoryLock.DefaultFileName);
        WarnIfIgnoredByGit(root, stderr);

        RepositoryLock? existing = null;
        if (Directory.Exists(lockPath))
        {
            // Not "no lock yet": something is where the lock belongs, and --update must not fail half-way over it.
            stderr.WriteLine($"{me}: SB1700: {lockPath} is a directory, not a lock file. Move it away; the lock is the file {RepositoryLock.DefaultFileName} at the repository root.");
            return CliApplication.Failure;
        }
        if (Core.IO.InputFile.Exists(lockPath))
        {
            try
            {
                existing = LockFile.Load(lockPath, RepositoryLock.DefaultFileName);
            }
            catch (LockFormatException e)
            {
                if (!update)
                {
                    stderr.WriteLine($"{me}: {(e.Problem == LockFormatProblem.DigestMismatch ? "SB1401" : "SB1400")}: {e.Message}");
                    return CliApplication.Failure;
                }
                stdout.WriteLine($"{me}: the existing lock is unusable ({e.Message}); --update replaces it.");
            }
        }

        if (pinSdk)
        {
            var version = Capture("dotnet", new[] { "--version" }, workDir, VersionTimeout);
            if (version.ExitCode != 0 || string.IsNullOrWhiteSpace(version.Output))
            {
                stderr.WriteLine($"{me}: could not ask dotnet for its SDK version:\n{version.Output}");
                return CliApplication.Failure;
            }
            var globalJson = GlobalJsonFile.Find(workDir) ?? Path.Combine(root, "global.json");
            try
            {
                GlobalJsonFile.PinSdk(globalJson, version.Output.Trim());
            }
            catch (LockInputException e)
            {
                stderr.WriteLine($"{me}: {e.Message}");
                return CliApplication.Failure;
            }
            stdout.WriteLine($"pinned {Path.GetRelativePath(root, globalJson).Replace('\\', '/')} to SDK {version.Output.Trim()} (rollForward: disable)");
        }

        var temp = Path.Combine(Path.GetTempPath(), "securebuild-lock-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(temp);
        try
        {
            var freshPath = Path.Combine(temp, RepositoryLock.DefaultFileName);
            foreach (var entry in Entries(projectPath, workDir))
            {
                var arguments = new List<string> { "build" };
                if (entry is not null)
                {
                    arguments.Add(entry);
                }
                arguments.AddRange(new[] { "-nologo", "-v", "q", "-p:SecureBuildLockUpdate=true", $"-p:SecureBuildLockFile={freshPath}", $"-p:SecureBuildRootDir={root}" });
                arguments.AddRange(propertySwitches);
                var build = Capture("dotnet", arguments, workDir, BuildTimeout);
                if (build.ExitCode != 0)
                {
                    stderr.WriteLine($"{me}: the build of {(entry is null ? "the current directory" : Path.GetRelativePath(root, entry).Replace('\\', '/'))} failed, so nothing was locked (the lock was not changed):");
                    stderr.WriteLine(build.Output.TrimEnd());
                    return CliApplication.Failure;
                }
            }
            if (!File.Exists(freshPath))
            {
                stderr.WriteLine($"{me}: the build recorded nothing. Do the projects use SecureBuild.Sdk (and is SecureBuildEnabled true)?");
                return CliApplication.Failure;
            }
            var fresh = LockFile.Load(freshPath, RepositoryLock.DefaultFileName);
            var bytes = LockFile.Serialize(fresh);
            var summary = $"{fresh.Projects.Count} project(s), {fresh.Packages.Count} package(s), {fresh.MSBuildSdks.Count} MSBuild SDK(s), {fresh.Packs.Count} targeting pack(s), {fresh.Tools.Count} tool(s), {fresh.Signers.Count} signer(s)";
            if (existing is null || update)
            {
                if (File.Exists(lockPath) && Core.IO.InputFile.ReadAllBytes(lockPath, Core.IO.InputKind.Lock).SequenceEqual(bytes))
                {
                    stdout.WriteLine($"{RepositoryLock.DefaultFileName} is up to date ({summary}).");
                    return CliApplication.Success;
                }
                var changes = existing is null ? new List<string>() : Differences(existing, fresh);
                Core.IO.AtomicFile.WriteAllBytes(lockPath, bytes);
                stdout.WriteLine($"wrote {RepositoryLock.DefaultFileName} ({summary}).");
                foreach (var change in changes)
                {
                    stdout.WriteLine("  " + change);
                }
                return CliApplication.Success;
            }
            var differences = Differences(existing, fresh);
            if (differences.Count == 0)
            {
                stdout.WriteLine($"{RepositoryLock.DefaultFileName} is up to date ({summary}).");
                return CliApplication.Success;
            }
            stderr.WriteLine($"{me}: {RepositoryLock.DefaultFileName} does not match what the build uses ({differences.Count} difference(s)); it was not changed:");
            foreach (var d in differences)
            {
                stderr.WriteLine("  " + d);
            }
            stderr.WriteLine("If these changes are intended, run `securebuild lock --update` and commit the lock.");
            return CliApplication.Failure;
        }
        finally
        {
            try
            {
                Directory.Delete(temp, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// A lock that git ignores (e.g. a `*.lock.json` pattern) is never committed and `git clean -xdf` deletes it,
    /// after which a strict build fails: say so (SB3470), with the pattern that hides it. Silent when git is missing,
    /// the root is no work tree or the lock is already tracked (git does not ignore tracked files).
    /// </summary>
    private static void WarnIfIgnoredByGit(string root, TextWriter stderr)
    {
        var outcome = new ProcessRunner().Run(
            new ProcessSpec("git", new[] { "check-ignore", "--verbose", "--", RepositoryLock.DefaultFileName }, root) { Timeout = TimeSpan.FromSeconds(20), CaptureStandardOutput = true });
        if (!outcome.Exited)
        {
            return;
        }
        // With --verbose git also reports (exit 0) a path that a negation pattern ("!securebuild.lock.json") matched last.
        var match = System.Text.RegularExpressions.Regex.Match(outcome.StandardOutput.Split('\t')[0].Trim(), "^(?<file>.*?):(?<line>[0-9]+):(?<pattern>.*)$");
        if (outcome.ExitCode != 0 || !match.Success || match.Groups["pattern"].Value.StartsWith("!", StringComparison.Ordinal))
        {
            return;
        }
        var source = match.Value;
        stderr.WriteLine($"securebuild lock: warning SB3470: git ignores {RepositoryLock.DefaultFileName} ({source}): it will not be committed, and `git clean -xdf` deletes it, " +
            $"after which builds have no lock to check and a strict one fails (SB1403). Add the line `!{RepositoryLock.DefaultFileName}` to .gitignore after that pattern, then commit the lock.");
    }

    /// <summary>
    /// What to build: the given solution or project; else the one in the current directory (null: let
    /// dotnet pick it); else every project file below it, one after the other.
    /// </summary>
    private static IEnumerable<string?> Entries(string? projectPath, string workDir)
    {
        if (projectPath is not null && File.Exists(projectPath))
        {
            return new[] { projectPath };
        }
        var dir = projectPath ?? workDir;
        bool IsEntry(string f) => f.EndsWith(".sln", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".slnx", StringComparison.OrdinalIgnoreCase) ||
            f.EndsWith("proj", StringComparison.OrdinalIgnoreCase);
        var here = Directory.EnumerateFiles(dir).Where(IsEntry).ToList();
        if (here.Count > 0)
        {
            return projectPath is null ? new string?[] { null } : new string?[] { here.Count == 1 ? here[0] : dir };
        }
        var projects = new List<string>();
        var pending = new Stack<string>();
        pending.Push(dir);
        while (pending.Count > 0)
        {
            var current = pending.Pop();
            foreach (var sub in Directory.EnumerateDirectories(current))
            {
                var name = Path.GetFileName(sub);
                if (name is not ("bin" or "obj" or ".git" or "node_modules") && !name.StartsWith(".", StringComparison.Ordinal))
                {
                    pending.Push(sub);
                }
            }
            projects.AddRange(Directory.EnumerateFiles(current, "*.*proj").Where(f => f.EndsWith("proj", StringComparison.OrdinalIgnoreCase)));
        }
        projects.Sort(StringComparer.Ordinal);
        return projects.Count == 0 ? new string?[] { null } : projects;
    }

    /// <summary>Every member that differs between two locks, as "path: old -> new" lines.</summary>
    internal static List<string> Differences(RepositoryLock before, RepositoryLock after)
    {
        var a = Flatten(LockFile.ToJson(before));
        var b = Flatten(LockFile.ToJson(after));
        var result = new List<string>();
        foreach (var key in a.Keys.Union(b.Keys).OrderBy(k => k, StringComparer.Ordinal))
        {
            a.TryGetValue(key, out var x);
            b.TryGetValue(key, out var y);
            if (x == y)
            {
                continue;
            }
            result.Add(x is null ? $"added   {key} = {y}" : y is null ? $"removed {key} (was {x})" : $"changed {key}: {x} -> {y}");
        }
        return result;
    }

    private static SortedDictionary<string, string> Flatten(JsonItem node)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        void Walk(JsonItem n, string path)
        {
            switch (n)
            {
                case JsonMap o when o.Count > 0:
                    foreach (var kv in o)
                    {
                        Walk(kv.Value, path.Length == 0 ? kv.Key : path + " > " + kv.Key);
                    }
                    break;
                case JsonList arr when arr.Count > 0:
                    foreach (var item in arr)
                    {
                        Walk(item, path + " > " + JsonText.Write(item, indented: false));
                    }
                    break;
                default:
                    result[path] = JsonText.Write(n, indented: false);
                    break;
            }
        }
        Walk(node, "");
        return result;
    }

    /// <summary>How long `dotnet --version` and each `dotnet build` of the lock may take.</summary>
    private static readonly TimeSpan VersionTimeout = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(60);

    /// <summary>Runs dotnet through the product's process runner; a timeout or a missing dotnet becomes the exit code -1 and an SB38xx line.</summary>
    private static (int ExitCode, string Output) Capture(string file, IEnumerable<string> arguments, string workingDirectory, TimeSpan timeout)
    {
        var outcome = new ProcessRunner().Run(new ProcessSpec(file, arguments, workingDirectory) { Timeout = timeout });
        if (outcome.StartError is not null)
        {
            return (-1, $"SB3801: cannot run '{outcome.Command}': {outcome.StartError}. Install the .NET SDK and put dotnet on PATH.");
        }
        if (outcome.TimedOut)
        {
            return (-1, outcome.Output + "SB3800: " + outcome.TimeoutReason(
                $"Run '{outcome.Command}' by hand in {workingDirectory} to see where it waits (a prompt, an unreachable package source, a hung build server); the limit is {(int)timeout.TotalMinutes} min."));
        }
        return (outcome.ExitCode, outcome.Output);
    }
}

using SecureBuild.Core.Json;

namespace SecureBuild.Core.Provenance;

/// <summary>
/// Checks the pipeline state a provenance records (issue #14, pipeline changes only through source control) against
/// the repository: every build and pipeline definition file it lists (<see cref="BuildDefinitions"/>) has, at the
/// built commit, the recorded SHA-256; every definition file at that commit is listed; and the build's work tree was
/// clean (the source is not dirty, no definition file uncommitted). The files of the commit are checked out by git
/// into a scratch folder through a scratch index (the repository's own index and work tree are not touched), so they
/// are the bytes a clean checkout of the commit gives, line-ending conversion included.
/// </summary>
public static class DefinitionVerification
{
    /// <summary>SB5413: a recorded definition file differs from the file at the built commit, is not there, or one there is not recorded.</summary>
    public const string DifferentCode = "SB5413";

    /// <summary>SB5414: the build's work tree was not clean (source dirty, or a definition file uncommitted).</summary>
    public const string DirtyCode = "SB5414";

    /// <summary>SB5415: the check cannot be made: no commit in the provenance, the repository is not a git work tree, or it lacks the commit.</summary>
    public const string CannotCheckCode = "SB5415";

    /// <summary>The folders below the root that hold definition files (listed one level deep, as the build looks).</summary>
    private static readonly string[] DefinitionFolders = { ".github/workflows/", ".tekton/", "securebuild/" };

    /// <summary>
    /// One failure per difference, each starting with its code. <paramref name="repository"/> is the folder the build
    /// used as its root (SecureBuildRootDir: the top of the work tree, or the folder below it that holds global.json).
    /// </summary>
    public static IReadOnlyList<string> Check(JsonMap? predicate, string repository, TimeSpan? timeout = null)
    {
        var failures = new List<string>();
        var (commit, dirty) = Source(predicate);
        if (commit is null)
        {
            failures.Add($"{CannotCheckCode}: the provenance names no git commit (resolvedDependencies 'source'), so its build definitions cannot be compared with the repository. Build in a git work tree.");
            return failures;
        }

        if (!((commit.Length == 40 || commit.Length == 64) && Crypto.Hex.IsLowerHex(commit)))
        {
            failures.Add($"{CannotCheckCode}: the provenance's source commit '{commit}' is not a git object id (40 or 64 lowercase hex digits).");
            return failures;
        }

        if (dirty == true)
        {
            failures.Add($"{DirtyCode}: the provenance says the work tree was dirty (tracked files differed from commit {commit}): it is not a build of the commit alone. Build from a clean checkout.");
        }

        var recorded = Recorded(predicate);
        foreach (var file in recorded.Where(f => f.Value.Committed == false))
        {
            failures.Add($"{DirtyCode}: {file.Key}: the provenance says the build used it with changes git had not committed. Commit the change through review and build again.");
        }

        var scratch = Path.Combine(Path.GetTempPath(), "securebuild-definitions-" + Guid.NewGuid().ToString("N"));
        try
        {
            var atCommit = AtCommit(repository, commit, scratch, timeout ?? TimeSpan.FromSeconds(60), out var error);
            if (atCommit is null)
            {
                failures.Add($"{CannotCheckCode}: {error}");
                return failures;
            }

            foreach (var file in recorded)
            {
                if (!atCommit.TryGetValue(file.Key, out var actual))
                {
                    failures.Add($"{DifferentCode}: {file.Key}: the provenance lists it (sha256 {file.Value.Sha256}), but commit {commit} has no such file. The build used a definition that is not in source control.");
                }
                else if (!string.Equals(actual, file.Value.Sha256, StringComparison.OrdinalIgnoreCase))
                {
                    failures.Add($"{DifferentCode}: {file.Key}: the provenance records sha256 {file.Value.Sha256}, the file at commit {commit} has sha256 {actual}. The build used another version of it than the commit holds.");
                }
            }

            foreach (var file in atCommit.Keys.Where(k => !recorded.ContainsKey(k)))
            {
                failures.Add($"{DifferentCode}: {file}: commit {commit} has this definition file, but the provenance does not list it (built from another folder, or a file hidden from the build). Give --repository the folder the build used as its root.");
            }
        }
        finally
        {
            Reproducibility.Rebuilder.TryDelete(scratch);
        }

        return failures;
    }

    private static (string? Commit, bool? Dirty) Source(JsonMap? predicate)
    {
        foreach (var dependency in Dependencies(predicate))
        {
            if (Text(dependency, "name") == "source" && dependency.TryGetValue("digest", out var d) && d is JsonMap digest && Text(digest, "gitCommit") is { } commit)
            {
                var dirty = dependency.TryGetValue("annotations", out var a) && a is JsonMap annotations && annotations.TryGetValue("dirty", out var v) && v is JsonBool b ? b.Value : (bool?)null;
                return (commit, dirty);
            }
        }

        return (null, null);
    }

    /// <summary>The definition files the provenance lists: path to (sha256, committed).</summary>
    private static Dictionary<string, (string Sha256, bool? Committed)> Recorded(JsonMap? predicate)
    {
        var files = new Dictionary<string, (string, bool?)>(StringComparer.Ordinal);
        foreach (var dependency in Dependencies(predicate))
        {
            if (!dependency.TryGetValue("annotations", out var a) || a is not JsonMap annotations ||
                Text(annotations, "kind") is not (BuildDefinitions.BuildKind or BuildDefinitions.PipelineKind) ||
                Text(dependency, "name") is not { } name || !dependency.TryGetValue("digest", out var d) || d is not JsonMap digest)
            {
                continue;
            }

            var committed = annotations.TryGetValue("committed", out var c) && c is JsonBool b ? b.Value : (bool?)null;
            files[name] = (Text(digest, "sha256") ?? "(none)", committed);
        }

        return files;
    }

    /// <summary>The definition files at <paramref name="commit"/> of the work tree at <paramref name="repository"/>: path to sha256; null with the reason when git cannot say.</summary>
    private static Dictionary<string, string>? AtCommit(string repository, string commit, string scratch, TimeSpan timeout, out string error)
    {
        error = "";
        if (!Directory.Exists(repository))
        {
            error = $"--repository {repository} is not a folder. Give the clone the build was made from (the folder with its global.json).";
            return null;
        }

        if (Git(repository, timeout, null, out _, "cat-file", "-e", commit + "^{commit}") is null)
        {
            error = $"{repository} is not a git work tree, or it does not have commit {commit}. Give a clone that has it (git fetch the commit).";
            return null;
        }

        var prefix = (Git(repository, timeout, null, out _, "rev-parse", "--show-prefix") ?? "").Trim();
        var candidates = new List<string>();
        foreach (var folder in new[] { "" }.Concat(DefinitionFolders))
        {
            var arguments = folder.Length == 0 ? new[] { "ls-tree", "-z", "--name-only", commit } : new[] { "ls-tree", "-z", "--name-only", commit, "--", folder };
            var listing = Git(repository, timeout, null, out var failure, arguments);
            if (listing is null)
            {
                error = $"git ls-tree {commit} in {repository} failed: {failure}";
                return null;
            }

            candidates.AddRange(listing.Split('\0').Where(p => p.Length > 0 && BuildDefinitions.IsDefinitionPath(p)));
        }

        Directory.CreateDirectory(scratch);
        var index = new Dictionary<string, string> { ["GIT_INDEX_FILE"] = Path.Combine(scratch, "index") };
        var tree = Path.Combine(scratch, "tree") + "/";
        if (Git(repository, timeout, index, out var readFailure, "read-tree", commit) is null ||
            (candidates.Count > 0 && Git(repository, timeout, index, out readFailure, new[] { "checkout-index", "--prefix=" + tree, "--" }.Concat(candidates.Distinct()).ToArray()) is null))
        {
            error = $"git could not check out the definition files of commit {commit} from {repository}: {readFailure}";
            return null;
        }

        var root = Path.Combine(tree, prefix);
        return BuildDefinitions.Describe(root, inGitWorkTree: false).ToDictionary(f => f.Path, f => f.Sha256, StringComparer.Ordinal);
    }

    private static string? Git(string directory, TimeSpan timeout, IDictionary<string, string>? environment, out string failure, params string[] arguments)
    {
        var outcome = GitSource.Run(directory, timeout, environment, arguments);
        failure = outcome.StartError ?? (outcome.TimedOut ? $"git {arguments[0]} did not finish within {timeout.TotalSeconds:0} s" : outcome.Output.Trim());
        return outcome.Exited && outcome.ExitCode == 0 ? outcome.StandardOutput : null;
    }

    private static IEnumerable<JsonMap> Dependencies(JsonMap? predicate) =>
        predicate is not null && predicate.TryGetValue("buildDefinition", out var b) && b is JsonMap definition &&
        definition.TryGetValue("resolvedDependencies", out var r) && r is JsonList list
            ? list.OfType<JsonMap>()
            : Enumerable.Empty<JsonMap>();

    private static string? Text(JsonMap map, string name) => map.TryGetValue(name, out var v) && v is JsonString s ? s.Value : null;
}

using SecureBuild.Core.Processes;

namespace SecureBuild.Core.Provenance;

/// <summary>The source a build came from: repository URL (credentials removed), commit, and whether the work tree had changes.</summary>
public sealed class GitSource
{
    public GitSource(string? repositoryUri, string commit, bool dirty)
    {
        RepositoryUri = repositoryUri;
        Commit = commit;
        Dirty = dirty;
    }

    /// <summary>"git+https://host/owner/repo" (no user or password), or null when the repository has no origin.</summary>
    public string? RepositoryUri { get; }

    public string Commit { get; }

    /// <summary>True when tracked files differ from the commit (the build is not of the commit alone).</summary>
    public bool Dirty { get; }

    /// <summary>
    /// The branch checked out ("main"), or null on a detached HEAD. Provenance records it; the package does not (a
    /// deterministic build leaves the nuspec's branch= out, so a branch and a detached HEAD pack the same bytes).
    /// </summary>
    public string? Branch { get; private set; }

    /// <summary>Asks git about the repository at <paramref name="directory"/>; null when it is not a git work tree or git is missing.</summary>
    public static GitSource? Describe(string directory, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var commit = Git(directory, limit, "rev-parse", "--verify", "HEAD")?.Trim();
        if (string.IsNullOrEmpty(commit) || commit!.Length < 40)
        {
            return null;
        }
        var status = Git(directory, limit, "status", "--porcelain", "--untracked-files=no");
        var remote = Git(directory, limit, "config", "--get", "remote.origin.url")?.Trim();
        var branch = Git(directory, limit, "symbolic-ref", "--quiet", "--short", "HEAD")?.Trim();
        return new GitSource(NormalizeRemote(remote), commit, status is null || status.Trim().Length > 0)
        {
            Branch = string.IsNullOrEmpty(branch) ? null : branch,
        };
    }

    /// <summary>
    /// The committer time of HEAD in seconds since 1970 (<c>git log -1 --format=%ct</c>), or null when
    /// <paramref name="directory"/> is not in a work tree with a commit, git is missing, or git does not answer in time.
    /// </summary>
    public static long? CommitTime(string directory, TimeSpan timeout)
    {
        var outcome = Run(directory, timeout, null, "log", "-1", "--format=%ct");
        return outcome.Exited && outcome.ExitCode == 0
            && long.TryParse(outcome.StandardOutput.Trim(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out long seconds)
            ? seconds : null;
    }

    /// <summary>
    /// Which of <paramref name="paths"/> (relative to <paramref name="directory"/>, a work tree) git reports as changed
    /// against HEAD or untracked (not ignored): path and whether it is untracked. Null when git cannot answer (not a work
    /// tree, git missing).
    /// </summary>
    public static IReadOnlyList<(string Path, bool Untracked)>? Uncommitted(string directory, IEnumerable<string> paths, TimeSpan? timeout = null)
    {
        var list = paths.ToList();
        if (list.Count == 0)
        {
            return Array.Empty<(string, bool)>();
        }

        // Porcelain paths are relative to the top of the work tree, whatever the directory: strip its prefix. -z: no quoting.
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var prefix = Git(directory, limit, "rev-parse", "--show-prefix")?.Trim();
        var status = prefix is null ? null : Git(directory, limit, new[] { "status", "--porcelain", "-z", "--untracked-files=all", "--" }.Concat(list).ToArray());
        if (status is null)
        {
            return null;
        }

        var found = new List<(string, bool)>();
        var entries = status.Split('\0');
        for (int i = 0; i < entries.Length; i++)
        {
            var entry = entries[i];
            if (entry.Length < 4)
            {
                continue;
            }

            var path = entry.Substring(3);
            found.Add((path.StartsWith(prefix!, StringComparison.Ordinal) ? path.Substring(prefix!.Length) : path, entry.StartsWith("??", StringComparison.Ordinal)));
            if (entry[0] is 'R' or 'C')
            {
                i++; // a rename or copy is followed by its source path
            }
        }

        return found;
    }

    /// <summary>A remote URL as a source URI without credentials: "git+https://host/path".</summary>
    public static string? NormalizeRemote(string? remote)
    {
        if (string.IsNullOrWhiteSpace(remote))
        {
            return null;
        }
        remote = remote!.Trim();
        if (Uri.TryCreate(remote, UriKind.Absolute, out var uri) && (uri.Scheme == "https" || uri.Scheme == "http" || uri.Scheme == "ssh" || uri.Scheme == "git"))
        {
            var builder = new UriBuilder(uri) { UserName = "", Password = "" };
            if (uri.Scheme == "ssh")
            {
                builder.Scheme = "https";
                builder.Port = -1;
            }
            return UrlRedaction.Redact("git+" + builder.Uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped));
        }
        // scp-like syntax: git@github.com:owner/repo.git
        var at = remote.IndexOf('@');
        var colon = remote.IndexOf(':');
        if (colon > 0 && !remote.Contains("://") && colon > at)
        {
            var host = remote.Substring(at + 1, colon - at - 1);
            return UrlRedaction.Redact($"git+https://{host}/{remote.Substring(colon + 1).TrimStart('/')}");
        }
        return null; // a local path or something unknown: say nothing rather than leak a machine path
    }

    /// <summary>Runs git in <paramref name="directory"/> without prompts or optional locks, standard output captured (up to 4 MiB).</summary>
    internal static ProcessOutcome Run(string directory, TimeSpan timeout, IDictionary<string, string>? environment, params string[] arguments)
    {
        var added = new Dictionary<string, string> { ["GIT_TERMINAL_PROMPT"] = "0", ["GIT_OPTIONAL_LOCKS"] = "0" };
        foreach (var pair in environment ?? new Dictionary<string, string>())
        {
            added[pair.Key] = pair.Value;
        }

        return new ProcessRunner().Run(new ProcessSpec("git", arguments, directory)
        {
            Timeout = timeout,
            CaptureStandardOutput = true,
            OutputLimit = 4 * 1024 * 1024,
            AddedEnvironment = added,
        });
    }

    private static string? Git(string directory, TimeSpan timeout, params string[] arguments)
    {
        var outcome = Run(directory, timeout, null, arguments);
        if (outcome.TimedOut)
        {
            // Without an answer the provenance would silently lose its source or call a clean tree dirty.
            throw new ProcessTimeoutException(outcome.TimeoutReason(
                $"Run 'git {string.Join(" ", arguments)}' in {directory} to see why it waits (a stale .git/index.lock, a slow network file system, a hook or fsmonitor)."));
        }
        return outcome.Exited && outcome.ExitCode == 0 ? outcome.StandardOutput : null; // null: not a work tree, or git is not installed
    }
}

namespace SecureBuild.Core.Reproducibility;

/// <summary>
/// What `securebuild rebuild` varies between the two builds, named as reprotest names them. Parsed from a list
/// like <c>all</c>, <c>all,-home</c> or <c>build_path,timezone</c>.
/// </summary>
public static class Variations
{
    public const string BuildPath = "build_path";
    public const string Time = "time";
    public const string TimeZone = "timezone";
    public const string Locales = "locales";
    public const string Umask = "umask";
    public const string Environment = "environment";
    public const string Home = "home";
    public const string User = "user_group";
    public const string NumCpus = "num_cpus";
    public const string FileOrdering = "fileordering";

    /// <summary>Not a reprotest variation: a branch checked out vs a detached HEAD of the same commit (a laptop vs CI).</summary>
    public const string GitBranch = "git_branch";

    /// <summary>Every variation, in the order they are reported.</summary>
    public static IReadOnlyList<string> All { get; } = new[] { BuildPath, Time, TimeZone, Locales, Umask, Environment, Home, User, NumCpus, FileOrdering, GitBranch };

    /// <summary>What each variation does here, for help texts and documentation.</summary>
    public static IReadOnlyDictionary<string, string> Descriptions { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [BuildPath] = "the two copies live in directories of different names and depths (off: both builds run one after the other in the same directory)",
        [Time] = "the second build starts in a later wall-clock second than the first",
        [TimeZone] = "TZ=Etc/GMT+12 vs TZ=Etc/GMT-14 (26 hours apart)",
        [Locales] = "LANG/LC_ALL=C.UTF-8 vs fr_CH.UTF-8 (LANGUAGE too)",
        [Umask] = "umask 0022 vs 0002",
        [Environment] = "the second build gets extra, unused environment variables",
        [Home] = "a fresh HOME (and DOTNET_CLI_HOME) per build; NUGET_PACKAGES and the user's NuGet.Config stay those of the caller so restore still works",
        [User] = "USER/LOGNAME/USERNAME differ (the uid does not: switching users needs a second account)",
        [NumCpus] = "DOTNET_PROCESSOR_COUNT=1 vs the machine's count (so MSBuild's default -m differs)",
        [FileOrdering] = "the second copy is created in reverse order on tmpfs (/dev/shm), where directory listings follow creation order",
        [GitBranch] = "in a git work tree, the first copy has the source's branch checked out (or securebuild-rebuild) and the second a detached HEAD of the same commit, as CI checks out",
    };

    /// <summary>Parses a variation list. Throws <see cref="ArgumentException"/> naming an unknown variation.</summary>
    public static ISet<string> Parse(string? spec)
    {
        var result = new HashSet<string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(spec))
        {
            result.UnionWith(All);
            return result;
        }

        foreach (var raw in spec!.Split(new[] { ',', ' ', ';' }, StringSplitOptions.RemoveEmptyEntries))
        {
            var item = raw.Trim();
            bool remove = item.StartsWith("-", StringComparison.Ordinal);
            item = item.TrimStart('+', '-');
            var names = item == "all" ? All : item == "none" ? Array.Empty<string>() : new[] { Normalize(item) };
            if (remove)
            {
                result.ExceptWith(names);
            }
            else
            {
                result.UnionWith(names);
            }
        }

        return result;
    }

    private static string Normalize(string name)
    {
        var n = name.Replace('-', '_').ToLowerInvariant();
        n = n switch
        {
            "user" => User,
            "locale" => Locales,
            "tz" => TimeZone,
            "cpus" or "cpu" => NumCpus,
            "path" => BuildPath,
            "env" => Environment,
            "branch" or "git" => GitBranch,
            _ => n,
        };
        if (!All.Contains(n))
        {
            throw new ArgumentException($"unknown variation \"{name}\"; known: {string.Join(", ", All)}, all, none (prefix with - to remove)");
        }

        return n;
    }
}

using SecureBuild.Core.Json;
using SecureBuild.Core.Processes;

namespace SecureBuild.Core.Provenance;

/// <summary>
/// Whether a build ran on a fresh (single-use) worker (issue #14), as provenance records it in
/// internalParameters.worker.freshness, with worker.fresh true only when every part is known to be fresh:
/// <list type="bullet">
/// <item>workspace: the project's intermediate folder (obj/) held files from before this build started (an earlier
/// build's state the compiler and MSBuild reuse);</item>
/// <item>nugetCache: a package this project restored was extracted into the global packages folder before this build
/// started (a cache an earlier build filled, and could have poisoned);</item>
/// <item>leftoverProcesses: MSBuild nodes (including the MSBuild server) and compiler servers (VBCSCompiler) of the
/// same user started before this build, which it may have handed work to; thisNodeReused when the build itself ran
/// in such a node (a worker node whose parent is no longer the build that started it).</item>
/// </list>
/// "This build started" is the start of its entry process: the nearest ancestor-or-self that is not an MSBuild node.
/// File times are compared with a margin of <see cref="Margin"/> (the boot time behind process start times is known
/// to /proc/uptime's precision); process start times are compared exactly, in clock ticks.
/// </summary>
public static class WorkerFreshness
{
    public const string Fresh = "fresh";

    public const string Reused = "reused";

    public const string Unknown = "unknown";

    /// <summary>A file must be this much older than the build to count as left from an earlier one.</summary>
    public static readonly TimeSpan Margin = TimeSpan.FromSeconds(2);

    /// <summary>At most this many files of the workspace are looked at (the first one older than the build decides).</summary>
    public const int MaxWorkspaceFiles = 5000;

    /// <summary>
    /// The freshness of the worker that runs the build <paramref name="processes"/> was read in (null where there is no
    /// /proc: everything "unknown"), for the project whose intermediate folder is <paramref name="workspace"/> and
    /// whose restored packages are in <paramref name="packageDirectories"/>.
    /// </summary>
    public static JsonMap Describe(ProcessTable? processes, string? workspace, IEnumerable<string> packageDirectories)
    {
        var freshness = new JsonMap();
        if (processes is null || !processes.Processes.TryGetValue(processes.Self, out var self))
        {
            freshness["workspace"] = Unknown;
            freshness["nugetCache"] = Unknown;
            freshness["leftoverProcesses"] = Unknown;
            return freshness;
        }

        var entry = Entry(processes, self);
        var started = processes.StartTime(entry ?? self) - Margin;
        freshness["workspace"] = workspace is null ? Unknown : HasFileOlderThan(workspace, started) ? Reused : Fresh;
        freshness["nugetCache"] = packageDirectories.Any(d => WrittenBefore(Path.Combine(d, ".nupkg.metadata"), started)) ? Reused : Fresh;
        freshness["leftoverProcesses"] = Leftovers(processes, self, entry);
        if (entry is null)
        {
            freshness["thisNodeReused"] = true;
        }

        return freshness;
    }

    /// <summary>True when <paramref name="freshness"/> (as <see cref="Describe"/> wrote it) says every part is fresh.</summary>
    public static bool IsFresh(JsonMap freshness) =>
        freshness.TryGetValue("workspace", out var w) && w is JsonString { Value: Fresh } &&
        freshness.TryGetValue("nugetCache", out var n) && n is JsonString { Value: Fresh } &&
        freshness.TryGetValue("leftoverProcesses", out var l) && l is JsonMap { Count: 0 } &&
        !freshness.ContainsKey("thisNodeReused");

    /// <summary>The reasons a provenance predicate's worker was not fresh ("workspace", "nugetCache", "msbuild-node", ...); empty when it was; null when it does not say.</summary>
    public static IReadOnlyList<string>? ReusedParts(JsonMap? predicate)
    {
        if (WorkerIdentity.Worker(predicate) is not { } worker || !worker.TryGetValue("freshness", out var f) || f is not JsonMap freshness)
        {
            return null;
        }

        var parts = new List<string>();
        foreach (var name in new[] { "workspace", "nugetCache" })
        {
            if (!(freshness.TryGetValue(name, out var value) && value is JsonString { Value: Fresh }))
            {
                parts.Add(name + (value is JsonString s ? " " + s.Value : " unknown"));
            }
        }

        if (!freshness.TryGetValue("leftoverProcesses", out var leftovers) || leftovers is not JsonMap kinds)
        {
            parts.Add("leftoverProcesses unknown");
        }
        else
        {
            parts.AddRange(kinds.Select(k => "leftover " + k.Key));
        }

        if (freshness.ContainsKey("thisNodeReused"))
        {
            parts.Add("build ran in a reused MSBuild node");
        }

        return parts;
    }

    /// <summary>"msbuild-node", "compiler-server" or null.</summary>
    public static string? KindOf(ProcessEntry process)
    {
        foreach (var argument in process.Arguments)
        {
            var trimmed = argument.TrimStart('-', '/');
            if (trimmed.StartsWith("nodemode:", StringComparison.OrdinalIgnoreCase))
            {
                return "msbuild-node";
            }

            var name = Path.GetFileName(argument);
            if (name.Equals("VBCSCompiler.dll", StringComparison.OrdinalIgnoreCase) || name.Equals("VBCSCompiler", StringComparison.OrdinalIgnoreCase) ||
                name.Equals("VBCSCompiler.exe", StringComparison.OrdinalIgnoreCase))
            {
                return "compiler-server";
            }
        }

        return null;
    }

    /// <summary>The build's entry process: self when it is not an MSBuild node, else the node's nearest non-node ancestor if that is a dotnet/MSBuild process; null when the node outlived the build that started it.</summary>
    private static ProcessEntry? Entry(ProcessTable processes, ProcessEntry self)
    {
        foreach (var process in processes.AncestorsAndSelf(self.Pid))
        {
            if (KindOf(process) == "msbuild-node")
            {
                continue;
            }

            return process.Pid == self.Pid || process.Arguments.Any(IsDotnetOrMSBuild) ? process : null;
        }

        return null;
    }

    private static bool IsDotnetOrMSBuild(string argument)
    {
        var name = Path.GetFileName(argument);
        return name.Equals("dotnet", StringComparison.OrdinalIgnoreCase) || name.Equals("dotnet.exe", StringComparison.OrdinalIgnoreCase) ||
               name.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase);
    }

    private static JsonMap Leftovers(ProcessTable processes, ProcessEntry self, ProcessEntry? entry)
    {
        var ours = new HashSet<int>(processes.AncestorsAndSelf(self.Pid).Select(p => p.Pid));
        var before = (entry ?? self).StartTicks;
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var process in processes.Processes.Values)
        {
            if (ours.Contains(process.Pid) || process.StartTicks >= before || (self.Uid is not null && process.Uid is not null && process.Uid != self.Uid))
            {
                continue;
            }

            if (KindOf(process) is { } kind)
            {
                counts[kind] = counts.TryGetValue(kind, out var n) ? n + 1 : 1;
            }
        }

        var json = new JsonMap();
        foreach (var pair in counts)
        {
            json[pair.Key] = pair.Value;
        }

        return json;
    }

    private static bool HasFileOlderThan(string folder, DateTimeOffset started)
    {
        try
        {
            return Directory.Exists(folder) &&
                   Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Take(MaxWorkspaceFiles).Any(f => WrittenBefore(f, started));
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static bool WrittenBefore(string file, DateTimeOffset started)
    {
        try
        {
            var info = new FileInfo(file);
            return info.Exists && info.LastWriteTimeUtc < started.UtcDateTime;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return false;
        }
    }
}

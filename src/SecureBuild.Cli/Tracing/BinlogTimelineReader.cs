using System.Collections;
using Microsoft.Build.Framework;
using Microsoft.Build.Logging.StructuredLogger;
using SecureBuild.Core.Tracing;

namespace SecureBuild.Cli.Tracing;

/// <summary>
/// Reads a build's binary log (MSBuild.StructuredLogger's record reader: the event args as MSBuild raised them) into a
/// <see cref="BuildTimeline"/>: every task with its node, project, target (and the file that declared the target),
/// start and end, the command lines it logged, and its input files. MSBuild knowledge lives here, not in Core.
/// </summary>
public static class BinlogTimelineReader
{
    /// <summary>SB4213: the binary log cannot be read; events stay unattributed.</summary>
    public const string UnreadableCode = "SB4213";

    private readonly record struct TaskKey(int Node, int ProjectContext, int Target, int Task);

    private readonly record struct TargetKey(int Node, int ProjectContext, int Target);

    private sealed class OpenTask
    {
        public required TaskStartedEventArgs Started { get; init; }

        public List<string> CommandLines { get; } = new();

        public List<string> Inputs { get; } = new();
    }

    /// <summary>Reads <paramref name="binlogPath"/>; throws <see cref="BinlogException"/> when it is not a readable binary log.</summary>
    public static BuildTimeline Read(string binlogPath, IEnumerable<string>? extraPackageFolders = null)
    {
        var targets = new Dictionary<TargetKey, (string Name, string? File)>();
        var open = new Dictionary<TaskKey, OpenTask>();
        var tasks = new List<TaskExecution>();
        var packageFolders = new List<string>(extraPackageFolders ?? Array.Empty<string>());
        try
        {
            var reader = new BinLogReader();
            foreach (var record in reader.ReadRecords(binlogPath))
            {
                switch (record.Args)
                {
                    case TargetStartedEventArgs target when target.BuildEventContext is { } c:
                        targets[new TargetKey(c.NodeId, c.ProjectContextId, c.TargetId)] = (target.TargetName, target.TargetFile);
                        break;
                    case TaskStartedEventArgs task when task.BuildEventContext is { } c:
                        open[Key(c)] = new OpenTask { Started = task };
                        break;
                    case TaskCommandLineEventArgs line when line.BuildEventContext is { } c && open.TryGetValue(Key(c), out var t):
                        t.CommandLines.Add(line.CommandLine ?? "");
                        break;
                    case TaskParameterEventArgs parameter when parameter.Kind == TaskParameterMessageKind.TaskInput && parameter.BuildEventContext is { } c && open.TryGetValue(Key(c), out var t):
                        AddInputs(t, parameter.Items);
                        break;
                    case TaskFinishedEventArgs finished when finished.BuildEventContext is { } c && open.Remove(Key(c), out var t):
                        tasks.Add(Execution(t, finished.Timestamp, targets));
                        break;
                    case ProjectEvaluationFinishedEventArgs evaluation:
                        AddPackageFolders(evaluation.Properties, packageFolders);
                        break;
                    case ProjectStartedEventArgs project:
                        AddPackageFolders(project.Properties, packageFolders);
                        break;
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            string cause = e.InnerException is { } inner ? $"{e.Message} ({inner.GetType().Name}: {inner.Message})" : e.Message;
            throw new BinlogException($"{UnreadableCode}: cannot read the binary log {binlogPath}: {cause}. Events are reported without their MSBuild task; pass the log the build wrote (-bl:FILE), or let `securebuild trace` add -bl.");
        }
        // A task still open when the log ended (the build was killed) ran until the end of the log.
        var end = tasks.Count == 0 ? DateTimeOffset.MaxValue : tasks.Max(t => t.End);
        foreach (var t in open.Values)
        {
            tasks.Add(Execution(t, end.UtcDateTime, targets));
        }
        return new BuildTimeline(tasks, packageFolders.Select(f => Path.GetFullPath(f).TrimEnd('/')));
    }

    private static TaskKey Key(BuildEventContext c) => new(c.NodeId, c.ProjectContextId, c.TargetId, c.TaskId);

    private static TaskExecution Execution(OpenTask t, DateTime finished, Dictionary<TargetKey, (string Name, string? File)> targets)
    {
        var c = t.Started.BuildEventContext!;
        targets.TryGetValue(new TargetKey(c.NodeId, c.ProjectContextId, c.TargetId), out var target);
        string project = t.Started.ProjectFile ?? "";
        string directory = project.Length == 0 ? "" : Path.GetDirectoryName(project) ?? "";
        var inputs = t.Inputs
            .Where(i => i.Length > 0 && i.IndexOfAny(new[] { '\n', '\0' }) < 0)
            .Select(i => Rooted(i, directory))
            .Where(i => i is not null)
            .Select(i => i!)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        return new TaskExecution(c.NodeId, project, target.Name ?? "", t.Started.TaskName ?? "", Utc(t.Started.Timestamp), Utc(finished),
            target.File, t.CommandLines, inputs);
    }

    private static string? Rooted(string value, string directory)
    {
        try
        {
            if (Path.IsPathRooted(value))
            {
                return Path.GetFullPath(value);
            }
            return directory.Length == 0 || value.Contains("://", StringComparison.Ordinal) ? null : Path.GetFullPath(Path.Combine(directory, value));
        }
        catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
        {
            return null;
        }
    }

    private static void AddInputs(OpenTask t, IList? items)
    {
        foreach (var item in items ?? Array.Empty<object>())
        {
            switch (item)
            {
                case ITaskItem taskItem:
                    t.Inputs.Add(taskItem.ItemSpec);
                    if (taskItem.GetMetadata("FullPath") is { Length: > 0 } full)
                    {
                        t.Inputs.Add(full);
                    }
                    break;
                case string text:
                    t.Inputs.Add(text);
                    break;
            }
        }
    }

    private static void AddPackageFolders(IEnumerable? properties, List<string> folders)
    {
        foreach (var entry in properties ?? Array.Empty<object>())
        {
            if (entry is DictionaryEntry { Key: string name, Value: string value } && (name == "NuGetPackageRoot" || name == "NuGetPackageFolders") && value.Length > 0)
            {
                foreach (var folder in value.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (Path.IsPathRooted(folder) && !folders.Contains(folder.TrimEnd('/')))
                    {
                        folders.Add(folder.TrimEnd('/'));
                    }
                }
            }
        }
    }

    /// <summary>MSBuild stamps events with its clock in UTC; a reader may hand them back as local time.</summary>
    private static DateTimeOffset Utc(DateTime t) => t.Kind switch
    {
        DateTimeKind.Local => new DateTimeOffset(t.ToUniversalTime(), TimeSpan.Zero),
        _ => new DateTimeOffset(DateTime.SpecifyKind(t, DateTimeKind.Utc), TimeSpan.Zero),
    };
}

/// <summary>A binary log that cannot be read (SB4213).</summary>
public sealed class BinlogException : Exception
{
    public BinlogException(string message)
        : base(message)
    {
    }
}

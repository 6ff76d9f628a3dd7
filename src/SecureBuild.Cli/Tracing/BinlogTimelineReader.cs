using System.Collections;
using Microsoft.Build.Framework;
using Microsoft.Build.Logging.StructuredLogger;
using SecureBuild.Core.Tracing;

namespace SecureBuild.Cli.Tracing;

/// <summary>
/// Reads a build's binary log (MSBuild.StructuredLogger's record reader: the event args as MSBuild raised them) into a
/// <see cref="BuildTimeline"/>: every task with its node, project, target (and the file that declared the target),
/// start and end, the command lines it logged, and its input files; and every project evaluation's node, start and end. MSBuild knowledge lives here, not in Core. Used
/// when the user's command writes a binary log (-bl) anyway; otherwise the trace verb attributes from its own logger's
/// lighter log (<see cref="AttributionLogReader"/>).
/// </summary>
public static class BinlogTimelineReader
{
    /// <summary>SB4213: the binary log cannot be read; events stay unattributed.</summary>
    public const string UnreadableCode = "SB4213";

    /// <summary>Reads <paramref name="binlogPath"/>; throws <see cref="BinlogException"/> when it is not a readable binary log.</summary>
    public static BuildTimeline Read(string binlogPath, IEnumerable<string>? extraPackageFolders = null)
    {
        var timeline = new BuildTimelineBuilder(extraPackageFolders);
        try
        {
            var reader = new BinLogReader();
            foreach (var record in reader.ReadRecords(binlogPath))
            {
                switch (record.Args)
                {
                    case TargetStartedEventArgs target when target.BuildEventContext is { } c:
                        timeline.TargetStarted(Ids(c), target.TargetName, target.TargetFile);
                        break;
                    case TaskStartedEventArgs task when task.BuildEventContext is { } c:
                        timeline.TaskStarted(Ids(c), task.ProjectFile, task.TaskName, Utc(task.Timestamp));
                        break;
                    case TaskCommandLineEventArgs line when line.BuildEventContext is { } c:
                        timeline.CommandLine(Ids(c), line.CommandLine);
                        break;
                    case TaskParameterEventArgs parameter when parameter.Kind == TaskParameterMessageKind.TaskInput && parameter.BuildEventContext is { } c:
                        timeline.Inputs(Ids(c), Inputs(parameter.Items));
                        break;
                    case TaskFinishedEventArgs finished when finished.BuildEventContext is { } c:
                        timeline.TaskFinished(Ids(c), Utc(finished.Timestamp));
                        break;
                    case ProjectEvaluationStartedEventArgs evaluation when evaluation.BuildEventContext is { } c:
                        timeline.EvaluationStarted(c.NodeId, c.EvaluationId, Utc(evaluation.Timestamp));
                        break;
                    case ProjectEvaluationFinishedEventArgs evaluation:
                        if (evaluation.BuildEventContext is { } e)
                        {
                            timeline.EvaluationFinished(e.NodeId, e.EvaluationId, Utc(evaluation.Timestamp));
                        }
                        AddPackageFolders(evaluation.Properties, timeline);
                        break;
                    case ProjectStartedEventArgs project:
                        AddPackageFolders(project.Properties, timeline);
                        break;
                }
            }
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            string cause = e.InnerException is { } inner ? $"{e.Message} ({inner.GetType().Name}: {inner.Message})" : e.Message;
            throw new BinlogException($"{UnreadableCode}: cannot read the binary log {binlogPath}: {cause}. Events are reported without their MSBuild task; pass the log the build wrote (-bl:FILE), or let `securebuild trace` attribute with its own logger (give no -bl).");
        }
        return timeline.Build();
    }

    private static BuildEventIds Ids(BuildEventContext c) => new(c.NodeId, c.ProjectContextId, c.TargetId, c.TaskId);

    /// <summary>An item input's spec and full path, a scalar input's text (what the trace logger writes too).</summary>
    private static IEnumerable<string> Inputs(IList? items)
    {
        foreach (var item in items ?? Array.Empty<object>())
        {
            switch (item)
            {
                case ITaskItem taskItem:
                    yield return taskItem.ItemSpec;
                    if (taskItem.GetMetadata("FullPath") is { Length: > 0 } full)
                    {
                        yield return full;
                    }
                    break;
                case string text:
                    yield return text;
                    break;
            }
        }
    }

    private static void AddPackageFolders(IEnumerable? properties, BuildTimelineBuilder timeline)
    {
        // StructuredLogger hands properties over as its string dictionary (KeyValuePair) or, in older formats, as DictionaryEntry.
        foreach (var entry in properties ?? Array.Empty<object>())
        {
            var (name, value) = entry switch
            {
                DictionaryEntry { Key: string k, Value: string v } => (k, v),
                KeyValuePair<string, string> kv => (kv.Key, kv.Value),
                _ => ("", ""),
            };
            if (name == "NuGetPackageRoot" || name == "NuGetPackageFolders")
            {
                timeline.PackageFolders(value);
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

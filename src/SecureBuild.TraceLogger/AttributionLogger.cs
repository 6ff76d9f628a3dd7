using System.Buffers;
using System.Collections;
using System.Reflection;
using System.Text.Json;
using Microsoft.Build.Framework;

namespace SecureBuild.TraceLogger;

/// <summary>
/// Writes what `securebuild trace` needs to attribute a traced build's events to MSBuild tasks, and nothing else: each
/// target's name and declaring file, each task's start and finish (node, project, time), each project evaluation's
/// start and finish (when SDKs are resolved), the command lines tasks log and the files they were given, and the NuGet
/// packages folders of the evaluated projects. One JSON object per line
/// (the format is read by SecureBuild.Cli's AttributionLogReader). It replaces the binary log the verb used to add:
/// MSBuild's binary logger records every message, property and item and compresses them, which cost a no-op build
/// of ten projects about a quarter more wall time; this logger leaves messages it does not need unread.
/// </summary>
/// <remarks>
/// Usage (the trace verb adds it): <c>-logger:SecureBuild.TraceLogger.AttributionLogger,"PATH/SecureBuild.TraceLogger.dll";"[v=diag;]OUT.jsonl"</c>.
/// A central logger: MSBuild forwards the worker nodes' events to it with their <see cref="BuildEventContext"/>, so
/// node ids are MSBuild's own. It never fails the build: when the file cannot be written it stops writing, and the
/// missing last line ("done") tells the reader the log is incomplete.
/// </remarks>
public sealed class AttributionLogger : ILogger
{
    /// <summary>The first line's "format": the reader refuses other formats.</summary>
    public const string Format = "securebuild-trace-attribution/1";

    /// <summary>The parameter prefix that makes MSBuild log task inputs (its check for a diagnostic logger).</summary>
    public const string TaskInputsParameter = "v=diag;";

    private readonly ArrayBufferWriter<byte> _line = new(4096);
    private readonly HashSet<string> _folders = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, (PropertyInfo? Name, PropertyInfo? Value)> _propertyAccessors = new();
    private Utf8JsonWriter? _json;
    private Stream? _file;

    public LoggerVerbosity Verbosity { get; set; }

    /// <summary>The output file (the logger's only parameter).</summary>
    public string? Parameters { get; set; }

    public void Initialize(IEventSource eventSource)
    {
        // "v=diag;FILE" asks MSBuild for task inputs: it turns them on for a logger whose parameters say so (and for the
        // binary logger), not for IEventSource3.IncludeTaskInputs. They cost a no-op build of ten projects a third more
        // CPU, so the trace verb asks only when a step that needs them runs (pack, publish); the compiler's inputs are
        // on its command line.
        string path = (Parameters ?? "").Trim();
        if (path.StartsWith(TaskInputsParameter, StringComparison.OrdinalIgnoreCase))
        {
            path = path.Substring(TaskInputsParameter.Length);
        }
        if (path.Length == 0)
        {
            throw new LoggerException("SecureBuild.TraceLogger.AttributionLogger needs the output file as its parameter (-logger:...;[v=diag;]FILE).");
        }
        try
        {
            _file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ArgumentException || e is NotSupportedException)
        {
            throw new LoggerException($"SecureBuild.TraceLogger.AttributionLogger cannot create {path}: {e.Message}");
        }
        _json = new Utf8JsonWriter(_line);
        Write("format", w => w.WriteString("format", Format));

        // The evaluation's properties (asked for by the console logger too, so they cost nothing extra) name the
        // packages folders; asked for, they are not copied into every ProjectStarted event as well.
        if (eventSource is IEventSource4 properties)
        {
            properties.IncludeEvaluationPropertiesAndItems();
        }
        eventSource.TargetStarted += (_, e) => Target(e);
        eventSource.TaskStarted += (_, e) => TaskStarted(e);
        eventSource.TaskFinished += (_, e) => TaskFinished(e);
        eventSource.MessageRaised += (_, e) => Message(e);
        eventSource.StatusEventRaised += (_, e) =>
        {
            switch (e)
            {
                case ProjectEvaluationStartedEventArgs started:
                    Evaluation("evaluation", started);
                    break;
                case ProjectEvaluationFinishedEventArgs evaluation:
                    Evaluation("evaluated", evaluation);
                    PackageFolders(evaluation.Properties);
                    break;
            }
        };
        eventSource.ProjectStarted += (_, e) => PackageFolders(e.Properties);
    }

    public void Shutdown()
    {
        Write("done", _ => { });
        Close();
    }

    private void Target(TargetStartedEventArgs e)
    {
        if (e.BuildEventContext is { } c)
        {
            Write("target", w =>
            {
                Context(w, c);
                w.WriteString("name", e.TargetName);
                w.WriteString("file", e.TargetFile);
            });
        }
    }

    private void TaskStarted(TaskStartedEventArgs e)
    {
        if (e.BuildEventContext is { } c)
        {
            Write("task", w =>
            {
                Context(w, c);
                w.WriteString("name", e.TaskName);
                w.WriteString("project", e.ProjectFile);
                w.WriteNumber("time", UtcTicks(e.Timestamp));
            });
        }
    }

    private void TaskFinished(TaskFinishedEventArgs e)
    {
        if (e.BuildEventContext is { } c)
        {
            Write("end", w =>
            {
                Context(w, c);
                w.WriteNumber("time", UtcTicks(e.Timestamp));
            });
        }
    }

    /// <summary>An evaluation's start or end: NuGet's SDK resolver downloads SDKs within one, before any task runs.</summary>
    private void Evaluation(string kind, BuildStatusEventArgs e)
    {
        if (e.BuildEventContext is { } c)
        {
            Write(kind, w =>
            {
                w.WriteNumber("node", c.NodeId);
                w.WriteNumber("evaluationId", c.EvaluationId);
                w.WriteNumber("time", UtcTicks(e.Timestamp));
            });
        }
    }

    private void Message(BuildMessageEventArgs e)
    {
        switch (e)
        {
            case TaskCommandLineEventArgs line when line.BuildEventContext is { } c:
                Write("command", w =>
                {
                    Context(w, c);
                    w.WriteString("text", line.CommandLine ?? "");
                });
                break;
            case TaskParameterEventArgs parameter when parameter.Kind == TaskParameterMessageKind.TaskInput && parameter.BuildEventContext is { } c:
                Write("inputs", w =>
                {
                    Context(w, c);
                    w.WriteStartArray("items");
                    foreach (var item in parameter.Items ?? Array.Empty<object>())
                    {
                        switch (item)
                        {
                            case ITaskItem taskItem:
                                w.WriteStringValue(taskItem.ItemSpec);
                                if (taskItem.GetMetadata("FullPath") is { Length: > 0 } full && full != taskItem.ItemSpec)
                                {
                                    w.WriteStringValue(full);
                                }
                                break;
                            case string text:
                                w.WriteStringValue(text);
                                break;
                            case IConvertible scalar:
                                // A bool or number parameter: as text, the way the binary log records it.
                                w.WriteStringValue(scalar.ToString(System.Globalization.CultureInfo.InvariantCulture));
                                break;
                        }
                    }
                    w.WriteEndArray();
                });
                break;
        }
    }

    /// <summary>NuGetPackageRoot and NuGetPackageFolders of an evaluation, each distinct value once.</summary>
    private void PackageFolders(IEnumerable? properties)
    {
        if (properties is null || _file is null)
        {
            return;
        }
        foreach (var entry in properties)
        {
            var (name, value) = NameAndValue(entry);
            if ((name == "NuGetPackageRoot" || name == "NuGetPackageFolders") && !string.IsNullOrEmpty(value) && _folders.Add(value!))
            {
                Write("folders", w => w.WriteString("value", value));
            }
        }
    }

    /// <summary>
    /// A property as MSBuild hands it over: a DictionaryEntry (forwarded from another node, the legacy
    /// ProjectStarted list), a KeyValuePair, or MSBuild's own property instance (in the entry process: its public
    /// Name and EvaluatedValue, read by reflection because this logger references the framework assembly only).
    /// </summary>
    private (string? Name, string? Value) NameAndValue(object? entry)
    {
        switch (entry)
        {
            case null:
                return (null, null);
            case DictionaryEntry d:
                return (d.Key as string, d.Value as string);
            case KeyValuePair<string, string> kv:
                return (kv.Key, kv.Value);
        }
        var type = entry.GetType();
        if (!_propertyAccessors.TryGetValue(type, out var accessors))
        {
            accessors = (type.GetProperty("Name", typeof(string)), type.GetProperty("EvaluatedValue", typeof(string)));
            _propertyAccessors[type] = accessors;
        }
        if (accessors.Name is null || accessors.Value is null)
        {
            return (null, null);
        }
        string? name = accessors.Name.GetValue(entry) as string;
        return name == "NuGetPackageRoot" || name == "NuGetPackageFolders" ? (name, accessors.Value.GetValue(entry) as string) : (name, null);
    }

    private static void Context(Utf8JsonWriter w, BuildEventContext c)
    {
        w.WriteNumber("node", c.NodeId);
        w.WriteNumber("projectContext", c.ProjectContextId);
        w.WriteNumber("targetId", c.TargetId);
        w.WriteNumber("taskId", c.TaskId);
    }

    /// <summary>MSBuild stamps events in UTC or local time depending on version and node; written as UTC ticks.</summary>
    private static long UtcTicks(DateTime t) => t.Kind == DateTimeKind.Local ? t.ToUniversalTime().Ticks : t.Ticks;

    /// <summary>One line: {"e":KIND, ...}. A write that fails stops the log (never the build); the reader sees no "done".</summary>
    private void Write(string kind, Action<Utf8JsonWriter> fields)
    {
        if (_file is null || _json is null)
        {
            return;
        }
        try
        {
            _line.ResetWrittenCount();
            _json.Reset(_line);
            _json.WriteStartObject();
            _json.WriteString("e", kind);
            fields(_json);
            _json.WriteEndObject();
            _json.Flush();
            _file.Write(_line.WrittenSpan);
            _file.WriteByte((byte)'\n');
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is ObjectDisposedException)
        {
            Close();
        }
    }

    private void Close()
    {
        var file = _file;
        _file = null;
        _json?.Dispose();
        _json = null;
        try
        {
            file?.Dispose();
        }
        catch (IOException)
        {
            // Already reported by the missing "done" line.
        }
    }
}

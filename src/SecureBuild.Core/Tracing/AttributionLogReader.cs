using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Tracing;

/// <summary>
/// Reads the log SecureBuild.TraceLogger's AttributionLogger (shipped with the tool, loaded by MSBuild) wrote during a traced MSBuild command (one JSON object per
/// line: the format line, then target / task / command / inputs / end / evaluation / evaluated / folders records in the order MSBuild raised
/// the events, then "done") into a <see cref="BuildTimeline"/>, through the same <see cref="BuildTimelineBuilder"/>
/// the binary log reader uses, so both give the same timeline for the same build. Plain data: no MSBuild here.
/// </summary>
public static class AttributionLogReader
{
    /// <summary>SB4233: the attribution log is missing, unreadable or not in the logger's format; events stay unattributed.</summary>
    public const string UnreadableCode = "SB4233";

    /// <summary>SB4234: the attribution log ends early (the build was killed, the disk filled up): later events are unattributed.</summary>
    public const string IncompleteCode = "SB4234";

    /// <summary>The format the logger writes on its first line (SecureBuild.TraceLogger.AttributionLogger.Format).</summary>
    public const string Format = "securebuild-trace-attribution/1";

    /// <summary>The outcome: the timeline and, when the log ended before the build did, a warning saying so.</summary>
    public sealed record Result(BuildTimeline Timeline, string? Warning);

    /// <summary>Reads <paramref name="path"/>; throws <see cref="AttributionLogException"/> (SB4233) when it is not a log of the trace logger.</summary>
    public static Result Read(string path, IEnumerable<string>? extraPackageFolders = null) =>
        new AttributionLogTail(path, extraPackageFolders).Finish();

    /// <summary>
    /// Takes line <paramref name="number"/> (1-based, without its newline) of the log at <paramref name="path"/>: the first
    /// must name the <see cref="Format"/>, each later one is a record fed to <paramref name="timeline"/>. True for "done".
    /// </summary>
    internal static bool TakeLine(BuildTimelineBuilder timeline, byte[] line, string path, int number)
    {
        JsonMap record;
        try
        {
            // The line's bytes go to the parser as they are (it checks their UTF-8), not through a string and back.
            record = JsonParser.Parse(line) as JsonMap ?? throw new JsonFormatException("not a JSON object");
        }
        catch (JsonFormatException e)
        {
            throw Unreadable(path, $"line {number}: {e.Message}");
        }
        string kind = Text(record, "e", path, number);
        if (number == 1)
        {
            string format = kind == "format" ? Text(record, "format", path, number) : "";
            return format == Format
                ? false
                : throw Unreadable(path, $"line 1 does not name the format {Format} (a log of another version of the tool?)");
        }
        switch (kind)
        {
            case "target":
                timeline.TargetStarted(Ids(record, path, number), Text(record, "name", path, number), OptText(record, "file"));
                break;
            case "task":
                timeline.TaskStarted(Ids(record, path, number), Text(record, "project", path, number), Text(record, "name", path, number), Time(record, path, number));
                break;
            case "command":
                timeline.CommandLine(Ids(record, path, number), Text(record, "text", path, number));
                break;
            case "inputs":
                timeline.Inputs(Ids(record, path, number), Strings(record, "items", path, number));
                break;
            case "end":
                timeline.TaskFinished(Ids(record, path, number), Time(record, path, number));
                break;
            case "evaluation":
                timeline.EvaluationStarted(Int(record, "node", path, number), Int(record, "evaluationId", path, number), Time(record, path, number));
                break;
            case "evaluated":
                timeline.EvaluationFinished(Int(record, "node", path, number), Int(record, "evaluationId", path, number), Time(record, path, number));
                break;
            case "folders":
                timeline.PackageFolders(Text(record, "value", path, number));
                break;
            case "done":
                return true;
            default:
                throw Unreadable(path, $"line {number}: unknown record \"{StrictJson.Clip(kind)}\"");
        }
        return false;
    }

    private static BuildEventIds Ids(JsonMap record, string path, int number) =>
        new(Int(record, "node", path, number), Int(record, "projectContext", path, number), Int(record, "targetId", path, number), Int(record, "taskId", path, number));

    private static int Int(JsonMap record, string field, string path, int number) =>
        StrictJson.Req(record, field, $"line {number}", m => Unreadable(path, m)) is JsonNumber { IsInteger: true } n
            && int.TryParse(n.RawText, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out int value)
            ? value
            : throw Unreadable(path, $"line {number}: \"{field}\" is not an integer");

    private static DateTimeOffset Time(JsonMap record, string path, int number)
    {
        long ticks = StrictJson.ReqNonNegativeInt64(record, "time", $"line {number}", m => Unreadable(path, m));
        return ticks <= DateTime.MaxValue.Ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : throw Unreadable(path, $"line {number}: \"time\" is out of range");
    }

    private static string Text(JsonMap record, string field, string path, int number) =>
        StrictJson.ReqString(record, field, $"line {number}", m => Unreadable(path, m));

    private static string? OptText(JsonMap record, string field) => StrictJson.Opt(record, field) is JsonString s ? s.Value : null;

    private static IEnumerable<string> Strings(JsonMap record, string field, string path, int number) =>
        StrictJson.ReqArray(record, field, $"line {number}", m => Unreadable(path, m))
            .Select(i => i is JsonString s ? s.Value : throw Unreadable(path, $"line {number}: \"{field}\" holds a value that is not a string"))
            .ToList();

    internal static AttributionLogException Unreadable(string path, string cause) =>
        new($"{UnreadableCode}: cannot read the attribution log {path}: {cause}. Events are reported without their MSBuild task; run the command again under `securebuild trace` (or give -bl to attribute from MSBuild's binary log).");
}

/// <summary>An attribution log that cannot be read (SB4233).</summary>
public sealed class AttributionLogException : Exception
{
    public AttributionLogException(string message)
        : base(message)
    {
    }
}

using System.Globalization;
using System.Text;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Tracing;

/// <summary>
/// The trace file (<c>trace.json</c>, format <c>securebuild-trace/v1</c>): one JSON object, ASCII, whose header members
/// come first on one line, then <c>processes</c>, <c>files</c> and <c>network</c> with one event per line, so a large
/// trace is written as a stream and can be read with grep as well as with a JSON parser. Members of each object are in
/// code-point order (<see cref="JsonText"/>); times are RFC 3339 UTC with microseconds; absent values are null.
/// Documented in the CLI section of README.md. Reading is strict: a missing member or a wrong type is an error.
/// </summary>
public static class TraceLogJson
{
    public const string Format = "securebuild-trace/v1";

    // Listed, not reflected (Enum.GetValues needs dynamic code under Native AOT).
    private static readonly FileAccessKind[] FileKinds =
    {
        FileAccessKind.Read, FileAccessKind.Write, FileAccessKind.Create, FileAccessKind.Delete, FileAccessKind.Rename, FileAccessKind.Execute,
    };

    private static readonly NetworkOperation[] Operations = { NetworkOperation.Connect, NetworkOperation.Bind, NetworkOperation.SendTo };

    public static void Write(TraceLog log, Stream output)
    {
        var header = new JsonMap
        {
            ["format"] = Format,
            ["monitor"] = log.Monitor,
            ["command"] = new JsonList(log.Command.Select(c => (JsonItem)c)),
            ["workingDirectory"] = log.WorkingDirectory,
            ["start"] = Time(log.Start),
            ["end"] = Time(log.End),
            ["exitCode"] = Nullable(log.ExitCode),
            ["signal"] = Nullable(log.Signal),
            ["droppedEvents"] = log.DroppedEvents,
            ["unhashedFiles"] = log.UnhashedFiles,
        };
        using var writer = new StreamWriter(output, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
        string head = JsonText.Write(header, indented: false);
        writer.Write(head.Substring(0, head.Length - 1));
        WriteArray(writer, "files", log.Files.Select(ToJson));
        WriteArray(writer, "network", log.Network.Select(ToJson));
        WriteArray(writer, "processes", log.Processes.Select(ToJson));
        writer.WriteLine("}");
    }

    public static byte[] ToBytes(TraceLog log)
    {
        using var stream = new MemoryStream();
        Write(log, stream);
        return stream.ToArray();
    }

    /// <summary>Reads a trace file back.</summary>
    /// <exception cref="JsonFormatException">Not JSON, not this format, or a member is missing or of the wrong type.</exception>
    public static TraceLog Read(byte[] utf8)
    {
        var root = JsonParser.Parse(utf8) as JsonMap ?? throw new JsonFormatException("A trace file is a JSON object.");
        if (Str(root, "format") != Format)
        {
            throw new JsonFormatException($"Not a trace file: format is not \"{Format}\".");
        }

        return new TraceLog(
            Array(root, "command").Select(n => n is JsonString s ? s.Value : throw new JsonFormatException("command: strings expected.")).ToList(),
            Str(root, "workingDirectory"),
            ParseTime(Str(root, "start")),
            ParseTime(Str(root, "end")),
            OptInt(root, "exitCode"),
            OptStr(root, "signal"),
            Array(root, "processes").Select(ReadProcess).ToList(),
            Array(root, "files").Select(ReadFile).ToList(),
            Array(root, "network").Select(ReadNetwork).ToList())
        {
            DroppedEvents = Long(root, "droppedEvents"),
            UnhashedFiles = Long(root, "unhashedFiles"),
            Monitor = Str(root, "monitor"),
        };
    }

    /// <summary>The lower-case name a kind has in the file ("read", "write", "create", "delete", "rename", "execute").</summary>
    public static string Name(FileAccessKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>The lower-case name an operation has in the file ("connect", "bind", "sendto").</summary>
    public static string Name(NetworkOperation operation) => operation.ToString().ToLowerInvariant();

    private static void WriteArray(StreamWriter writer, string name, IEnumerable<JsonMap> items)
    {
        writer.Write(",\"" + name + "\":[");
        bool first = true;
        foreach (var item in items)
        {
            writer.Write(first ? "\n" : ",\n");
            writer.Write(JsonText.Write(item, indented: false));
            first = false;
        }

        writer.Write(first ? "]" : "\n]");
    }

    private static JsonMap ToJson(TracedProcess p) => new()
    {
        ["pid"] = p.Pid,
        ["parentPid"] = p.ParentPid,
        ["executable"] = p.Executable,
        ["executableSha256"] = Nullable(p.ExecutableSha256),
        ["arguments"] = new JsonList(p.Arguments.Select(a => (JsonItem)a)),
        ["workingDirectory"] = p.WorkingDirectory,
        ["start"] = Time(p.Start),
        ["exit"] = p.Exit is { } exit ? Time(exit) : JsonNull.Instance,
        ["exitCode"] = Nullable(p.ExitCode),
        ["signal"] = Nullable(p.Signal),
    };

    private static JsonMap ToJson(TracedFileAccess f)
    {
        var o = new JsonMap
        {
            ["pid"] = f.Pid,
            ["time"] = Time(f.Time),
            ["kind"] = Name(f.Kind),
            ["path"] = f.Path,
            ["sha256"] = Nullable(f.Sha256),
        };
        if (f.RenamedTo is not null)
        {
            o["renamedTo"] = f.RenamedTo;
        }

        return o;
    }

    private static JsonMap ToJson(TracedNetworkOperation n) => new()
    {
        ["pid"] = n.Pid,
        ["time"] = Time(n.Time),
        ["operation"] = Name(n.Operation),
        ["family"] = n.Family,
        ["address"] = n.Address,
        ["port"] = n.Port,
        ["succeeded"] = n.Succeeded,
    };

    private static TracedProcess ReadProcess(JsonItem node)
    {
        var o = Obj(node, "processes");
        return new TracedProcess((int)Long(o, "pid"), (int)Long(o, "parentPid"), Str(o, "executable"), OptStr(o, "executableSha256"),
            Array(o, "arguments").Select(n => n is JsonString s ? s.Value : throw new JsonFormatException("arguments: strings expected.")).ToList(),
            Str(o, "workingDirectory"), ParseTime(Str(o, "start")), OptStr(o, "exit") is { } exit ? ParseTime(exit) : null,
            OptInt(o, "exitCode"), OptStr(o, "signal"));
    }

    private static TracedFileAccess ReadFile(JsonItem node)
    {
        var o = Obj(node, "files");
        var kindName = Str(o, "kind");
        var kind = FileKinds.Where(k => Name(k) == kindName)
            .Select(k => (FileAccessKind?)k).FirstOrDefault() ?? throw new JsonFormatException($"files: unknown kind \"{kindName}\".");
        return new TracedFileAccess((int)Long(o, "pid"), ParseTime(Str(o, "time")), kind, Str(o, "path"), OptStr(o, "sha256"),
            o.ContainsKey("renamedTo") ? Str(o, "renamedTo") : null);
    }

    private static TracedNetworkOperation ReadNetwork(JsonItem node)
    {
        var o = Obj(node, "network");
        var opName = Str(o, "operation");
        var op = Operations.Where(k => Name(k) == opName)
            .Select(k => (NetworkOperation?)k).FirstOrDefault() ?? throw new JsonFormatException($"network: unknown operation \"{opName}\".");
        return new TracedNetworkOperation((int)Long(o, "pid"), ParseTime(Str(o, "time")), op, Str(o, "family"), Str(o, "address"),
            (int)Long(o, "port"), o.TryGetValue("succeeded", out var s) && s is JsonBool b ? b.Value : throw new JsonFormatException("network: succeeded must be true or false."));
    }

    private static JsonItem Nullable(string? value) => value is null ? JsonNull.Instance : value;

    private static JsonItem Nullable(int? value) => value is null ? JsonNull.Instance : value.Value;

    private static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.TryParseExact(text, "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t)
            ? t
            : throw new JsonFormatException($"\"{text}\" is not a time of the form 2026-01-02T03:04:05.123456Z.");

    private static JsonMap Obj(JsonItem node, string where) => node as JsonMap ?? throw new JsonFormatException($"{where}: objects expected.");

    private static JsonItem Member(JsonMap o, string name) =>
        o.TryGetValue(name, out var v) ? v : throw new JsonFormatException($"The member \"{name}\" is missing.");

    private static string Str(JsonMap o, string name) =>
        Member(o, name) is JsonString s ? s.Value : throw new JsonFormatException($"\"{name}\" must be a string.");

    private static string? OptStr(JsonMap o, string name) => Member(o, name) switch
    {
        JsonNull => null,
        JsonString s => s.Value,
        _ => throw new JsonFormatException($"\"{name}\" must be a string or null."),
    };

    private static long Long(JsonMap o, string name) =>
        Member(o, name) is JsonNumber { IsInteger: true } n && long.TryParse(n.RawText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v)
            ? v
            : throw new JsonFormatException($"\"{name}\" must be an integer.");

    private static int? OptInt(JsonMap o, string name) => Member(o, name) is JsonNull ? null : checked((int)Long(o, name));

    private static IEnumerable<JsonItem> Array(JsonMap o, string name) =>
        Member(o, name) as JsonList ?? throw new JsonFormatException($"\"{name}\" must be an array.");
}

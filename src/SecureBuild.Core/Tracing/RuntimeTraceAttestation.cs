using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Recording;

namespace SecureBuild.Core.Tracing;

/// <summary>
/// One traced command as an in-toto Statement v1 with the runtime-trace predicate
/// (<c>https://in-toto.io/attestation/runtime-trace/v0.1</c>; network entries in the shape v0.2 recommends, which v0.1
/// consumers ignore or read alike): monitor (this tracer and the policy it enforced), monitoredProcess (the host and
/// the command), monitorLog (every process with its MSBuild attribution, every network operation, every file access
/// as a resource descriptor with its digest), plus the policy's findings and verdict. Subjects are the products: the
/// files the command wrote that still exist, with the digest the tracer took after the last write. Every path is
/// named as the links name artifacts (<see cref="ArtifactNamer"/>): no home or machine directory is signed; arguments
/// lose credentials and unlisted property values (<see cref="ParameterAllowList"/>).
/// </summary>
public static class RuntimeTraceAttestation
{
    public const string PredicateType = "https://in-toto.io/attestation/runtime-trace/v0.1";

    /// <summary>monitor.type: this tracer.</summary>
    public const string MonitorType = "https://securebuild.dev/monitors/securebuild-trace/v1";

    /// <summary>monitoredProcess.type: a command traced by `securebuild trace`.</summary>
    public const string ProcessType = "https://securebuild.dev/trace/command/v1";

    /// <summary>The file name next to the step links: &lt;step&gt;.trace.intoto.jsonl (e.g. build.trace.intoto.jsonl).</summary>
    public static string FileName(string stepName) => stepName + ".trace.intoto.jsonl";

    /// <summary>What the statement needs besides the trace.</summary>
    public sealed class Inputs
    {
        public Inputs(TraceLog log, TraceAttribution attribution, TracePolicy policy, TracePolicyReport report, ArtifactNamer namer)
        {
            Log = log;
            Attribution = attribution;
            Policy = policy;
            Report = report;
            Namer = namer;
        }

        public TraceLog Log { get; }

        public TraceAttribution Attribution { get; }

        public TracePolicy Policy { get; }

        public TracePolicyReport Report { get; }

        public ArtifactNamer Namer { get; }

        /// <summary>monitoredProcess.hostID: the CI system's builder id, or the local one.</summary>
        public string HostId { get; init; } = CiContext.LocalBuilderId;

        /// <summary>The CI run, when there is one (part of monitoredProcess.event).</summary>
        public string? InvocationId { get; init; }

        public bool Hermetic { get; init; }

        /// <summary>Folders whose files are the products (bin/, obj/ outputs, artifacts, -o); null: every file written.</summary>
        public Func<string, bool>? IsProduct { get; init; }

        public string ToolVersion { get; init; } = typeof(RuntimeTraceAttestation).Assembly.GetName().Version?.ToString() ?? "0";
    }

    public static InTotoStatement CreateStatement(Inputs inputs)
    {
        var log = inputs.Log;
        var namer = inputs.Namer;
        var redaction = ParameterAllowList.ForProperties(null, namer.NamePathsIn);
        string Name(string path) => path.Length == 0 ? "" : namer.Name(path);
        IEnumerable<string> Args(IReadOnlyList<string> argv) =>
            redaction.RedactCommand(argv).Select(a => SecretFilter.LooksLikeSecret(a) ? UrlRedaction.Placeholder : NameArgument(a, namer));

        var monitor = new JsonMap
        {
            { "type", MonitorType },
            { "tracePolicy", inputs.Policy.ToJson() },
            { "version", inputs.ToolVersion },
            { "method", log.Monitor },
            { "audit", inputs.Report.Audit },
            { "hermetic", inputs.Hermetic },
        };
        var monitored = new JsonMap
        {
            { "hostID", inputs.HostId },
            { "type", ProcessType },
            { "event", (inputs.InvocationId is null ? "" : inputs.InvocationId + " ") + string.Join(" ", Args(log.Command)) },
        };

        var processes = new JsonList();
        foreach (var p in log.Processes.OrderBy(p => p.Start).ThenBy(p => p.Pid))
        {
            var entry = new JsonMap
            {
                { "pid", p.Pid },
                { "ppid", p.ParentPid },
                { "executable", Name(p.Executable) },
                { "arguments", new JsonList(Args(p.Arguments).Select(a => (JsonItem)a)) },
                { "workingDirectory", Name(p.WorkingDirectory) },
                { "start", Time(p.Start) },
            };
            if (p.ExecutableSha256 is not null)
            {
                entry.Add("digest", new JsonMap { { "sha256", p.ExecutableSha256 } });
            }
            if (p.Exit is { } exit)
            {
                entry.Add("exit", Time(exit));
            }
            if (p.ExitCode is int code)
            {
                entry.Add("exitCode", code);
            }
            if (p.Signal is not null)
            {
                entry.Add("signal", p.Signal);
            }
            AddActivity(entry, inputs.Attribution.OfProcess(p.Pid), namer);
            processes.Add(entry);
        }

        var network = new JsonList();
        foreach (var op in log.Network)
        {
            var entry = new JsonMap
            {
                { "operation", op.Operation.ToString().ToLowerInvariant() },
                { "family", op.Family },
                { "protocol", op.Family == "unix" ? "unix" : op.Operation == NetworkOperation.SendTo ? "udp" : "tcp" },
                { "succeeded", op.Succeeded },
                { "invokingProcess", new JsonMap { { "pid", op.Pid } } },
                { "time", Time(op.Time) },
            };
            if (op.Family == "unix")
            {
                entry.Add("path", Name(op.Address));
            }
            else
            {
                entry.Add("ip", op.Address);
                entry.Add("port", op.Port);
            }
            AddActivity(entry, inputs.Attribution.OfEvent(op.Pid, op.Time), namer);
            network.Add(entry);
        }

        var files = new JsonList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in log.Files)
        {
            var activity = inputs.Attribution.OfEvent(f.Pid, f.Time);
            string name = Name(f.Path);
            if (!seen.Add($"{f.Kind}|{name}|{f.Sha256}|{f.Pid}|{activity.Describe()}"))
            {
                continue; // the same process reading the same content again in the same task says nothing new
            }
            var annotations = new JsonMap { { "access", f.Kind.ToString().ToLowerInvariant() }, { "pid", f.Pid }, { "time", Time(f.Time) } };
            if (f.RenamedTo is not null)
            {
                annotations.Add("renamedTo", Name(f.RenamedTo));
            }
            AddActivity(annotations, activity, namer);
            var digest = f.Sha256 is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["sha256"] = f.Sha256 };
            files.Add(new ResourceDescriptor(name, digest, annotations: annotations).ToJson());
        }

        var findings = new JsonList(inputs.Report.Findings.Select(f =>
        {
            var entry = new JsonMap
            {
                { "code", f.Code },
                { "severity", inputs.Report.Audit ? "warning" : "error" },
                { "event", namer.NamePathsIn(f.Event) },
                { "pid", f.Pid },
                { "program", Name(f.Program) },
                { "phase", TracePolicy.NameOf(f.Phase) },
                { "time", Time(f.Time) },
            };
            AddActivity(entry, f.Activity, namer);
            return (JsonItem)entry;
        }));

        var predicate = new JsonMap
        {
            { "monitor", monitor },
            { "monitoredProcess", monitored },
            { "monitorLog", new JsonMap { { "process", processes }, { "network", network }, { "fileAccess", files } } },
            { "policy", new JsonMap { { "verdict", inputs.Report.Verdict }, { "findings", findings } } },
            { "completeness", new JsonMap { { "droppedEvents", log.DroppedEvents }, { "unhashedFiles", log.UnhashedFiles } } },
            { "exit", Exit(log) },
            { "metadata", new JsonMap { { "buildStartedOn", Time(log.Start) }, { "buildFinishedOn", Time(log.End) } } },
        };
        var subjects = Products(log, inputs);
        if (subjects.Count == 0)
        {
            // A command that left no product (restore, a failed build) still gets its trace attested: the subject is
            // the trace itself, named after the command, with the digest of the monitor log's canonical JSON.
            subjects.Add(new ResourceDescriptor("trace:" + string.Join(" ", log.Command.Take(2).Select(System.IO.Path.GetFileName)),
                new Dictionary<string, string> { ["sha256"] = Sha256Hex.Of(CanonicalJson.Serialize((JsonMap)predicate["monitorLog"])) }));
        }
        return new InTotoStatement(subjects, PredicateType, predicate);
    }

    /// <summary>Signs the statement into a DSSE envelope; returns the .intoto.jsonl line (with newline).</summary>
    public static string Sign(InTotoStatement statement, SigningKey key) => statement.SignToJsonLine(key);

    /// <summary>The files the command left behind: written or created, not deleted or renamed away afterwards, hashed after the last write.</summary>
    public static List<ResourceDescriptor> Products(TraceLog log, Inputs inputs)
    {
        var last = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var f in log.Files)
        {
            switch (f.Kind)
            {
                case FileAccessKind.Write:
                case FileAccessKind.Create:
                    last[f.Path] = f.Sha256;
                    break;
                case FileAccessKind.Delete:
                    last.Remove(f.Path);
                    break;
                case FileAccessKind.Rename when f.RenamedTo is not null:
                    if (last.TryGetValue(f.Path, out var digest))
                    {
                        last.Remove(f.Path);
                        last[f.RenamedTo] = digest;
                    }
                    break;
            }
        }
        return last
            .Where(kv => kv.Value is not null && (inputs.IsProduct?.Invoke(kv.Key) ?? true))
            .Select(kv => (Name: inputs.Namer.Name(kv.Key), Digest: kv.Value!))
            .Where(p => !ArtifactNamer.IsMachineSpecific(p.Name))
            .GroupBy(p => p.Name, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new ResourceDescriptor(g.Key, new Dictionary<string, string> { ["sha256"] = g.Last().Digest }))
            .ToList();
    }

    /// <summary>Paths in an argument named as artifacts, also after a switch ("-bl:/abs/x.binlog", "@/tmp/x.rsp").</summary>
    private static string NameArgument(string argument, ArtifactNamer namer)
    {
        int at = argument.IndexOf(":/", StringComparison.Ordinal);
        if (at < 0 || argument.IndexOf("://", StringComparison.Ordinal) == at)
        {
            at = argument.StartsWith("@/", StringComparison.Ordinal) ? 0 : -1;
        }
        return at < 0 ? namer.NamePathsIn(argument) : argument.Substring(0, at + 1) + namer.NamePathsIn(argument.Substring(at + 1));
    }

    private static JsonMap Exit(TraceLog log)
    {
        var exit = new JsonMap();
        if (log.ExitCode is int code)
        {
            exit.Add("code", code);
        }
        if (log.Signal is not null)
        {
            exit.Add("signal", log.Signal);
        }
        return exit;
    }

    private static void AddActivity(JsonMap entry, BuildActivity activity, ArtifactNamer namer)
    {
        if (!activity.IsKnown)
        {
            return;
        }
        var msbuild = new JsonMap
        {
            { "project", activity.Project.Length == 0 ? "" : namer.Name(activity.Project) },
            { "target", activity.Target },
            { "task", activity.Task },
            { "node", activity.NodeId },
        };
        if (activity.TargetFile is not null)
        {
            msbuild.Add("targetFile", namer.Name(activity.TargetFile));
        }
        if (activity.Package is not null)
        {
            msbuild.Add("package", new JsonMap { { "id", activity.Package.Id }, { "version", activity.Package.Version } });
        }
        entry.Add("msbuild", msbuild);
    }

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}

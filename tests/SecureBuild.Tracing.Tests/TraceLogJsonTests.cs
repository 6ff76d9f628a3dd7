using System.Text;
using SecureBuild.Core.Json;
using SecureBuild.Core.Tracing;

namespace SecureBuild.Tracing.Tests;

/// <summary>The trace file format (securebuild-trace/v1): stable, streamable, strict to read.</summary>
[TestFixture]
public class TraceLogJsonTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 3, 4, 5, TimeSpan.Zero);

    private static TraceLog Sample() => new(
        new[] { "dotnet", "build" },
        "/src/app",
        T0,
        T0.AddSeconds(3),
        null,
        "SIGKILL",
        new[]
        {
            new TracedProcess(100, 0, "/usr/bin/dotnet", new string('a', 64), new[] { "dotnet", "build" }, "/src/app", T0, T0.AddSeconds(3), null, "SIGKILL"),
            new TracedProcess(101, 100, "", null, Array.Empty<string>(), "", T0.AddTicks(20), null, null, null),
        },
        new[]
        {
            new TracedFileAccess(100, T0.AddTicks(10), FileAccessKind.Read, "/src/app/fïlé ü €.cs", new string('b', 64)),
            new TracedFileAccess(101, T0.AddTicks(20), FileAccessKind.Rename, "/src/a", null, "/src/b"),
            new TracedFileAccess(101, T0.AddTicks(30), FileAccessKind.Delete, "/src/b", null),
        },
        new[]
        {
            new TracedNetworkOperation(100, T0.AddTicks(40), NetworkOperation.Connect, "inet6", "::1", 443, false),
            new TracedNetworkOperation(101, T0.AddTicks(50), NetworkOperation.SendTo, "inet", "127.0.0.53", 53, true),
        })
    {
        DroppedEvents = 2,
        UnhashedFiles = 1,
        Monitor = "securebuild ptrace+seccomp-bpf 0.1.0",
    };

    [Test]
    public void A_trace_reads_back_as_it_was_written()
    {
        var log = Sample();
        var back = TraceLogJson.Read(TraceLogJson.ToBytes(log));

        Assert.That(back.Command, Is.EqualTo(log.Command));
        Assert.That((back.WorkingDirectory, back.Start, back.End, back.ExitCode, back.Signal), Is.EqualTo((log.WorkingDirectory, log.Start, log.End, log.ExitCode, log.Signal)));
        Assert.That((back.DroppedEvents, back.UnhashedFiles, back.Monitor), Is.EqualTo((2L, 1L, log.Monitor)));
        Assert.That(back.Processes.Select(p => p with { Arguments = Array.Empty<string>() }), Is.EqualTo(log.Processes.Select(p => p with { Arguments = Array.Empty<string>() })));
        Assert.That(back.Processes.Select(p => string.Join("\0", p.Arguments)), Is.EqualTo(log.Processes.Select(p => string.Join("\0", p.Arguments))));
        Assert.That(back.Files, Is.EqualTo(log.Files));
        Assert.That(back.Network, Is.EqualTo(log.Network));
    }

    [Test]
    public void The_file_is_ascii_with_one_event_per_line_after_a_one_line_header()
    {
        var text = Encoding.UTF8.GetString(TraceLogJson.ToBytes(Sample()));
        var lines = text.Split('\n');

        Assert.That(text.All(c => c < 128), "non-ASCII is escaped");
        Assert.That(lines[0], Does.StartWith("{\"command\":[\"dotnet\",\"build\"],\"droppedEvents\":2,\"end\":\"2026-12-07T03:04:08.000000Z\",\"exitCode\":null,\"format\":\"securebuild-trace/v1\""));
        Assert.That(lines[0], Does.EndWith(",\"files\":["));
        Assert.That(lines[1], Is.EqualTo("{\"kind\":\"read\",\"path\":\"/src/app/f\\u00efl\\u00e9 \\u00fc \\u20ac.cs\",\"pid\":100,\"sha256\":\"" + new string('b', 64) + "\",\"time\":\"2026-12-07T03:04:05.000001Z\"},"));
        Assert.That(lines[2], Does.Contain("\"kind\":\"rename\"").And.Contain("\"renamedTo\":\"/src/b\""));
        Assert.That(text, Does.Contain("\n],\"network\":[\n{\"address\":\"::1\",\"family\":\"inet6\",\"operation\":\"connect\",\"pid\":100,\"port\":443,\"succeeded\":false,"));
        Assert.That(text, Does.EndWith("\n]}\n"));
    }

    [Test]
    public void An_empty_trace_has_empty_arrays()
    {
        var log = new TraceLog(new[] { "true" }, "/", T0, T0, 0, null, Array.Empty<TracedProcess>(), Array.Empty<TracedFileAccess>(), Array.Empty<TracedNetworkOperation>());
        var text = Encoding.UTF8.GetString(TraceLogJson.ToBytes(log));

        Assert.That(text, Does.EndWith(",\"files\":[],\"network\":[],\"processes\":[]}\n"));
        Assert.That(TraceLogJson.Read(Encoding.UTF8.GetBytes(text)).Files, Is.Empty);
    }

    [TestCase("\"format\":\"securebuild-trace/v1\"", "\"format\":\"securebuild-trace/v2\"", "format")]
    [TestCase("\"droppedEvents\":2,", "", "droppedEvents")]
    [TestCase("\"kind\":\"read\"", "\"kind\":\"READ\"", "unknown kind")]
    [TestCase("\"port\":443", "\"port\":\"443\"", "port")]
    [TestCase("\"start\":\"2026-12-07T03:04:05.000000Z\"", "\"start\":\"yesterday\"", "yesterday")]
    [TestCase("\"succeeded\":false", "\"succeeded\":null", "succeeded")]
    [TestCase("\"exitCode\":null,\"format\"", "\"exitCode\":1.5,\"format\"", "exitCode")]
    public void A_damaged_trace_is_rejected_with_the_reason(string find, string replace, string reason)
    {
        var text = Encoding.UTF8.GetString(TraceLogJson.ToBytes(Sample()));
        Assert.That(text, Does.Contain(find), "the mutation applies");
        var damaged = Encoding.UTF8.GetBytes(text.Replace(find, replace));

        var e = Assert.Throws<JsonFormatException>(() => TraceLogJson.Read(damaged));
        Assert.That(e!.Message, Does.Contain(reason));
    }

    [Test]
    public void Truncated_or_non_json_input_is_rejected()
    {
        var bytes = TraceLogJson.ToBytes(Sample());
        for (int cut = 0; cut < bytes.Length - 2; cut += 37)
        {
            Assert.Throws<JsonFormatException>(() => TraceLogJson.Read(bytes.Take(cut).ToArray()), $"cut at {cut}");
        }

        Assert.Throws<JsonFormatException>(() => TraceLogJson.Read(Encoding.UTF8.GetBytes("[]")));
    }
}

using System.Text;
using SecureBuild.Cli.Tracing;
using SecureBuild.Core.Tracing;

namespace SecureBuild.Tracing.Tests;

/// <summary>
/// The trace logger's log (what `securebuild trace` attributes from when the command has no -bl): the reader's
/// handling of every malformed or incomplete log, the compiler inputs read from a command line, which commands get
/// MSBuild's task inputs, and a real traced build whose output folder has spaces, a comma, a semicolon and non-ASCII.
/// </summary>
public class AttributionLogTests
{
    private const string Header = "{\"e\":\"format\",\"format\":\"securebuild-trace-attribution/1\"}\n";
    private static readonly long T0 = new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero).Ticks;
    private string _dir = "";

    [SetUp]
    public void Create() => _dir = Directory.CreateTempSubdirectory("sb-attribution-").FullName;

    [TearDown]
    public void Delete() => Directory.Delete(_dir, recursive: true);

    private string Write(string text)
    {
        string path = Path.Combine(_dir, "build.attribution.jsonl");
        File.WriteAllText(path, text, new UTF8Encoding(false));
        return path;
    }

    private static string Ids(int task) => $"\"node\":1,\"projectContext\":2,\"targetId\":3,\"taskId\":{task}";

    private static string Complete(string extra = "") =>
        Header
        + $"{{\"e\":\"target\",{Ids(-1)},\"name\":\"Steal\",\"file\":\"/p/packages/evil.ssh/1.0.0/build/evil.ssh.targets\"}}\n"
        + $"{{\"e\":\"task\",{Ids(7)},\"name\":\"Exec\",\"project\":\"/src/App/App.csproj\",\"time\":{T0}}}\n"
        + $"{{\"e\":\"command\",{Ids(7)},\"text\":\"curl http://127.0.0.1:9\"}}\n"
        + $"{{\"e\":\"inputs\",{Ids(7)},\"items\":[\"in.txt\",\"/abs/\\u00e9 x.txt\"]}}\n"
        + $"{{\"e\":\"end\",{Ids(7)},\"time\":{T0 + TimeSpan.TicksPerSecond}}}\n"
        + "{\"e\":\"folders\",\"value\":\"/p/packages/;/other/\"}\n"
        + $"{{\"e\":\"evaluation\",\"node\":1,\"evaluationId\":4,\"time\":{T0 - 5 * TimeSpan.TicksPerSecond}}}\n"
        + $"{{\"e\":\"evaluated\",\"node\":1,\"evaluationId\":4,\"time\":{T0 - TimeSpan.TicksPerSecond}}}\n"
        + extra;

    [Test]
    public void A_complete_log_gives_every_task_with_its_target_file_command_lines_inputs_and_the_package()
    {
        var read = AttributionLogReader.Read(Write(Complete("{\"e\":\"done\"}\n")));

        Assert.That(read.Warning, Is.Null);
        var task = read.Timeline.Tasks.Single();
        Assert.That((task.NodeId, task.Project, task.Target, task.Task), Is.EqualTo((1, "/src/App/App.csproj", "Steal", "Exec")));
        Assert.That((task.Start.Ticks, task.End.Ticks), Is.EqualTo((T0, T0 + TimeSpan.TicksPerSecond)));
        Assert.That(task.CommandLines, Is.EqualTo(new[] { "curl http://127.0.0.1:9" }));
        Assert.That(task.DeclaredInputs, Is.EqualTo(new[] { "/src/App/in.txt", "/abs/\u00e9 x.txt" }), "relative inputs are the project's");
        Assert.That(read.Timeline.PackageFolders, Is.EqualTo(new[] { "/p/packages", "/other" }));
        Assert.That(read.Timeline.PackageOf(task), Is.EqualTo(new NuGetPackageIdentity("evil.ssh", "1.0.0")));
        var evaluation = read.Timeline.Evaluations.Single();
        Assert.That((evaluation.NodeId, evaluation.Start.Ticks, evaluation.End.Ticks), Is.EqualTo((1, T0 - 5 * TimeSpan.TicksPerSecond, T0 - TimeSpan.TicksPerSecond)));
    }

    [Test]
    public void An_evaluation_still_open_when_the_log_ends_lasts_to_the_end_and_a_record_without_its_id_is_refused()
    {
        string open = $"{{\"e\":\"evaluation\",\"node\":2,\"evaluationId\":9,\"time\":{T0 + 10}}}\n";
        var read = AttributionLogReader.Read(Write(Complete(open)));
        Assert.That(read.Timeline.Evaluations.Select(e => (e.NodeId, e.End.Ticks)), Is.EqualTo(new[] { (1, T0 - TimeSpan.TicksPerSecond), (2, T0 + TimeSpan.TicksPerSecond) }));

        var bad = Assert.Throws<AttributionLogException>(() => AttributionLogReader.Read(Write(Complete($"{{\"e\":\"evaluated\",\"node\":2,\"time\":{T0}}}\n"))));
        Assert.That(bad!.Message, Does.StartWith("SB4233").And.Contain("evaluationId"));
    }

    [Test]
    public void A_log_that_ends_early_is_read_up_to_its_end_with_SB4234_and_an_open_task_lasts_to_the_end()
    {
        string open = $"{{\"e\":\"task\",{Ids(8)},\"name\":\"Csc\",\"project\":\"/src/App/App.csproj\",\"time\":{T0 + 10}}}\n";
        // The build was killed: no "done", and the last line was cut off in the middle.
        var read = AttributionLogReader.Read(Write(Complete(open + "{\"e\":\"end\",\"no")));

        Assert.That(read.Warning, Does.StartWith("SB4234: the attribution log ").And.Contain("ends early"));
        Assert.That(read.Timeline.Tasks.Select(t => t.Task), Is.EqualTo(new[] { "Exec", "Csc" }));
        Assert.That(read.Timeline.Tasks[1].End.Ticks, Is.EqualTo(T0 + TimeSpan.TicksPerSecond), "still running when the log ended");
    }

    [TestCase("", "it is empty")]
    [TestCase("{\"e\":\"format\",\"format\":\"securebuild-trace-attribution/2\"}\n", "does not name the format")]
    [TestCase("{\"e\":\"task\"}\n", "does not name the format")]
    [TestCase("not json\n", "line 1")]
    [TestCase(Header + "{\"e\":\"task\",\"node\":1}\n", "line 2")]
    [TestCase(Header + "{\"e\":\"end\",\"node\":\"one\",\"projectContext\":2,\"targetId\":3,\"taskId\":4,\"time\":1}\n", "\"node\" is not an integer")]
    [TestCase(Header + "{\"e\":\"end\",\"node\":1,\"projectContext\":2,\"targetId\":3,\"taskId\":4,\"time\":-1}\n", "line 2")]
    [TestCase(Header + "{\"e\":\"inputs\",\"node\":1,\"projectContext\":2,\"targetId\":3,\"taskId\":4,\"items\":[1]}\n", "not a string")]
    [TestCase(Header + "{\"e\":\"surprise\"}\n", "unknown record \"surprise\"")]
    [TestCase(Header + "[1,2]\n", "not a JSON object")]
    public void A_log_that_is_not_the_loggers_is_SB4233_naming_the_cause(string text, string cause)
    {
        string path = Write(text);
        var e = Assert.Throws<AttributionLogException>(() => AttributionLogReader.Read(path))!;
        Assert.That(e.Message, Does.StartWith($"SB4233: cannot read the attribution log {path}: ").And.Contain(cause));
    }

    [Test]
    public void A_line_that_is_not_UTF8_is_SB4233_naming_the_line_not_read_with_replacement_characters()
    {
        string path = Path.Combine(_dir, "build.attribution.jsonl");
        var bytes = new UTF8Encoding(false).GetBytes(Header + $"{{\"e\":\"task\",{Ids(7)},\"name\":\"Exec\",\"project\":\"/src/A\xff.csproj\",\"time\":{T0}}}\n").ToList();
        int at = bytes.IndexOf((byte)0xC3); // the UTF-8 of U+00FF: 0xC3 0xBF; a lone 0xFF is never UTF-8
        bytes.RemoveAt(at);
        bytes[at] = 0xFF;
        File.WriteAllBytes(path, bytes.ToArray());

        var e = Assert.Throws<AttributionLogException>(() => AttributionLogReader.Read(path))!;
        Assert.That(e.Message, Does.StartWith($"SB4233: cannot read the attribution log {path}: line 2"));
    }

    private static string Describe(AttributionLogReader.Result read) =>
        string.Join("\n", read.Timeline.Tasks.Select(t => $"{t.NodeId} {t.Project} {t.Target} {t.Task} {t.Start.Ticks} {t.End.Ticks} [{string.Join(",", t.CommandLines)}] [{string.Join(",", t.DeclaredInputs)}] {read.Timeline.PackageOf(t)}")
            .Concat(read.Timeline.Evaluations.Select(e => $"eval {e.NodeId} {e.Start.Ticks} {e.End.Ticks}"))
            .Concat(read.Timeline.PackageFolders)) + "\nwarning " + read.Warning;

    [Test]
    public void Followed_while_it_is_written_in_pieces_the_log_gives_what_reading_it_afterwards_gives()
    {
        string text = Complete($"{{\"e\":\"task\",{Ids(8)},\"name\":\"Csc\",\"project\":\"/src/App/App.csproj\",\"time\":{T0 + 10}}}\n") + $"{{\"e\":\"end\",{Ids(8)},\"time\":{T0 + 20}}}\n" + "{\"e\":\"done\"}\n";
        byte[] all = new UTF8Encoding(false).GetBytes(text);
        string path = Path.Combine(_dir, "build.attribution.jsonl");
        var tail = new AttributionLogTail(path);
        tail.ReadAvailable(); // not there yet: nothing, no error
        using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read))
        {
            // Cut anywhere, also inside a line and inside a multi-byte character: the tail keeps the unfinished line.
            foreach (int cut in new[] { 5, Header.Length, Header.Length + 40, 300, 301, all.Length - 3, all.Length })
            {
                file.Write(all, (int)file.Position, cut - (int)file.Position);
                file.Flush();
                tail.ReadAvailable();
            }
        }
        Assert.That(tail.BytesRead, Is.EqualTo(all.Length), "every complete line was taken while it was written");

        Assert.That(Describe(tail.Finish()), Is.EqualTo(Describe(AttributionLogReader.Read(path))));
        Assert.That(tail.Finish().Timeline.Tasks.Select(t => t.Task), Is.EqualTo(new[] { "Exec", "Csc" }));
    }

    [Test]
    public void A_log_replaced_or_cut_short_after_it_was_followed_is_read_again_from_its_start()
    {
        string path = Write(Complete());
        var tail = new AttributionLogTail(path);
        tail.ReadAvailable();
        Assert.That(tail.BytesRead, Is.GreaterThan(0));
        string replacement = Header + $"{{\"e\":\"task\",{Ids(9)},\"name\":\"Other\",\"project\":\"/src/B/B.csproj\",\"time\":{T0}}}\n" + "{\"e\":\"done\"}\n";
        File.Delete(path);
        Write(replacement); // another inode, shorter
        Assert.That(Describe(tail.Finish()), Is.EqualTo(Describe(AttributionLogReader.Read(path))));
        Assert.That(tail.Finish().Timeline.Tasks.Single().Task, Is.EqualTo("Other"));

        var cut = new AttributionLogTail(Write(Complete()));
        cut.ReadAvailable();
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Write))
        {
            file.SetLength(Header.Length); // same file, cut short
        }
        var again = cut.Finish();
        Assert.That(again.Timeline.Tasks, Is.Empty, "read again: only the format line is left");
        Assert.That(again.Warning, Does.StartWith("SB4234"));
    }

    [Test]
    public void A_FIFO_in_the_logs_place_is_SB4233_and_never_blocks_the_reader()
    {
        string path = Path.Combine(_dir, "build.attribution.jsonl");
        Assert.That(MkFifo(path, Convert.ToInt32("600", 8)), Is.EqualTo(0), "mkfifo");
        var tail = new AttributionLogTail(path);
        tail.ReadAvailable();
        var e = Assert.Throws<AttributionLogException>(() => tail.Finish())!;
        Assert.That(e.Message, Does.StartWith($"SB4233: cannot read the attribution log {path}: ").And.Contain("SB1700"));
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo(string path, int mode);

    [Test]
    public void A_log_that_was_never_written_is_SB4233_saying_so()
    {
        var e = Assert.Throws<AttributionLogException>(() => AttributionLogReader.Read(Path.Combine(_dir, "none.jsonl")))!;
        Assert.That(e.Message, Does.StartWith("SB4233: ").And.Contain("it was not written (MSBuild built nothing"));
    }

    [Test]
    public void The_compilers_inputs_are_the_files_its_command_line_names()
    {
        const string line = "/usr/share/dotnet/sdk/10.0.401/Roslyn/bincore/csc /noconfig /unsafe- /nowarn:1701,1702 /define:TRACE;DEBUG "
            + "/reference:/p/newtonsoft.json/13.0.3/lib/net6.0/Newtonsoft.Json.dll /reference:Alias=/p/x/1.0.0/lib/x.dll "
            + "/analyzer:\"/p/evil generator/1.0.0/analyzers/dotnet/cs/Evil.dll\" /additionalfile:notes/a.txt /resource:res/r.resx,App.r.resources "
            + "Program.cs \"obj/Debug/net10.0/.NETCoreApp,Version=v10.0.AssemblyAttributes.cs\" /tmp/abs/Shared.cs -r:/fsharp/ref.dll /warnaserror+:NU1605";

        var paths = BuildTimelineBuilder.CommandLinePaths(line).ToList();

        Assert.That(paths, Is.SupersetOf(new[]
        {
            "/usr/share/dotnet/sdk/10.0.401/Roslyn/bincore/csc", "/p/newtonsoft.json/13.0.3/lib/net6.0/Newtonsoft.Json.dll", "/p/x/1.0.0/lib/x.dll",
            "/p/evil generator/1.0.0/analyzers/dotnet/cs/Evil.dll", "notes/a.txt", "res/r.resx", "Program.cs",
            "obj/Debug/net10.0/.NETCoreApp,Version=v10.0.AssemblyAttributes.cs", "/tmp/abs/Shared.cs", "/fsharp/ref.dll",
        }));
        Assert.That(paths, Has.None.StartsWith("/noconfig").And.None.StartsWith("/unsafe").And.None.StartsWith("/reference"));

        // Only when MSBuild logged no inputs for the compiler (the logger without task inputs); then rooted at the project.
        var timeline = new BuildTimelineBuilder();
        var ids = new BuildEventIds(1, 2, 3, 4);
        timeline.TaskStarted(ids, "/src/App/App.csproj", "Csc", DateTimeOffset.UnixEpoch);
        timeline.CommandLine(ids, line);
        timeline.TaskFinished(ids, DateTimeOffset.UnixEpoch.AddSeconds(1));
        Assert.That(timeline.Build().Tasks.Single().DeclaredInputs, Is.SupersetOf(new[] { "/src/App/Program.cs", "/src/App/notes/a.txt", "/p/evil generator/1.0.0/analyzers/dotnet/cs/Evil.dll" }));

        var logged = new BuildTimelineBuilder();
        logged.TaskStarted(ids, "/src/App/App.csproj", "Csc", DateTimeOffset.UnixEpoch);
        logged.CommandLine(ids, line);
        logged.Inputs(ids, new[] { "Program.cs" });
        logged.TaskFinished(ids, DateTimeOffset.UnixEpoch.AddSeconds(1));
        Assert.That(logged.Build().Tasks.Single().DeclaredInputs, Is.EqualTo(new[] { "/src/App/Program.cs" }), "logged inputs are taken as they are");
    }

    [TestCase(new[] { "dotnet", "build", "App.csproj" }, false)]
    [TestCase(new[] { "dotnet", "test" }, false)]
    [TestCase(new[] { "dotnet", "pack" }, true)]
    [TestCase(new[] { "dotnet", "publish", "-c", "Release" }, true)]
    [TestCase(new[] { "dotnet", "msbuild", "-t:Restore;Pack" }, true)]
    [TestCase(new[] { "dotnet", "build", "/target:Publish" }, true)]
    [TestCase(new[] { "dotnet", "build", "-p:GeneratePackageOnBuild=true" }, true)]
    public void Task_inputs_are_asked_for_only_when_the_command_packs_or_publishes(string[] command, bool expected)
    {
        Assert.That(TraceVerbOptions.NeedsTaskInputs(command), Is.EqualTo(expected));
        string argument = TraceVerbOptions.WithAttributionLog(command, _dir, "build", TextWriter.Null).Last();
        Assert.That(argument, Does.StartWith("-logger:SecureBuild.TraceLogger.AttributionLogger,\""));
        Assert.That(argument.Contains(";\"v=diag;", StringComparison.Ordinal), Is.EqualTo(expected));
    }

    [Test]
    public void A_command_with_its_own_binary_log_is_left_alone_and_another_command_gets_nothing()
    {
        var withLog = new[] { "dotnet", "build", "-bl:mine.binlog" };
        Assert.That(TraceVerbOptions.WithAttributionLog(withLog, _dir, "build", TextWriter.Null), Is.EqualTo(withLog));
        var other = new[] { "make", "all" };
        Assert.That(TraceVerbOptions.WithAttributionLog(other, _dir, "build", TextWriter.Null), Is.EqualTo(other));
    }

    [Test]
    public void A_traced_build_is_attributed_through_the_logger_with_an_output_folder_named_with_spaces_a_comma_a_semicolon_and_non_ascii()
    {
        string project = Path.Combine(_dir, "tiny");
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "tiny.csproj"), "<Project Sdk=\"Microsoft.NET.Sdk\"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>");
        File.WriteAllText(Path.Combine(project, "One.cs"), "namespace Tiny; public static class One { public static int Value => 1; }\n");
        string outDir = Path.Combine(_dir, "trace out, ä;b");
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        int exit = SecureBuild.Cli.CliApplication.Run(new[] { "trace", "--audit", "--out", outDir, "--", "dotnet", "build", Path.Combine(project, "tiny.csproj"), "-m:1" }, stdout, stderr);

        Assert.That(exit, Is.EqualTo(0), stderr.ToString());
        Assert.That(File.Exists(Path.Combine(outDir, "build.attribution.jsonl")), Is.True);
        Assert.That(stderr.ToString(), Does.Not.Contain("SB4233").And.Not.Contain("SB4234").And.Not.Contain("SB4235"));
        Assert.That(stdout.ToString(), Does.Match(@"[1-9][0-9]* of [0-9]+ processes attributed to MSBuild \([0-9]+ nodes, [1-9][0-9]* tasks"));
        var read = AttributionLogReader.Read(Path.Combine(outDir, "build.attribution.jsonl"));
        Assert.That(read.Warning, Is.Null);
        var csc = read.Timeline.Tasks.Single(t => t.Task == "Csc");
        Assert.That(csc.DeclaredInputs, Does.Contain(Path.Combine(project, "One.cs")));
        Assert.That(csc.Target, Is.EqualTo("CoreCompile"));
    }
}

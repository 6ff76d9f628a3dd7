using System.Diagnostics;
using System.Globalization;
using SecureBuild.Core.Json;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Provenance;

namespace SecureBuild.Core.Tests;

/// <summary>
/// Issue #14, reuse detection: a build is on a fresh worker only when its obj/ holds nothing from before it started,
/// no package it restored was in the cache before it, and no MSBuild node or compiler server of its user predates it.
/// The process table is a folder laid out like /proc, so each case is exact; one test reads this machine's /proc.
/// </summary>
public sealed class WorkerFreshnessTests
{
    private const int Entry = 4000;

    private string _root = null!;
    private string _proc = null!;
    private string _workspace = null!;
    private string _package = null!;

    [SetUp]
    public void SetUp()
    {
        _root = TestData.NewTempDir("sbfresh");
        _proc = Path.Combine(_root, "proc");
        _workspace = Path.Combine(_root, "obj");
        _package = Path.Combine(_root, "packages", "some.package", "1.0.0");
        Directory.CreateDirectory(_proc);
        Directory.CreateDirectory(_workspace);
        Directory.CreateDirectory(_package);
        // Booted 100 s ago; the build's entry process (dotnet build) started 10 s after boot, 90 s ago.
        File.WriteAllText(Path.Combine(_proc, "uptime"), "100.00 180.00\n");
        AddProcess(1, 0, 1, "0", "/sbin/init");
        AddProcess(Entry, 1, 1000, "0", "/usr/share/dotnet/dotnet", "build", "-c", "Release");
        File.WriteAllText(Path.Combine(_workspace, "project.assets.json"), "{}");
        File.WriteAllText(Path.Combine(_package, ".nupkg.metadata"), "{}");
    }

    [TearDown]
    public void TearDown() => TestData.TryDelete(_root);

    [Test]
    public void A_build_whose_nodes_and_compiler_server_it_started_itself_in_an_empty_workspace_is_fresh()
    {
        AddProcess(4100, Entry, 1100, "0", "/usr/share/dotnet/dotnet", "/usr/share/dotnet/sdk/10.0.100/MSBuild.dll", "-nodemode:1", "-nodeReuse:false");
        AddProcess(4200, 4100, 1200, "0", "/usr/share/dotnet/dotnet", "exec", "/usr/share/dotnet/sdk/10.0.100/Roslyn/bincore/VBCSCompiler.dll", "-pipename:x");

        var freshness = Describe(self: 4100);

        Assert.That(Text(freshness), Is.EqualTo("{\"leftoverProcesses\":{},\"nugetCache\":\"fresh\",\"workspace\":\"fresh\"}"));
        Assert.That(WorkerFreshness.IsFresh(freshness), Is.True);
        Assert.That(WorkerFreshness.ReusedParts(Predicate(freshness)), Is.Empty);
    }

    [Test]
    public void Leftover_obj_files_cached_packages_and_older_servers_of_the_same_user_are_each_named()
    {
        var hourAgo = DateTime.UtcNow.AddHours(-1);
        File.SetLastWriteTimeUtc(Path.Combine(_workspace, "project.assets.json"), hourAgo);
        File.SetLastWriteTimeUtc(Path.Combine(_package, ".nupkg.metadata"), hourAgo);
        AddProcess(300, 1, 300, "0", "dotnet", "/sdk/MSBuild.dll", "/nodemode:1", "/nodeReuse:true");
        AddProcess(310, 1, 310, "0", "dotnet", "/sdk/MSBuild.dll", "/nodemode:8"); // the MSBuild server
        AddProcess(320, 1, 320, "0", "dotnet", "exec", "/sdk/Roslyn/bincore/VBCSCompiler.dll", "-pipename:y");
        AddProcess(330, 1, 330, "1001", "dotnet", "exec", "/sdk/Roslyn/bincore/VBCSCompiler.dll"); // another user's: it cannot serve this build
        AddProcess(340, 1, 340, "0", "dotnet", "test"); // neither a node nor a server

        var freshness = Describe(self: Entry);

        Assert.That(Text(freshness), Is.EqualTo(
            "{\"leftoverProcesses\":{\"compiler-server\":1,\"msbuild-node\":2},\"nugetCache\":\"reused\",\"workspace\":\"reused\"}"));
        Assert.That(WorkerFreshness.IsFresh(freshness), Is.False);
        Assert.That(WorkerFreshness.ReusedParts(Predicate(freshness)), Is.EqualTo(new[]
        {
            "workspace reused", "nugetCache reused", "leftover compiler-server", "leftover msbuild-node",
        }));
    }

    [Test]
    public void A_build_that_ran_in_a_node_left_by_an_earlier_build_says_so()
    {
        // A reused node's parent is init: the build that started it is gone.
        AddProcess(200, 1, 200, "0", "dotnet", "/sdk/MSBuild.dll", "-nodemode:1", "-nodeReuse:true");

        var freshness = Describe(self: 200);

        Assert.That(freshness.ContainsKey("thisNodeReused"), Is.True, Text(freshness));
        Assert.That(WorkerFreshness.IsFresh(freshness), Is.False);
        Assert.That(WorkerFreshness.ReusedParts(Predicate(freshness)), Does.Contain("build ran in a reused MSBuild node"));
    }

    [Test]
    public void Without_a_process_table_nothing_is_known_and_the_worker_is_not_called_fresh()
    {
        var freshness = WorkerFreshness.Describe(null, _workspace, new[] { _package });

        Assert.That(Text(freshness), Is.EqualTo("{\"leftoverProcesses\":\"unknown\",\"nugetCache\":\"unknown\",\"workspace\":\"unknown\"}"));
        Assert.That(WorkerFreshness.IsFresh(freshness), Is.False);
        Assert.That(WorkerFreshness.ReusedParts(Predicate(freshness)), Is.EqualTo(new[] { "workspace unknown", "nugetCache unknown", "leftoverProcesses unknown" }));
        Assert.That(WorkerFreshness.ReusedParts(new JsonMap()), Is.Null, "a provenance without freshness says nothing");
    }

    [Test]
    public void This_machines_proc_gives_this_process_its_command_line_and_start_time()
    {
        if (ProcessTable.Current() is not { } table)
        {
            Assert.That(OperatingSystem.IsLinux(), Is.False, "Linux has /proc");
            return;
        }

        var self = table.Processes[table.Self];
        using var process = Process.GetCurrentProcess();
        Assert.That(self.Arguments, Is.Not.Empty);
        Assert.That(table.StartTime(self).UtcDateTime, Is.EqualTo(process.StartTime.ToUniversalTime()).Within(TimeSpan.FromSeconds(2)));
        Assert.That(table.AncestorsAndSelf(table.Self).First().Pid, Is.EqualTo(table.Self));
    }

    private JsonMap Describe(int self) =>
        WorkerFreshness.Describe(ProcessTable.Read(_proc, self, DateTimeOffset.UtcNow), _workspace, new[] { _package });

    private static JsonMap Predicate(JsonMap freshness) =>
        new() { ["buildDefinition"] = new JsonMap { ["internalParameters"] = new JsonMap { ["worker"] = new JsonMap { ["freshness"] = freshness } } } };

    private static string Text(JsonMap map) => System.Text.Encoding.UTF8.GetString(CanonicalJson.Serialize(map));

    private void AddProcess(int pid, int parent, ulong startTicks, string uid, params string[] arguments)
    {
        var directory = Path.Combine(_proc, pid.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(directory);
        // Fields 3..22 of /proc/PID/stat; the comm holds a space and a parenthesis, as real ones may.
        File.WriteAllText(Path.Combine(directory, "stat"),
            $"{pid} (my (proc) x) S {parent} {pid} {pid} 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 {startTicks} 1000 100 18446744073709551615\n");
        File.WriteAllText(Path.Combine(directory, "cmdline"), string.Join("\0", arguments) + "\0");
        File.WriteAllText(Path.Combine(directory, "status"), $"Name:\tx\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\n");
    }
}

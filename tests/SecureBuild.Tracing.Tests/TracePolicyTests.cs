using System.Text;
using SecureBuild.Core.Tracing;

namespace SecureBuild.Tracing.Tests;

/// <summary>The policy on TraceLogs built by hand: each rule, attribution through the timeline, strict parsing.</summary>
public class TracePolicyTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 4, 0, 0, TimeSpan.Zero);
    private const string Project = "/src/repo/App/App.csproj";
    private const string Packages = "/home/dev/.nuget/packages";

    private static TracePolicyContext Context(IReadOnlyList<string>? secureBuildState = null, string repository = "/src/repo") => new()
    {
        SecureBuildStateDirectories = secureBuildState ?? Array.Empty<string>(),
        Home = "/home/dev",
        RepositoryDirectory = repository,
        ProjectDirectories = new[] { repository.TrimEnd('/') + "/App" },
        ArtifactsDirectory = repository.TrimEnd('/') + "/artifacts",
        TempDirectories = new[] { "/tmp" },
        NuGetPackageFolders = new[] { Packages },
        DotnetRoots = new[] { "/usr/share/dotnet" },
        PackageSourceHosts = new[] { "api.nuget.org" },
        Resolve = host => host == "api.nuget.org" ? new[] { "192.0.2.10" } : Array.Empty<string>(),
    };

    private static TracedProcess Proc(int pid, int ppid, string exe, double startSeconds, params string[] args) =>
        new(pid, ppid, exe, null, new[] { exe }.Concat(args).ToList(), "/src/repo/App", T0.AddSeconds(startSeconds), T0.AddSeconds(30), 0, null);

    /// <summary>dotnet build (node 1, pid 100) runs Restore, then an evil package's target with Exec (sh, pid 200, starts curl 201), then Csc.</summary>
    private static (TraceLog Log, BuildTimeline Timeline) Build(IEnumerable<TracedFileAccess>? files = null, IEnumerable<TracedNetworkOperation>? network = null)
    {
        var processes = new[]
        {
            Proc(100, 0, "/usr/share/dotnet/dotnet", 0, "build"),
            Proc(200, 100, "/bin/sh", 5.1, "/tmp/MSBuildTemp/tmp1.exec.cmd"),
            Proc(201, 200, "/usr/bin/curl", 5.2, "http://127.0.0.1:4711/"),
        };
        var log = new TraceLog(new[] { "dotnet", "build" }, "/src/repo/App", T0, T0.AddSeconds(30), 0, null, processes,
            (files ?? Array.Empty<TracedFileAccess>()).ToList(), (network ?? Array.Empty<TracedNetworkOperation>()).ToList());
        var targets = $"{Packages}/evil.build/1.0.0/build/Evil.Build.targets";
        var timeline = new BuildTimeline(new[]
        {
            new TaskExecution(1, Project, "Restore", "RestoreTask", T0.AddSeconds(1), T0.AddSeconds(3), "/usr/share/dotnet/sdk/10.0.100/NuGet.targets", Array.Empty<string>(), Array.Empty<string>()),
            new TaskExecution(1, Project, "Steal", "Exec", T0.AddSeconds(5), T0.AddSeconds(6), targets, new[] { "curl http://127.0.0.1:4711/" }, Array.Empty<string>()),
            new TaskExecution(1, Project, "Sneak", "OpenSocket", T0.AddSeconds(7), T0.AddSeconds(8), targets, Array.Empty<string>(), Array.Empty<string>()),
            new TaskExecution(1, Project, "CoreCompile", "Csc", T0.AddSeconds(9), T0.AddSeconds(12), "/usr/share/dotnet/sdk/10.0.100/Roslyn/Microsoft.CSharp.Core.targets", Array.Empty<string>(), new[] { "/src/repo/App/Program.cs" }),
        }, new[] { Packages });
        return (log, timeline);
    }

    private static List<TraceFinding> Evaluate(TraceLog log, BuildTimeline timeline, TracePolicy? policy = null, TracePolicyContext? context = null)
    {
        var attribution = TraceAttributor.Attribute(log, timeline);
        return new TracePolicyEvaluator(policy ?? TracePolicy.Default, context ?? Context()).Evaluate(log, attribution);
    }

    [Test]
    public void A_curl_started_by_a_packages_Exec_is_flagged_and_attributed_to_the_task_and_package()
    {
        var (log, timeline) = Build(network: new[] { new TracedNetworkOperation(201, T0.AddSeconds(5.3), NetworkOperation.Connect, "inet", "127.0.0.1", 4711, true) });
        var findings = Evaluate(log, timeline);

        var network = findings.Single(f => f.Kind == TraceFindingKind.Network);
        Assert.That(network.Code, Is.EqualTo("SB4201"));
        Assert.That(network.Program, Is.EqualTo("/usr/bin/curl"));
        Assert.That(network.Activity.Task, Is.EqualTo("Exec"));
        Assert.That(network.Activity.Target, Is.EqualTo("Steal"));
        Assert.That(network.Activity.Package, Is.EqualTo(new NuGetPackageIdentity("evil.build", "1.0.0")));
        Assert.That(network.Phase, Is.EqualTo(TracePhase.Build));
        Assert.That(network.Describe(), Does.Contain("connect inet 127.0.0.1:4711 by /usr/bin/curl (pid 201) in App.csproj / Steal / Exec (package evil.build 1.0.0)"));
        // sh and curl are not on the allowlist: each is its own finding, attributed to the same Exec.
        Assert.That(findings.Where(f => f.Kind == TraceFindingKind.Process).Select(f => f.Program), Is.EquivalentTo(new[] { "/bin/sh", "/usr/bin/curl" }));
        Assert.That(findings.Where(f => f.Kind == TraceFindingKind.Process).All(f => f.Activity.Task == "Exec"));
    }

    [Test]
    public void An_in_process_socket_is_attributed_to_the_task_running_on_the_node_at_that_time()
    {
        var (log, timeline) = Build(network: new[] { new TracedNetworkOperation(100, T0.AddSeconds(7.5), NetworkOperation.Connect, "inet6", "::1", 4712, false) });
        var finding = Evaluate(log, timeline).Single(f => f.Kind == TraceFindingKind.Network);
        Assert.That(finding.Activity.Task, Is.EqualTo("OpenSocket"));
        Assert.That(finding.Activity.NodeId, Is.EqualTo(1));
        Assert.That(finding.Event, Is.EqualTo("connect inet6 [::1]:4712"));
    }

    [Test]
    public void Restore_may_reach_the_package_sources_and_dns_but_the_build_may_not()
    {
        var (log, timeline) = Build(network: new[]
        {
            new TracedNetworkOperation(100, T0.AddSeconds(2), NetworkOperation.Connect, "inet", "192.0.2.10", 443, true),
            new TracedNetworkOperation(100, T0.AddSeconds(2), NetworkOperation.SendTo, "inet", "192.0.2.53", 53, true),
            new TracedNetworkOperation(100, T0.AddSeconds(2.5), NetworkOperation.Connect, "inet", "198.51.100.7", 443, true),
            new TracedNetworkOperation(100, T0.AddSeconds(10), NetworkOperation.Connect, "inet", "192.0.2.10", 443, true),
            new TracedNetworkOperation(100, T0.AddSeconds(10), NetworkOperation.Connect, "unix", "/tmp/MSBuild100", 0, true),
            new TracedNetworkOperation(100, T0.AddSeconds(10), NetworkOperation.Connect, "unix", "/run/docker.sock", 0, true),
        });
        var findings = Evaluate(log, timeline).Where(f => f.Kind == TraceFindingKind.Network).Select(f => (f.Event, f.Phase)).ToList();
        Assert.That(findings, Is.EquivalentTo(new[]
        {
            ("connect inet 198.51.100.7:443", TracePhase.Restore),
            ("connect inet 192.0.2.10:443", TracePhase.Build),
            ("connect unix /run/docker.sock", TracePhase.Build),
        }));
    }

    [Test]
    public void The_sdk_resolvers_download_during_evaluation_is_sdk_resolve_which_may_reach_only_the_package_sources_and_write_the_packages_folder()
    {
        // Evaluation on node 1 from 0.2 s to 0.9 s, before the Restore task (1 s to 3 s); a worker node (pid 300)
        // evaluates from 3.5 s to 4.5 s, while node 1 runs no task.
        var (built, tasks) = Build(
            files: new[]
            {
                new TracedFileAccess(100, T0.AddSeconds(0.6), FileAccessKind.Write, $"{Packages}/securebuild.sdk/1.0.0/securebuild.sdk.1.0.0.nupkg", null),
                new TracedFileAccess(100, T0.AddSeconds(0.7), FileAccessKind.Write, "/src/repo/Lib/Injected.cs", null),
                new TracedFileAccess(100, T0.AddSeconds(4.6), FileAccessKind.Write, $"{Packages}/late/1.0.0/late.nupkg", null),
            },
            network: new[]
            {
                new TracedNetworkOperation(100, T0.AddSeconds(0.5), NetworkOperation.Connect, "inet", "192.0.2.10", 443, true),
                new TracedNetworkOperation(100, T0.AddSeconds(0.5), NetworkOperation.SendTo, "inet", "192.0.2.53", 53, true),
                new TracedNetworkOperation(100, T0.AddSeconds(0.8), NetworkOperation.Connect, "inet", "198.51.100.7", 443, true),
                new TracedNetworkOperation(100, T0.AddSeconds(4), NetworkOperation.Connect, "inet", "192.0.2.10", 443, true),
                new TracedNetworkOperation(100, T0.AddSeconds(4.7), NetworkOperation.Connect, "inet", "192.0.2.10", 443, true),
                new TracedNetworkOperation(201, T0.AddSeconds(5.3), NetworkOperation.Connect, "inet", "192.0.2.10", 443, true),
            });
        var log = built with { Processes = built.Processes.Append(Proc(300, 100, "/usr/share/dotnet/dotnet", 3.2, "exec", "MSBuild.dll", "-nodemode:1")).ToList() };
        var timeline = new BuildTimeline(tasks.Tasks, tasks.PackageFolders, new[]
        {
            new ProjectEvaluation(1, T0.AddSeconds(0.2), T0.AddSeconds(0.9)),
            new ProjectEvaluation(2, T0.AddSeconds(3.5), T0.AddSeconds(4.5)),
        });
        var attribution = TraceAttributor.Attribute(log, timeline);
        Assert.That(attribution.PhaseOf(100, T0.AddSeconds(0.5)), Is.EqualTo(TracePhase.SdkResolve));
        Assert.That(attribution.PhaseOf(100, T0.AddSeconds(4)), Is.EqualTo(TracePhase.SdkResolve), "the entry node resolves SDKs for a worker's evaluation");
        Assert.That(attribution.PhaseOf(201, T0.AddSeconds(5.3)), Is.EqualTo(TracePhase.Build), "a task's child is never the resolver");
        Assert.That(attribution.PhaseOf(100, T0.AddSeconds(4.7)), Is.EqualTo(TracePhase.Build), "no evaluation then");

        var findings = new TracePolicyEvaluator(TracePolicy.Default, Context()).Evaluate(log, attribution)
            .Where(f => f.Kind is TraceFindingKind.Network or TraceFindingKind.FileWrite).Select(f => (f.Event, f.Phase, f.Pid)).ToList();
        Assert.That(findings, Is.EquivalentTo(new[]
        {
            ("connect inet 198.51.100.7:443", TracePhase.SdkResolve, 100),
            ("write /src/repo/Lib/Injected.cs", TracePhase.SdkResolve, 100),
            ("write /home/dev/.nuget/packages/late/1.0.0/late.nupkg", TracePhase.Build, 100),
            ("connect inet 192.0.2.10:443", TracePhase.Build, 100),
            ("connect inet 192.0.2.10:443", TracePhase.Build, 201),
        }));
        var finding = new TracePolicyEvaluator(TracePolicy.Default, Context()).Evaluate(log, attribution).First(f => f.Phase == TracePhase.SdkResolve);
        Assert.That(finding.Describe(), Does.EndWith("during sdk-resolve."));
    }

    [Test]
    public void A_policy_file_that_sets_restores_network_sets_sdk_resolves_too_unless_it_names_sdk_resolve()
    {
        var restoreOnly = TracePolicy.Parse(Encoding.UTF8.GetBytes("{\"version\":1,\"network\":{\"restore\":[\"nuget.example\"]}}"), "p.json");
        Assert.That(restoreOnly.Network[TracePhase.SdkResolve], Is.EqualTo(new[] { "nuget.example" }));
        var both = TracePolicy.Parse(Encoding.UTF8.GetBytes("{\"version\":1,\"network\":{\"restore\":[\"nuget.example\"],\"sdk-resolve\":[\"@dns\"]}}"), "p.json");
        Assert.That(both.Network[TracePhase.SdkResolve], Is.EqualTo(new[] { "@dns" }));
        Assert.That(TracePolicy.Default.Network[TracePhase.SdkResolve], Is.EqualTo(TracePolicy.Default.Network[TracePhase.Restore]));
        Assert.That(TracePolicy.Default.ToJson().ContainsKey("network") && ((SecureBuild.Core.Json.JsonMap)TracePolicy.Default.ToJson()["network"]).ContainsKey("sdk-resolve"));
    }

    [Test]
    public void In_a_network_namespace_a_failed_connection_off_the_machine_is_no_finding_but_a_successful_or_loopback_one_is()
    {
        var (log, timeline) = Build(network: new[]
        {
            new TracedNetworkOperation(100, T0.AddSeconds(10), NetworkOperation.Connect, "inet", "192.0.2.53", 53, false),
            new TracedNetworkOperation(100, T0.AddSeconds(10), NetworkOperation.Connect, "inet", "198.51.100.7", 443, true),
            new TracedNetworkOperation(100, T0.AddSeconds(10), NetworkOperation.Connect, "inet", "127.0.0.1", 4711, false),
        });
        var attribution = TraceAttributor.Attribute(log, timeline);
        var isolated = Context();
        isolated = new TracePolicyContext
        {
            Home = isolated.Home, RepositoryDirectory = isolated.RepositoryDirectory, ProjectDirectories = isolated.ProjectDirectories,
            TempDirectories = isolated.TempDirectories, DotnetRoots = isolated.DotnetRoots, NetworkIsolated = true,
        };
        var findings = new TracePolicyEvaluator(TracePolicy.Default, isolated).Evaluate(log, attribution).Where(f => f.Kind == TraceFindingKind.Network).Select(f => f.Event);
        Assert.That(findings, Is.EquivalentTo(new[] { "connect inet 198.51.100.7:443", "connect inet 127.0.0.1:4711" }));
        var open = new TracePolicyEvaluator(TracePolicy.Default, Context()).Evaluate(log, attribution).Where(f => f.Kind == TraceFindingKind.Network);
        Assert.That(open.Count(), Is.EqualTo(3), "without the namespace every attempt counts");
    }

    [Test]
    public void Writes_outside_obj_bin_artifacts_and_temp_are_flagged_and_the_packages_folder_only_outside_restore()
    {
        var (log, timeline) = Build(files: new[]
        {
            new TracedFileAccess(100, T0.AddSeconds(2), FileAccessKind.Create, $"{Packages}/newtonsoft.json/13.0.3/lib/a.dll", "aa"),
            new TracedFileAccess(100, T0.AddSeconds(10), FileAccessKind.Write, "/src/repo/App/obj/Debug/App.dll", "bb"),
            new TracedFileAccess(100, T0.AddSeconds(10), FileAccessKind.Write, "/src/repo/App/bin/Debug/App.dll", "bb"),
            new TracedFileAccess(100, T0.AddSeconds(10), FileAccessKind.Write, "/tmp/x", "cc"),
            new TracedFileAccess(100, T0.AddSeconds(10), FileAccessKind.Write, "/dev/null", null),
            new TracedFileAccess(100, T0.AddSeconds(10), FileAccessKind.Write, "/proc/100/oom_score_adj", null),
            new TracedFileAccess(100, T0.AddSeconds(7.5), FileAccessKind.Write, "/src/repo/App/../Lib/Lib.cs", "dd"),
            new TracedFileAccess(100, T0.AddSeconds(10), FileAccessKind.Create, $"{Packages}/evil.build/1.0.0/planted", "ee"),
            new TracedFileAccess(100, T0.AddSeconds(10), FileAccessKind.Rename, "/src/repo/App/obj/a.tmp", null, "/src/repo/App/Program.cs"),
        });
        var findings = Evaluate(log, timeline).Where(f => f.Kind == TraceFindingKind.FileWrite).Select(f => f.Event).ToList();
        Assert.That(findings, Is.EquivalentTo(new[]
        {
            "write /src/repo/Lib/Lib.cs",
            $"create {Packages}/evil.build/1.0.0/planted",
            "rename /src/repo/App/obj/a.tmp -> /src/repo/App/Program.cs",
        }));
    }

    [TestCase("/tmp/checkout/repo", "/tmp/checkout/repo/App/Program.cs", true)]
    [TestCase("/tmp/checkout/repo", "/tmp/checkout/repo/App/obj/Debug/App.dll", false)]
    [TestCase("/tmp/checkout/repo", "/tmp/dotnet-diagnostic-100-1-socket", false)]
    [TestCase("/tmp", "/tmp/dotnet-diagnostic-100-1-socket", false)]
    [TestCase("/tmp", "/tmp/MSBuildTemp/tmp1.exec.cmd", false)]
    [TestCase("/tmp", "/tmp/App/Program.cs", true)]
    [TestCase("/tmp", "/tmp/App/obj/Debug/App.dll", false)]
    [TestCase("/", "/tmp/dotnet-diagnostic-100-1-socket", false)]
    [TestCase("/", "/opt/other/state.json", true)]
    public void A_repository_in_a_temp_folder_is_still_the_repository_but_a_temp_folder_run_in_is_not_one(string repository, string written, bool flagged)
    {
        // `securebuild trace` run in /tmp (no repository: the working directory stands for it) must not flag the runtime's
        // own diagnostics sockets there; a checkout or a project under /tmp keeps its sources protected.
        var (log, timeline) = Build(files: new[] { new TracedFileAccess(100, T0.AddSeconds(10), FileAccessKind.Delete, written, null) });
        var findings = Evaluate(log, timeline, context: Context(repository: repository))
            .Where(f => f.Kind == TraceFindingKind.FileWrite).Select(f => f.Event).ToList();
        Assert.That(findings, flagged ? Is.EqualTo(new[] { "delete " + written }) : Is.Empty);
    }

    [Test]
    public void The_sdks_own_verification_store_may_be_written_where_the_traced_commands_environment_puts_it()
    {
        var (log, timeline) = Build(files: new[]
        {
            new TracedFileAccess(100, T0.AddSeconds(10), FileAccessKind.Create, "/home/dev/.cache/securebuild/verified-folders/ab.entry", "aa"),
            new TracedFileAccess(100, T0.AddSeconds(10), FileAccessKind.Create, "/srv/cache/securebuild/verified-folders/cd.entry", "bb"),
            new TracedFileAccess(100, T0.AddSeconds(10), FileAccessKind.Write, "/home/dev/.cache/other/x", "cc"),
        });
        var attribution = TraceAttributor.Attribute(log, timeline);
        List<string> Writes(Dictionary<string, string> env)
        {
            var context = Context(SecureBuild.Cli.Tracing.TraceEnforcement.SecureBuildStateDirectories(env));
            return new TracePolicyEvaluator(TracePolicy.Default, context).Evaluate(log, attribution)
                .Where(f => f.Kind == TraceFindingKind.FileWrite).Select(f => f.Event).ToList();
        }

        Assert.That(Writes(new() { ["HOME"] = "/home/dev" }), Is.EquivalentTo(new[]
        {
            "create /srv/cache/securebuild/verified-folders/cd.entry",
            "write /home/dev/.cache/other/x",
        }));
        Assert.That(Writes(new() { ["HOME"] = "/home/dev", ["XDG_CACHE_HOME"] = "/srv/cache" }), Is.EquivalentTo(new[]
        {
            "create /home/dev/.cache/securebuild/verified-folders/ab.entry",
            "write /home/dev/.cache/other/x",
        }));
    }

    [Test]
    public void Reads_of_secrets_other_users_nuget_configs_and_other_processes_environments_are_flagged()
    {
        var (log, timeline) = Build(files: new[]
        {
            new TracedFileAccess(100, T0.AddSeconds(7.5), FileAccessKind.Read, "/home/dev/.ssh/id_ed25519", "aa"),
            new TracedFileAccess(100, T0.AddSeconds(7.5), FileAccessKind.Read, "/home/dev/.docker/config.json", "aa"),
            new TracedFileAccess(100, T0.AddSeconds(7.5), FileAccessKind.Read, "/home/dev/.docker/other.json", "aa"),
            new TracedFileAccess(100, T0.AddSeconds(2), FileAccessKind.Read, "/home/dev/.nuget/NuGet/NuGet.Config", "aa"),
            new TracedFileAccess(100, T0.AddSeconds(2), FileAccessKind.Read, "/home/ops/.nuget/NuGet/NuGet.Config", "aa"),
            new TracedFileAccess(100, T0.AddSeconds(2), FileAccessKind.Read, "/proc/100/environ", null),
            new TracedFileAccess(100, T0.AddSeconds(2), FileAccessKind.Read, "/proc/self/environ", null),
            new TracedFileAccess(100, T0.AddSeconds(2), FileAccessKind.Read, "/proc/4242/environ", null),
            new TracedFileAccess(100, T0.AddSeconds(2), FileAccessKind.Read, "/home/dev/.sshrc", "aa"),
        });
        var findings = Evaluate(log, timeline).Where(f => f.Kind == TraceFindingKind.SecretRead).ToList();
        Assert.That(findings.Select(f => f.Event), Is.EquivalentTo(new[]
        {
            "read /home/dev/.ssh/id_ed25519", "read /home/dev/.docker/config.json", "read /home/ops/.nuget/NuGet/NuGet.Config", "read /proc/4242/environ",
        }));
        Assert.That(findings.First(f => f.Event.Contains(".ssh")).Activity.Task, Is.EqualTo("OpenSocket"));
    }

    [Test]
    public void A_clean_build_has_no_finding()
    {
        var log = new TraceLog(new[] { "dotnet", "build" }, "/src/repo/App", T0, T0.AddSeconds(30), 0, null,
            new[] { Proc(100, 0, "/usr/share/dotnet/dotnet", 0, "build"), Proc(300, 100, "/usr/share/dotnet/dotnet", 9.5, "exec", "/usr/share/dotnet/sdk/10.0.100/Roslyn/bincore/csc.dll") },
            new[]
            {
                new TracedFileAccess(300, T0.AddSeconds(10), FileAccessKind.Read, "/src/repo/App/Program.cs", "aa"),
                new TracedFileAccess(300, T0.AddSeconds(10), FileAccessKind.Read, "/usr/share/dotnet/packs/Microsoft.NETCore.App.Ref/10.0.0/ref/net10.0/System.Runtime.dll", "aa"),
                new TracedFileAccess(300, T0.AddSeconds(11), FileAccessKind.Create, "/src/repo/App/obj/Debug/net10.0/App.dll", "bb"),
            },
            new[] { new TracedNetworkOperation(100, T0.AddSeconds(2), NetworkOperation.Connect, "inet", "192.0.2.10", 443, true) });
        var (_, timeline) = Build();
        var attribution = TraceAttributor.Attribute(log, timeline);
        Assert.That(new TracePolicyEvaluator(TracePolicy.Default, Context()).Evaluate(log, attribution), Is.Empty);
        Assert.That(new UndeclaredInputCheck(Context()).Check(log, attribution), Is.Empty);
        Assert.That(attribution.OfProcess(300).Task, Is.EqualTo("Csc"));
    }

    [Test]
    public void A_file_the_compiler_read_that_no_input_declares_is_an_undeclared_input()
    {
        var log = new TraceLog(new[] { "dotnet", "build" }, "/src/repo/App", T0, T0.AddSeconds(30), 0, null,
            new[] { Proc(100, 0, "/usr/share/dotnet/dotnet", 0, "build"), Proc(300, 100, "/usr/share/dotnet/dotnet", 9.5, "exec", "csc.dll") },
            new[]
            {
                new TracedFileAccess(300, T0.AddSeconds(10), FileAccessKind.Read, "/src/repo/App/Program.cs", "aa"),
                new TracedFileAccess(300, T0.AddSeconds(10), FileAccessKind.Read, "/src/repo/notes/secret.txt", "aa"),
                new TracedFileAccess(300, T0.AddSeconds(10), FileAccessKind.Read, "/tmp/csc.rsp", "aa"),
            },
            Array.Empty<TracedNetworkOperation>());
        var (_, timeline) = Build();
        var findings = new UndeclaredInputCheck(Context()).Check(log, TraceAttributor.Attribute(log, timeline));
        var finding = findings.Single();
        Assert.That(finding.Code, Is.EqualTo("SB4205"));
        Assert.That(finding.Event, Is.EqualTo("read /src/repo/notes/secret.txt (not an input of Csc)"));
        Assert.That(finding.Activity.Target, Is.EqualTo("CoreCompile"));
    }

    [Test]
    public void A_git_a_short_task_started_belongs_to_that_task_not_to_the_packer_starting_within_the_clock_slack()
    {
        // The commit-time task runs git for 6 ms; PackTask starts 4 ms after it ends, within the 20 ms slack of git's start.
        var commitTime = new TaskExecution(1, Project, "_SecureBuildDeterministicTimestamp", "CommitTime", T0.AddSeconds(5), T0.AddSeconds(5.008), "/sdk/SecureBuild.Reproducibility.targets", Array.Empty<string>(), Array.Empty<string>());
        var pack = new TaskExecution(1, Project, "GenerateNuspec", "PackTask", T0.AddSeconds(5.012), T0.AddSeconds(6), "/usr/share/dotnet/sdk/10.0.100/NuGet.Build.Tasks.Pack.targets", Array.Empty<string>(), new[] { "/src/repo/App/bin/Release/net10.0/App.dll" });
        var timeline = new BuildTimeline(new[] { commitTime, pack }, new[] { Packages });
        var log = new TraceLog(new[] { "dotnet", "pack" }, "/src/repo/App", T0, T0.AddSeconds(30), 0, null,
            new[] { Proc(100, 0, "/usr/share/dotnet/dotnet", 0, "pack"), Proc(400, 100, "/usr/bin/git", 5.001, "log", "-1", "--format=%ct") },
            new[]
            {
                new TracedFileAccess(400, T0.AddSeconds(5.002), FileAccessKind.Read, "/src/repo/.git/HEAD", "aa"),
                new TracedFileAccess(400, T0.AddSeconds(5.003), FileAccessKind.Read, "/home/dev/.gitconfig", "bb"),
                new TracedFileAccess(100, T0.AddSeconds(5.5), FileAccessKind.Read, "/src/repo/notes/secret.txt", "cc"),
            },
            Array.Empty<TracedNetworkOperation>());
        var attribution = TraceAttributor.Attribute(log, timeline);
        Assert.That(attribution.OfProcess(400).Task, Is.EqualTo("CommitTime"));
        var findings = new UndeclaredInputCheck(Context()).Check(log, attribution);
        Assert.That(findings.Select(f => f.Event), Is.EqualTo(new[] { "read /src/repo/notes/secret.txt (not an input of PackTask)" }), "the packer's own reads are still judged");
    }

    [Test]
    public void A_policy_file_replaces_the_sections_it_names()
    {
        var policy = TracePolicy.Parse(Encoding.UTF8.GetBytes("""
            { "version": 1, "network": { "build": ["127.0.0.1:4711"] }, "processes": ["@dotnet", "curl", "/bin/"] }
            """), "p.json");
        var (log, timeline) = Build(network: new[] { new TracedNetworkOperation(201, T0.AddSeconds(5.3), NetworkOperation.Connect, "inet", "127.0.0.1", 4711, true) });
        Assert.That(Evaluate(log, timeline, policy), Is.Empty);
        Assert.That(policy.SecretReads, Is.EqualTo(TracePolicy.Default.SecretReads));
        Assert.That(policy.Network[TracePhase.Restore], Is.EqualTo(TracePolicy.Default.Network[TracePhase.Restore]));
    }

    [Test]
    public void The_default_policy_round_trips_through_its_json()
    {
        var json = SecureBuild.Core.Json.JsonText.WriteUtf8(TracePolicy.Default.ToJson());
        var parsed = TracePolicy.Parse(json, "default");
        Assert.That(SecureBuild.Core.Json.JsonText.Write(parsed.ToJson()), Is.EqualTo(SecureBuild.Core.Json.JsonText.Write(TracePolicy.Default.ToJson())));
    }

    [Test]
    public void The_trace_verb_prints_the_default_policy_as_a_file_to_start_from_and_refuses_a_bad_one_before_running()
    {
        var stdout = new StringWriter();
        Assert.That(SecureBuild.Cli.CliApplication.Run(new[] { "trace", "--print-policy" }, stdout, TextWriter.Null), Is.EqualTo(0));
        var printed = TracePolicy.Parse(Encoding.UTF8.GetBytes(stdout.ToString()), "printed");
        Assert.That(printed.Processes, Is.EqualTo(TracePolicy.Default.Processes));

        string bad = Path.Combine(Path.GetTempPath(), $"sb-policy-{Guid.NewGuid():N}.json");
        File.WriteAllText(bad, "{\"version\": 1, \"network\": {\"compile\": []}}");
        try
        {
            var stderr = new StringWriter();
            int exit = SecureBuild.Cli.CliApplication.Run(new[] { "trace", "--policy", bad, "--", "sh", "-c", "touch /tmp/sb-policy-must-not-run" }, TextWriter.Null, stderr);
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(stderr.ToString(), Does.Contain("SB4210").And.Contain("unknown phase \"compile\""));
            Assert.That(File.Exists("/tmp/sb-policy-must-not-run"), Is.False, "nothing ran");
        }
        finally
        {
            File.Delete(bad);
        }
    }

    [TestCase("", "is empty")]
    [TestCase("[]", "must be a JSON object")]
    [TestCase("{", "not valid JSON")]
    [TestCase("{\"version\": 2}", "$.version must be 1")]
    [TestCase("{}", "required field \"version\"")]
    [TestCase("{\"version\": 1, \"extra\": true}", "unexpected field \"extra\"")]
    [TestCase("{\"version\": 1, \"network\": {\"compile\": []}}", "unknown phase \"compile\"")]
    [TestCase("{\"version\": 1, \"network\": {\"build\": [\"@everything\"]}}", "unknown token \"@everything\"")]
    [TestCase("{\"version\": 1, \"processes\": [\"@temp\"]}", "unknown token \"@temp\"")]
    [TestCase("{\"version\": 1, \"processes\": [1]}", "must be a non-empty string")]
    [TestCase("{\"version\": 1, \"processes\": \"curl\"}", "must be an array")]
    [TestCase("{\"version\": 1, \"writes\": {\"always\": [\"relative/dir\"]}}", "must be an absolute path")]
    [TestCase("{\"version\": 1, \"writes\": {\"sometimes\": []}}", "unexpected field \"sometimes\"")]
    [TestCase("{\"version\": 1, \"undeclaredInputs\": \"yes\"}", "must be true or false")]
    [TestCase("{\"version\": 1, \"version\": 1}", "")]
    public void A_bad_policy_is_refused_with_SB4210_naming_what_is_wrong(string text, string expected)
    {
        var e = Assert.Throws<TracePolicyException>(() => TracePolicy.Parse(Encoding.UTF8.GetBytes(text), "p.json"))!;
        Assert.That(e.Code, Is.EqualTo("SB4210"));
        Assert.That(e.Message, Does.Contain("p.json"));
        Assert.That(e.Message, Does.Contain(expected));
    }

    [Test]
    public void Mutated_policies_never_crash_the_parser()
    {
        var seed = JsonTextOf(TracePolicy.Default);
        var random = new Random(11);
        for (int i = 0; i < 2000; i++)
        {
            var bytes = seed.ToArray();
            for (int m = random.Next(1, 4); m > 0; m--)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            try
            {
                TracePolicy.Parse(bytes, "fuzz");
            }
            catch (TracePolicyException)
            {
            }
        }
    }

    private static byte[] JsonTextOf(TracePolicy policy) => SecureBuild.Core.Json.JsonText.WriteUtf8(policy.ToJson());
}

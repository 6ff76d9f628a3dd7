using System.Collections.Concurrent;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Reproducibility;
using SecureBuild.Reproducibility.Tests.Infrastructure;

namespace SecureBuild.Reproducibility.Tests;

/// <summary>Rebuild orchestration with a fake process runner: copies, variations, commands, verdicts, attestation.</summary>
public sealed class RebuilderTests
{
    /// <summary>Pretends to be git (no repository) and dotnet (writes outputs computed from the environment).</summary>
    private sealed class FakeRunner : IProcessRunner
    {
        private readonly Func<ProcessSpec, string> _output;
        private readonly Func<ProcessSpec, int> _exit;

        public FakeRunner(Func<ProcessSpec, string> output, Func<ProcessSpec, int>? exit = null)
        {
            _output = output;
            _exit = exit ?? (_ => 0);
        }

        public ConcurrentQueue<ProcessSpec> Specs { get; } = new();

        /// <summary>Run git for real (the source is a repository), instead of pretending there is none.</summary>
        public bool RealGit { get; init; }

        public ProcessOutcome Run(ProcessSpec spec, CancellationToken cancellationToken = default)
        {
            if (spec.FileName == "git")
            {
                return RealGit ? new ProcessRunner().Run(spec, cancellationToken) : new ProcessOutcome(128, "fatal: not a git repository");
            }

            Specs.Enqueue(spec);
            var exit = _exit(spec);
            if (exit == 0 && spec.Arguments[0] == "build")
            {
                var bin = Path.Combine(spec.WorkingDirectory, "App", "bin", "Release");
                Directory.CreateDirectory(bin);
                File.WriteAllText(Path.Combine(bin, "App.txt"), _output(spec));
                Directory.CreateDirectory(Path.Combine(bin, "attestations"));
                File.WriteAllText(Path.Combine(bin, "attestations", "compile.link"), Guid.NewGuid().ToString());
            }

            return new ProcessOutcome(exit, "fake " + string.Join(" ", spec.Arguments));
        }
    }

    private static TempDirectory Source()
    {
        var dir = new TempDirectory();
        dir.Write("global.json", "{}");
        dir.Write("App/App.csproj", "<Project />");
        dir.Write("App/Program.cs", "class P {}");
        dir.Write("App/bin/Release/stale.dll", "stale");
        dir.Write("App/obj/project.assets.json", "{}");
        return dir;
    }

    private static RebuildOptions Options(string target) => new()
    {
        Target = target,
        BaseEnvironment = new Dictionary<string, string> { ["HOME"] = "/home/original", ["PATH"] = "/usr/bin", ["LC_TIME"] = "de_DE.UTF-8" },
    };

    [Test]
    public void Two_builds_run_the_same_command_in_different_copies_under_every_variation()
    {
        using var source = Source();
        var runner = new FakeRunner(_ => "same");
        var result = new Rebuilder(runner).Run(Options(source.Path));

        Assert.That(result.Reproducible, Is.True, ReportWriters.Text(result.Report));
        var specs = runner.Specs.ToList();
        Assert.That(specs, Has.Count.EqualTo(4), "build and pack --no-build in each copy");
        var a = specs.Where(s => s.WorkingDirectory == result.A.WorkingDirectory).ToList();
        var b = specs.Where(s => s.WorkingDirectory == result.B.WorkingDirectory).ToList();
        Assert.That(a.Select(s => string.Join(" ", s.Arguments)), Is.EqualTo(b.Select(s => string.Join(" ", s.Arguments))));
        Assert.That(a.Select(s => string.Join(" ", s.Arguments)), Is.EqualTo(new[] { "build -c Release -nologo", "pack -c Release -nologo --no-build" }));
        Assert.That(result.A.Directory, Is.Not.EqualTo(result.B.Directory));
        Assert.That(result.B.Directory.Split('/').Length, Is.Not.EqualTo(result.A.Directory.Split('/').Length), "different depths");

        var ea = a[0].Environment!;
        var eb = b[0].Environment!;
        foreach (var name in new[] { "TZ", "LANG", "LC_ALL", "HOME", "DOTNET_CLI_HOME", "USER", "DOTNET_PROCESSOR_COUNT" })
        {
            Assert.That(ea[name], Is.Not.EqualTo(eb[name]), name);
        }

        Assert.That(ea.ContainsKey("LC_TIME"), Is.False, "locale variables of the caller are replaced");
        Assert.That(eb.ContainsKey("SECUREBUILD_REPRO_NOISE"), Is.True);
        Assert.That(ea["SOURCE_DATE_EPOCH"], Is.EqualTo(eb["SOURCE_DATE_EPOCH"]));
        Assert.That(ea["NUGET_PACKAGES"], Is.EqualTo("/home/original/.nuget/packages").And.EqualTo(eb["NUGET_PACKAGES"]));
        Assert.That(ea["UseSharedCompilation"], Is.EqualTo("false"));
        Assert.That((a[0].Umask, b[0].Umask), Is.EqualTo(("0022", "0002")));
        Assert.That(result.Report.Skipped.Single().Key, Is.EqualTo("App/bin/Release/attestations/"));
        Assert.That(result.SourceFileCount, Is.EqualTo(3), "bin/ and obj/ are not copied");
        Assert.That(Directory.Exists(result.WorkDirectory), Is.False, "the temporary directories are removed");
    }

    private static string? Git(string directory, params string[] arguments)
    {
        var outcome = new ProcessRunner().Run(new ProcessSpec("git", arguments, directory) { Timeout = TimeSpan.FromMinutes(1) });
        return outcome.ExitCode == 0 ? outcome.Output.Trim() : null;
    }

    [Test]
    public void The_git_branch_variation_builds_on_a_branch_and_on_a_detached_head_of_one_commit_and_the_diff_names_it()
    {
        using var source = Source();
        Assert.That(Git(source.Path, "init", "--quiet", "--initial-branch=work"), Is.Not.Null);
        Assert.That(Git(source.Path, "add", "global.json", "App/App.csproj", "App/Program.cs"), Is.Not.Null);
        Assert.That(Git(source.Path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", "x"), Is.Not.Null);
        var commit = Git(source.Path, "rev-parse", "HEAD")!;

        // What NuGet writes into the nuspec with PublishRepositoryUrl=true (without SecureBuild.Sdk's fix).
        string Nuspec(ProcessSpec spec)
        {
            var branch = Git(spec.WorkingDirectory, "symbolic-ref", "--quiet", "--short", "HEAD");
            Assert.That(Git(spec.WorkingDirectory, "rev-parse", "HEAD"), Is.EqualTo(commit), "both copies build the same commit");
            return $"<repository type=\"git\"{(branch is null ? "" : $" branch=\"{branch}\"")} commit=\"{commit}\" />\n";
        }

        var result = new Rebuilder(new FakeRunner(Nuspec) { RealGit = true }).Run(Options(source.Path));
        var applied = result.Applied.Single(v => v.Name == "git checkout");
        Assert.That((applied.Left, applied.Right), Is.EqualTo(("branch work", "detached HEAD")));
        Assert.That(result.Reproducible, Is.False);
        Assert.That(result.Report.Differences.Where(d => d.IsRootCause).Select(d => d.Cause.Id), Is.EqualTo(new[] { Causes.GitBranch.Id }), ReportWriters.Text(result.Report));

        var options = Options(source.Path);
        options.Variations = Variations.Parse("all,-git_branch");
        Assert.That(new Rebuilder(new FakeRunner(Nuspec) { RealGit = true }).Run(options).Reproducible, Is.True, "both on the branch");
    }

    [Test]
    public void Without_a_git_repository_the_git_branch_variation_says_why_it_was_not_applied()
    {
        using var source = Source();
        var result = new Rebuilder(new FakeRunner(_ => "same")).Run(Options(source.Path));
        Assert.That(result.NotApplied.Any(n => n.Key == Variations.GitBranch && n.Value.Contains("git work tree")), Is.True);
    }

    [Test]
    public void Properties_given_with_p_reach_both_builds_and_both_commands()
    {
        using var source = Source();
        var runner = new FakeRunner(_ => "same");
        var options = Options(source.Path);
        options.ExtraArguments = PropertyArgument.ToSwitches(new[] { "TargetFrameworks=net8.0;net10.0", "WarningsNotAsErrors=NU1603" });
        var result = new Rebuilder(runner).Run(options);
        var commands = runner.Specs.Select(s => string.Join(" ", s.Arguments)).ToList();
        Assert.That(commands, Has.Count.EqualTo(4));
        Assert.That(commands, Has.All.EndsWith("-p:TargetFrameworks=\"net8.0;net10.0\" -p:WarningsNotAsErrors=NU1603"));
        Assert.That(result.Command, Does.Contain("-p:TargetFrameworks=\"net8.0;net10.0\""), "the attestation records the properties");
    }

    [Test]
    public void An_output_that_depends_on_a_varied_value_is_not_reproducible_and_names_it()
    {
        using var source = Source();
        var runner = new FakeRunner(spec => "zone: " + spec.Environment!["TZ"]);
        var result = new Rebuilder(runner).Run(Options(source.Path));
        Assert.That(result.Reproducible, Is.False);
        var root = result.Report.Differences.Single(d => d.IsRootCause);
        Assert.That(root.Artifact, Is.EqualTo("App/bin/Release/App.txt"));
        Assert.That(root.Cause.Id, Is.EqualTo(Causes.Environment.Id));
        Assert.That(root.Cause.Title, Does.Contain("TZ"));
    }

    [Test]
    public void Without_build_path_variation_both_builds_use_one_directory_one_after_the_other()
    {
        using var source = Source();
        var runner = new FakeRunner(_ => "same");
        var options = Options(Path.Combine(source.Path, "App", "App.csproj"));
        options.Variations = Variations.Parse("none,timezone");
        options.Command = "build";
        var result = new Rebuilder(runner).Run(options);
        Assert.That(result.Parallel, Is.False);
        var dirs = runner.Specs.Select(s => s.WorkingDirectory).Distinct().ToList();
        Assert.That(dirs, Has.Count.EqualTo(1));
        Assert.That(runner.Specs.All(s => string.Join(" ", s.Arguments) == "build App.csproj -c Release -nologo"), Is.True);
        Assert.That(result.NotApplied.Select(n => n.Key), Does.Contain(Variations.BuildPath));
        Assert.That(result.Reproducible, Is.True);
    }

    [Test]
    public void A_build_that_fails_in_one_environment_only_is_a_difference_and_both_failing_is_an_error()
    {
        using var source = Source();
        var oneFails = new FakeRunner(_ => "same", spec => spec.Environment!["TZ"] == "Etc/GMT-14" ? 1 : 0);
        var result = new Rebuilder(oneFails).Run(Options(source.Path));
        Assert.That(result.Reproducible, Is.False);
        Assert.That(result.Report.Differences[0].Aspect, Is.EqualTo("exit code"));

        var bothFail = new FakeRunner(_ => "same", _ => 1);
        Assert.Throws<RebuildException>(() => new Rebuilder(bothFail).Run(Options(source.Path)));
        Assert.Throws<RebuildException>(() => new Rebuilder(bothFail).Run(Options(Path.Combine(source.Path, "missing"))));
        var badCommand = Options(source.Path);
        badCommand.Command = "publish";
        Assert.Throws<RebuildException>(() => new Rebuilder(bothFail).Run(badCommand));
    }

    /// <summary>Every dotnet call runs past its limit (the real runner kills the tree; here only its outcome).</summary>
    private sealed class TimingOutRunner : IProcessRunner
    {
        public ProcessOutcome Run(ProcessSpec spec, CancellationToken cancellationToken = default) =>
            spec.FileName == "git"
                ? new ProcessOutcome(128, "fatal: not a git repository")
                : new ProcessOutcome(-1, "building...\n") { TimedOut = true, Timeout = spec.Timeout, Command = spec.Display };
    }

    [Test]
    public void A_build_that_runs_past_its_limit_is_an_SB1800_error_with_the_command()
    {
        using var source = Source();
        var options = Options(source.Path);
        options.BuildTimeout = TimeSpan.FromMinutes(3);

        var e = Assert.Throws<RebuildException>(() => new Rebuilder(new TimingOutRunner()).Run(options))!;

        Assert.That(e.Message, Does.Contain("SB1800: 'dotnet build -c Release -nologo' did not finish within 3 min, so it was stopped together with every process it started.")
            .And.Contains("a build may take 3 min at most"));
    }

    [Test]
    public void The_attestation_records_both_builds_and_the_verdict_and_verifies()
    {
        using var source = Source();
        var result = new Rebuilder(new FakeRunner(_ => "same")).Run(Options(source.Path));
        var key = SigningKey.Generate(KeyType.Ed25519);
        var line = ReproducibilityAttestation.Sign(ReproducibilityAttestation.CreateStatement(result, "1.2.3"), key);
        Assert.That(line.TrimEnd('\n'), Does.Not.Contain("\n"), "one envelope per line");
        var envelope = DsseEnvelope.Parse(line);
        Assert.That(envelope.Verify(key.Public, DsseEnvelope.InTotoPayloadType).Verified, Is.True);
        var statement = InTotoStatement.Parse(envelope.Payload);
        Assert.That(statement.PredicateType, Is.EqualTo(ReproducibilityAttestation.PredicateType));
        Assert.That(statement.Subjects.Single().Name, Is.EqualTo("App/bin/Release/App.txt"));
        Assert.That(((JsonBool)statement.Subjects.Single().Annotations!["reproduced"]).Value, Is.True);
        var p = statement.Predicate!;
        Assert.That(((JsonString)p["verdict"]).Value, Is.EqualTo("reproducible"));
        Assert.That(((JsonList)p["builds"]).Count, Is.EqualTo(2));
        Assert.That(((JsonList)p["variations"]).Select(v => ((JsonString)((JsonMap)v)["name"]).Value), Does.Contain("TZ").And.Contain("build path"));
        Assert.That(System.Text.Encoding.UTF8.GetString(envelope.Payload), Does.Not.Contain(result.WorkDirectory), "no machine paths in the attestation");
    }
}

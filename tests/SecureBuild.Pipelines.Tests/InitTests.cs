using SecureBuild.Cli;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Pipelines;
using SecureBuild.TestSupport;

namespace SecureBuild.Pipelines.Tests;

/// <summary>
/// `securebuild init` in scratch repositories (with --no-lock except where the lock is the point: a lock needs a build
/// with the packed SDK): what it writes, idempotency, no overwrite without --force, edits that keep the user's
/// formatting, bad input that aborts before anything is written, engine detection, and --check.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class InitTests
{
    [Test]
    public void Init_writes_every_file_and_a_second_run_changes_nothing()
    {
        using var repo = new Repo(".github");
        var first = repo.Init("--no-lock");
        Assert.That(first.Exit, Is.EqualTo(0), first.Err);
        Assert.That(first.Out, Does.Contain("create    global.json").And.Contain("create    Directory.Build.props")
            .And.Contain("create    securebuild/policy.json").And.Contain("create    .github/workflows/securebuild.yml"));
        Assert.That(repo.Read("global.json"), Is.EqualTo("{\n  \"msbuild-sdks\": {\n    \"SecureBuild.Sdk\": \"" + InitCommand.ToolVersion() + "\"\n  }\n}\n"));
        Assert.That(repo.Read("Directory.Build.props"), Does.StartWith("<Project>\n  <Sdk Name=\"SecureBuild.Sdk\" />\n"));
        var snapshot = repo.Snapshot();

        var second = repo.Init("--no-lock");
        Assert.That(second.Exit, Is.EqualTo(0), second.Err);
        Assert.That(second.Out, Does.Not.Contain("create ").And.Not.Contain("update "));
        Assert.That(second.Out.Split('\n').Count(l => l.StartsWith("unchanged ", StringComparison.Ordinal)), Is.EqualTo(4), second.Out);
        Assert.That(repo.Snapshot(), Is.EqualTo(snapshot), "the second run wrote nothing");
    }

    [Test]
    public void Edits_keep_the_users_global_json_and_props_byte_for_byte_around_the_added_lines()
    {
        using var repo = new Repo(".github");
        repo.Write("global.json", "{\r\n    \"sdk\": {\r\n        \"version\": \"10.0.100\",\r\n        \"rollForward\": \"disable\"\r\n    },\r\n    \"msbuild-sdks\": {\r\n        \"Microsoft.Build.NoTargets\": \"3.7.0\"\r\n    }\r\n}\r\n");
        repo.Write("Directory.Build.props", "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- our settings -->\n<Project>\n\t<PropertyGroup>\n\t\t<Nullable>enable</Nullable>\n\t</PropertyGroup>\n</Project>\n");
        var result = repo.Init("--no-lock");
        Assert.That(result.Exit, Is.EqualTo(0), result.Err);
        Assert.That(result.Out, Does.Contain("update    global.json").And.Contain("update    Directory.Build.props"));
        Assert.That(repo.Read("global.json"), Is.EqualTo("{\r\n    \"sdk\": {\r\n        \"version\": \"10.0.100\",\r\n        \"rollForward\": \"disable\"\r\n    },\r\n    \"msbuild-sdks\": {\r\n        \"Microsoft.Build.NoTargets\": \"3.7.0\",\r\n        \"SecureBuild.Sdk\": \"" + InitCommand.ToolVersion() + "\"\r\n    }\r\n}\r\n"));
        Assert.That(repo.Read("Directory.Build.props"), Is.EqualTo("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!-- our settings -->\n<Project>\n\t<Sdk Name=\"SecureBuild.Sdk\" />\n\t<PropertyGroup>\n\t\t<Nullable>enable</Nullable>\n\t</PropertyGroup>\n</Project>\n"));
    }

    [TestCase("{}", "{\n  \"msbuild-sdks\": {\n    \"SecureBuild.Sdk\": \"V\"\n  }\n}")]
    [TestCase("{ \"sdk\": { \"version\": \"10.0.100\" } }", "{ \"sdk\": { \"version\": \"10.0.100\" }, \"msbuild-sdks\": { \"SecureBuild.Sdk\": \"V\" } }")]
    [TestCase("{\n  \"msbuild-sdks\": { }\n}\n", "{\n  \"msbuild-sdks\": {\n    \"SecureBuild.Sdk\": \"V\"\n  }\n}\n")]
    [TestCase("{\n  \"x\": \"a\\\"}\"\n}\n", "{\n  \"x\": \"a\\\"}\",\n  \"msbuild-sdks\": {\n    \"SecureBuild.Sdk\": \"V\"\n  }\n}\n")]
    public void The_global_json_edit_lays_the_member_out_like_its_neighbours(string before, string after)
    {
        var edit = SdkAdoption.PinInGlobalJson(before, "V", force: false);
        Assert.That(edit.Text, Is.EqualTo(after));
        Assert.That(SdkAdoption.PinInGlobalJson(edit.Text, "V", force: false).Text, Is.Null, "pinned already: no change");
    }

    [TestCase("<Project Sdk=\"Microsoft.NET.Sdk\">\n  <Sdk Name=\"securebuild.sdk\" Version=\"0.1.0\" />\n</Project>\n")]
    [TestCase("<Project Sdk=\"SecureBuild.Sdk/0.1.0\">\n</Project>\n")]
    public void A_props_file_that_already_uses_the_SDK_is_left_alone(string text) =>
        Assert.That(SdkAdoption.AdoptInDirectoryBuildProps(text).Text, Is.Null);

    [Test]
    public void A_self_closing_project_gets_the_sdk_inside()
    {
        var edit = SdkAdoption.AdoptInDirectoryBuildProps("<Project Label=\"a>b\" />\n");
        Assert.That(edit.Text, Is.EqualTo("<Project Label=\"a>b\">\n  <Sdk Name=\"SecureBuild.Sdk\" />\n</Project>\n"));
    }

    [Test]
    public void A_changed_workflow_is_never_overwritten_without_force()
    {
        using var repo = new Repo(".github");
        Assert.That(repo.Init("--no-lock").Exit, Is.EqualTo(0));
        var mine = repo.Read(".github/workflows/securebuild.yml") + "# my change\n";
        repo.Write(".github/workflows/securebuild.yml", mine);

        var kept = repo.Init("--no-lock");
        Assert.That(kept.Exit, Is.EqualTo(1));
        Assert.That(kept.Err, Does.Contain("SB5400").And.Contain(".github/workflows/securebuild.yml").And.Contain("--force"));
        Assert.That(repo.Read(".github/workflows/securebuild.yml"), Is.EqualTo(mine));

        var forced = repo.Init("--no-lock", "--force");
        Assert.That(forced.Exit, Is.EqualTo(0), forced.Err);
        Assert.That(forced.Out, Does.Contain("update    .github/workflows/securebuild.yml"));
        Assert.That(repo.Read(".github/workflows/securebuild.yml"), Does.Not.Contain("# my change"));
    }

    [Test]
    public void Another_pinned_SDK_version_is_kept_without_force()
    {
        using var repo = new Repo(".github");
        repo.Write("global.json", "{ \"msbuild-sdks\": { \"SecureBuild.Sdk\": \"0.0.9\" } }\n");
        var kept = repo.Init("--no-lock");
        Assert.That(kept.Exit, Is.EqualTo(1));
        Assert.That(kept.Err, Does.Contain("SB5402").And.Contain("0.0.9"));
        Assert.That(repo.Read("global.json"), Is.EqualTo("{ \"msbuild-sdks\": { \"SecureBuild.Sdk\": \"0.0.9\" } }\n"));
        Assert.That(repo.Init("--no-lock", "--force").Exit, Is.EqualTo(0));
        Assert.That(repo.Read("global.json"), Is.EqualTo("{ \"msbuild-sdks\": { \"SecureBuild.Sdk\": \"" + InitCommand.ToolVersion() + "\" } }\n"));
    }

    [Test]
    public void A_dry_run_writes_nothing()
    {
        using var repo = new Repo(".github");
        var before = repo.Snapshot();
        var result = repo.Init("--dry-run");
        Assert.That(result.Exit, Is.EqualTo(0), result.Err);
        Assert.That(result.Out, Does.Contain("would create    .github/workflows/securebuild.yml").And.Contain("would create securebuild.lock.json"));
        Assert.That(repo.Snapshot(), Is.EqualTo(before));
    }

    [TestCase("global.json", "{ // comment\n}", "SB5401")]
    [TestCase("global.json", "[1]", "SB5401")]
    [TestCase("global.json", "{ \"msbuild-sdks\": [] }", "SB5401")]
    [TestCase("Directory.Build.props", "<Project><PropertyGroup></Project>", "SB5403")]
    [TestCase("Directory.Build.props", "<!DOCTYPE x [<!ENTITY a \"b\">]><Project />", "SB5403")]
    [TestCase("Directory.Build.props", "<Root />", "SB5403")]
    public void A_file_init_cannot_edit_stops_it_before_anything_is_written(string file, string text, string code)
    {
        using var repo = new Repo(".github");
        repo.Write(file, text);
        var before = repo.Snapshot();
        var result = repo.Init("--no-lock");
        Assert.That(result.Exit, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain(code));
        Assert.That(repo.Snapshot(), Is.EqualTo(before));
    }

    [TestCase(new string[0], null, "no CI engine detected")]
    [TestCase(new[] { ".github", ".tekton" }, null, "several CI engines detected (github, tekton)")]
    [TestCase(new[] { ".tekton" }, ".tekton/securebuild.yaml", null)]
    [TestCase(new[] { "azure-pipelines.yml" }, "azure-pipelines.securebuild.yml", null)]
    public void The_engine_is_detected_from_the_repository(string[] marks, string? written, string? error)
    {
        using var repo = new Repo(marks);
        var result = repo.Init("--no-lock");
        if (error is not null)
        {
            Assert.That(result.Exit, Is.EqualTo(2));
            Assert.That(result.Err, Does.Contain("SB5404").And.Contain(error).And.Contain("--ci"));
            return;
        }

        Assert.That(result.Exit, Is.EqualTo(0), result.Err);
        Assert.That(File.Exists(repo.Path(written!)), written);
    }

    [TestCase(new[] { "--builder", "ubuntu-24.04", "--threshold", "2" }, "k must be between 1 and n")]
    [TestCase(new[] { "--threshold", "0" }, "k must be between 1 and n")]
    [TestCase(new[] { "--builder", "ubuntu 24.04" }, "not a runner label")]
    [TestCase(new[] { "--builder", "container:alpine:3" }, "not pinned by digest")]
    [TestCase(new[] { "--builder", "ubuntu-24.04", "--builder", "ubuntu-24.04" }, "both named")]
    [TestCase(new[] { "--branch", "main;rm -rf /" }, "not a branch name")]
    [TestCase(new[] { "--ci", "jenkins" }, "SB5404")]
    public void Bad_settings_are_usage_errors_and_write_nothing(string[] options, string reason)
    {
        using var repo = new Repo(".github");
        var before = repo.Snapshot();
        var result = repo.Init(new[] { "--no-lock" }.Concat(options).ToArray());
        Assert.That(result.Exit, Is.EqualTo(2), result.Out);
        Assert.That(result.Err, Does.Contain(reason));
        Assert.That(repo.Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public void Check_is_clean_after_init_and_commit_and_names_hand_edits_and_uncommitted_changes()
    {
        using var repo = new Repo(".github");
        Assert.That(repo.Init("--no-lock", "--builder", "ubuntu-24.04", "--builder", "windows-2022", "--threshold", "1").Exit, Is.EqualTo(0));
        repo.Git("add", "-A");
        repo.Git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "init");

        var clean = repo.Init("--check");
        Assert.That(clean.Exit, Is.EqualTo(0), "the policy file carries the builders and threshold, so --check needs no options: " + clean.Err);
        Assert.That(clean.Out, Does.Contain("in sync"));

        var workflow = repo.Read(".github/workflows/securebuild.yml");
        repo.Write(".github/workflows/securebuild.yml", workflow.Replace("timeout-minutes: 60", "timeout-minutes: 600"));
        var drift = repo.Init("--check");
        Assert.That(drift.Exit, Is.EqualTo(1));
        Assert.That(drift.Err, Does.Contain("SB5407: .github/workflows/securebuild.yml differs").And.Contain("timeout-minutes: 600"));
        Assert.That(drift.Err, Does.Contain("SB5409: .github/workflows/securebuild.yml has changes git has not committed"));

        repo.Git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-am", "edit");
        var committed = repo.Init("--check");
        Assert.That(committed.Err, Does.Contain("SB5407").And.Not.Contain("SB5409"), "committed now, but still not what init generates");
    }

    [Test]
    public void The_organisation_policy_raises_the_default_threshold_and_refuses_settings_below_it()
    {
        using var repo = new Repo(".github");
        repo.Write("org/org.json", "{\"format\":\"securebuild-org-policy/v1\",\"minBuilders\":3,\"minThreshold\":3,\"allowSelfHosted\":false,\"engines\":[\"github\",\"tekton\"]}");
        var org = repo.Path("org/org.json");
        var before = repo.Snapshot();
        foreach (var (options, reason) in new[]
        {
            (new[] { "--threshold", "2" }, "a threshold of 2, but the organisation policy requires at least 3"),
            (new[] { "--builder", "ubuntu-24.04", "--builder", "ubuntu-22.04" }, "2 builder(s), but the organisation policy requires at least 3"),
            (new[] { "--builder", "ubuntu-24.04", "--builder", "ubuntu-22.04", "--builder", "self-hosted:linux" }, "self-hosted:linux are self-hosted"),
            (new[] { "--ci", "azure" }, "the CI engine azure is not one the organisation policy allows (github, tekton)"),
        })
        {
            var refused = repo.Init(new[] { "--no-lock", "--org-policy", org }.Concat(options).ToArray());
            Assert.That(refused.Exit, Is.EqualTo(2), string.Join(" ", options));
            Assert.That(refused.Err, Does.Contain("SB5453").And.Contain(reason));
            Assert.That(repo.Snapshot(), Is.EqualTo(before), "nothing written below the organisation's floor");
        }

        var done = repo.Init("--no-lock", "--org-policy", org);
        Assert.That(done.Exit, Is.EqualTo(0), done.Err);
        Assert.That(repo.Read("securebuild/policy.json"), Does.Contain("\"threshold\": 3"), "the default 2 of 3 raised to the organisation's 3");
        repo.Git("add", "-A");
        repo.Git("-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "init");
        Assert.That(repo.Init("--check", "--org-policy", org).Exit, Is.EqualTo(0));

        repo.Write("org/org.json", "{\"format\":\"securebuild-org-policy/v1\",\"minBuilders\":4}");
        var stricter = repo.Init("--check", "--org-policy", org);
        Assert.That(stricter.Exit, Is.EqualTo(1));
        Assert.That(stricter.Err, Does.Contain("SB5453: 3 builder(s), but the organisation policy requires at least 4"));
    }

    [Test]
    public void The_organisation_policy_can_come_from_the_organisations_TUF_repository()
    {
        using var repo = new Repo(".github");
        var key = repo.Path("tuf/repo.key");
        repo.Write("tuf/repo.key", SigningKey.Generate(KeyType.Ed25519).ExportPrivate());
        repo.Write("tuf/org.json", "{\"format\":\"securebuild-org-policy/v1\",\"minBuilders\":3,\"minThreshold\":3}");
        var tuf = repo.Path("tuf/repo");
        foreach (var args in new[]
        {
            new[] { "trust", "init", "--repo", tuf, "--root-key", key, "--targets-key", key, "--snapshot-key", key, "--timestamp-key", key },
            new[] { "trust", "add", "--repo", tuf, repo.Path("tuf/org.json"), "--name", "policies/org.json", "--key", key },
            new[] { "trust", "publish", "--repo", tuf, "--snapshot-key", key, "--timestamp-key", key },
        })
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            Assert.That(CliApplication.Run(args, stdout, stderr), Is.EqualTo(0), stdout + stderr.ToString());
        }

        var metadata = Path.Combine(tuf, "metadata");
        var trust = new[] { "--trust-repo", metadata, "--trust-root", Path.Combine(metadata, "1.root.json"), "--trust-cache", repo.Path("tuf-cache") };
        var refused = repo.Init(new[] { "--no-lock", "--threshold", "2", "--org-policy", "policies/org.json" }.Concat(trust).ToArray());
        Assert.That(refused.Exit, Is.EqualTo(2), refused.Err);
        Assert.That(refused.Err, Does.Contain("SB5453").And.Contain("a threshold of 2, but the organisation policy requires at least 3"));

        var unlisted = repo.Init(new[] { "--no-lock", "--org-policy", "policies/other.json" }.Concat(trust).ToArray());
        Assert.That(unlisted.Exit, Is.EqualTo(1));
        Assert.That(unlisted.Err, Does.Contain("SB5208").And.Contain("policies/other.json"));

        var done = repo.Init(new[] { "--no-lock", "--org-policy", "policies/org.json" }.Concat(trust).ToArray());
        Assert.That(done.Exit, Is.EqualTo(0), done.Err);
        Assert.That(repo.Read("securebuild/policy.json"), Does.Contain("\"threshold\": 3"), "the organisation's floor, read through TUF");
    }

    [Test]
    public void Check_without_any_pipeline_says_to_run_init()
    {
        using var repo = new Repo(".github");
        var result = repo.Init("--check");
        Assert.That(result.Exit, Is.EqualTo(1));
        Assert.That(result.Err, Does.Contain("SB5407").And.Contain("Run `securebuild init`"));
    }

    [Test]
    public void A_lock_that_cannot_be_built_is_SB5405_and_leaves_the_other_files_in_place()
    {
        using var repo = new Repo(".github");
        var result = repo.Init();
        Assert.That(result.Exit, Is.EqualTo(1), result.Out);
        Assert.That(result.Err, Does.Contain("SB5405").And.Contain("securebuild lock"));
        Assert.That(File.Exists(repo.Path(".github/workflows/securebuild.yml")));
        Assert.That(File.Exists(repo.Path("securebuild.lock.json")), Is.False);
    }

    /// <summary>A scratch git repository with the given files or folders (names ending in / or starting with '.' without an extension are folders).</summary>
    private sealed class Repo : IDisposable
    {
        private readonly string _root = ScratchDirectory.Create("securebuild-init");

        public Repo(params string[] marks)
        {
            Git("init", "-q");
            foreach (var mark in marks)
            {
                if (mark.EndsWith(".yml", StringComparison.Ordinal))
                {
                    File.WriteAllText(Path(mark), "steps: []\n");
                }
                else
                {
                    Directory.CreateDirectory(Path(mark));
                }
            }
        }

        public string Path(string relative) => System.IO.Path.Combine(_root, relative);

        public string Read(string relative) => File.ReadAllText(Path(relative));

        public void Write(string relative, string text)
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path(relative))!);
            File.WriteAllText(Path(relative), text);
        }

        public (int Exit, string Out, string Err) Init(params string[] options)
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            var exit = CliApplication.Run(new[] { "init", "--root", _root }.Concat(options).ToArray(), stdout, stderr);
            return (exit, stdout.ToString(), stderr.ToString());
        }

        public void Git(params string[] args)
        {
            var result = Run.Process("git", args, _root);
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        }

        /// <summary>Every file outside .git with its content.</summary>
        public SortedDictionary<string, string> Snapshot() => new(Directory.GetFiles(_root, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains(System.IO.Path.DirectorySeparatorChar + ".git" + System.IO.Path.DirectorySeparatorChar))
            .ToDictionary(f => System.IO.Path.GetRelativePath(_root, f), File.ReadAllText), StringComparer.Ordinal);

        public void Dispose() => ScratchDirectory.TryDelete(_root);
    }
}

using System.Globalization;
using SecureBuild.Cli;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Processes;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Recording;
using SecureBuild.TestSupport;

namespace SecureBuild.Pipelines.Tests;

/// <summary>
/// Issue #14, verification of what provenance says about the worker and the pipeline state, through
/// `securebuild provenance verify`: --reject-self-hosted (SB5411), --require-fresh-worker (SB5412) and --repository
/// (the recorded definition digests against the files at the built commit, SB5413; a dirty tree, SB5414; a clone
/// without the commit, SB5415). The provenance is made by Core's StepProvenance from a real git repository, as the
/// build makes it, and signed.
/// </summary>
public sealed class ProvenancePolicyTests
{
    private string _dir = null!;
    private string _repo = null!;
    private string _artifact = null!;
    private string _publicKey = null!;
    private SigningKey _key = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = ScratchDirectory.Create("sbpolicy");
        _repo = Path.Combine(_dir, "repo");
        Directory.CreateDirectory(Path.Combine(_repo, ".github", "workflows"));
        File.WriteAllText(Path.Combine(_repo, "global.json"), "{ \"sdk\": { \"version\": \"10.0.100\" } }\n");
        File.WriteAllText(Path.Combine(_repo, "Directory.Build.props"), "<Project>\r\n</Project>\r\n");
        File.WriteAllText(Path.Combine(_repo, ".github", "workflows", "securebuild.yml"), "on: push\njobs: {}\n");
        File.WriteAllText(Path.Combine(_repo, "Program.cs"), "class P {}\n");
        Git("init", "-q", ".");
        Git("add", "-A");
        Commit("init");
        _artifact = Path.Combine(_dir, "App.dll");
        File.WriteAllText(_artifact, "assembly");
        _key = SigningKey.Generate(KeyType.Ed25519);
        _publicKey = Path.Combine(_dir, "build.pub");
        File.WriteAllText(_publicKey, _key.ExportPublic());
    }

    [TearDown]
    public void TearDown() => ScratchDirectory.TryDelete(_dir);

    [Test]
    public void A_hosted_fresh_build_of_the_committed_definitions_passes_every_option()
    {
        var provenance = Provenance(HostedRunner, FreshTable());

        var result = Verify(provenance, "--reject-self-hosted", "--require-fresh-worker", "--repository", _repo);

        Assert.That(result.Exit, Is.EqualTo(0), result.Err);
        Assert.That(result.Out, Does.StartWith("PASSED"));
    }

    [Test]
    public void A_self_hosted_runner_is_refused_with_SB5411_only_when_asked()
    {
        var provenance = Provenance(new Dictionary<string, string> { ["GITHUB_ACTIONS"] = "true", ["RUNNER_ENVIRONMENT"] = "self-hosted" }, FreshTable());

        Assert.That(Verify(provenance).Exit, Is.EqualTo(0), "without the option the runner is not judged");
        var refused = Verify(provenance, "--reject-self-hosted");
        Assert.That(refused.Exit, Is.EqualTo(1));
        Assert.That(refused.Err, Does.Contain("SB5411").And.Contain("'self-hosted' worker"));
        var local = Verify(Provenance(new Dictionary<string, string>(), FreshTable()), "--reject-self-hosted");
        Assert.That(local.Err, Does.Contain("SB5411").And.Contain("'local' worker"), "a developer's machine is no hosted runner either");
    }

    [Test]
    public void A_reused_or_unknown_worker_is_refused_with_SB5412_naming_what_was_reused()
    {
        var leftover = Path.Combine(_repo, "obj", "App.AssemblyInfoInputs.cache");
        Directory.CreateDirectory(Path.GetDirectoryName(leftover)!);
        File.WriteAllText(leftover, "earlier build");
        File.SetLastWriteTimeUtc(leftover, DateTime.UtcNow.AddDays(-1));

        var reused = Verify(Provenance(HostedRunner, FreshTable()), "--require-fresh-worker");
        Assert.That(reused.Exit, Is.EqualTo(1));
        Assert.That(reused.Err, Does.Contain("SB5412").And.Contain("workspace reused"));

        var unknown = Verify(Provenance(HostedRunner, null), "--require-fresh-worker");
        Assert.That(unknown.Exit, Is.EqualTo(1));
        Assert.That(unknown.Err, Does.Contain("SB5412").And.Contain("workspace unknown"), "without /proc nothing is known, and unknown is not fresh");
    }

    [Test]
    public void A_definition_that_differs_from_the_built_commit_is_refused_with_SB5413_naming_the_file()
    {
        // A provenance whose workflow digest is not the commit's, though it says the file was committed and the tree clean
        // (the build read another version of the workflow than the commit holds).
        File.WriteAllText(Path.Combine(_repo, ".github", "workflows", "securebuild.yml"), "on: push\njobs: { evil: {} }\n");
        var provenance = Provenance(HostedRunner, FreshTable(), rewriteCommittedFlags: true);

        var result = Verify(provenance, "--repository", _repo);

        Assert.That(result.Exit, Is.EqualTo(1));
        Assert.That(result.Err, Does.Contain("SB5413: .github/workflows/securebuild.yml: the provenance records sha256"));
        Assert.That(result.Err, Does.Not.Contain("global.json"), "the files that match are not named");
    }

    [Test]
    public void A_definition_file_of_the_commit_that_the_provenance_leaves_out_is_refused_with_SB5413()
    {
        var provenance = Provenance(HostedRunner, FreshTable());
        File.WriteAllText(Path.Combine(_repo, "nuget.config"), "<configuration />\n");
        Git("add", "nuget.config");
        Commit("a feed");
        // The provenance names the first commit; verified against a clone whose HEAD moved on, only that commit counts.
        Assert.That(Verify(provenance, "--repository", _repo).Exit, Is.EqualTo(0));

        var hidden = Provenance(HostedRunner, FreshTable(), dropDefinition: "nuget.config");
        var result = Verify(hidden, "--repository", _repo);
        Assert.That(result.Exit, Is.EqualTo(1));
        Assert.That(result.Err, Does.Contain("SB5413: nuget.config: commit").And.Contain("does not list it"));
    }

    [Test]
    public void A_dirty_tree_is_refused_with_SB5414_and_a_clone_without_the_commit_with_SB5415()
    {
        File.AppendAllText(Path.Combine(_repo, "Program.cs"), "// edited\n");
        var dirty = Verify(Provenance(HostedRunner, FreshTable()), "--repository", _repo);
        Assert.That(dirty.Exit, Is.EqualTo(1));
        Assert.That(dirty.Err, Does.Contain("SB5414").And.Contain("dirty"));

        var other = Path.Combine(_dir, "other");
        Directory.CreateDirectory(other);
        Assert.That(Run.Process("git", new[] { "init", "-q", "." }, other).ExitCode, Is.EqualTo(0));
        var missing = Verify(Provenance(HostedRunner, FreshTable()), "--repository", other);
        Assert.That(missing.Exit, Is.EqualTo(1));
        Assert.That(missing.Err, Does.Contain("SB5415").And.Contain("does not have commit"));

        var notAFolder = Verify(Provenance(HostedRunner, FreshTable()), "--repository", Path.Combine(_dir, "nowhere"));
        Assert.That(notAFolder.Exit, Is.EqualTo(2));
        Assert.That(notAFolder.Err, Does.Contain("SB5415"));
    }

    private static Dictionary<string, string> HostedRunner => new() { ["GITHUB_ACTIONS"] = "true", ["RUNNER_ENVIRONMENT"] = "github-hosted" };

    /// <summary>A /proc where this build's entry process started a minute ago and nothing else runs.</summary>
    private ProcessTable FreshTable()
    {
        var proc = Path.Combine(_dir, "proc-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(proc, "100"));
        File.WriteAllText(Path.Combine(proc, "uptime"), "120.00 0.00\n");
        File.WriteAllText(Path.Combine(proc, "100", "stat"), "100 (dotnet) S 1 100 100 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 6000 0 0\n");
        File.WriteAllText(Path.Combine(proc, "100", "cmdline"), "dotnet\0build\0");
        File.WriteAllText(Path.Combine(proc, "100", "status"), "Uid:\t0\t0\t0\t0\n");
        return ProcessTable.Read(proc, 100, DateTimeOffset.UtcNow);
    }

    /// <summary>Signed provenance for the artifact, made as the build makes it from the repository's state now.</summary>
    private string Provenance(Dictionary<string, string> environment, ProcessTable? processes, bool rewriteCommittedFlags = false, string? dropDefinition = null)
    {
        var definitions = BuildDefinitions.Describe(_repo, inGitWorkTree: true)
            .Where(d => d.Path != dropDefinition)
            .Select(d => rewriteCommittedFlags ? new BuildDefinitionFile(d.Path, d.Kind, d.Sha256, true) : d)
            .ToList();
        var git = GitSource.Describe(_repo)!;
        var statement = StepProvenance.Create(new StepProvenanceInputs("compile", new ArtifactNamer(_repo))
        {
            Environment = environment,
            Git = rewriteCommittedFlags ? new GitSource(git.RepositoryUri, git.Commit, dirty: false) : git,
            Definitions = definitions,
            Processes = () => processes,
            Workspace = Path.Combine(_repo, "obj"),
            FinishedOn = DateTimeOffset.UtcNow,
        });
        statement.Subjects.Add(new Subject("App.dll", new Dictionary<string, string> { ["sha256"] = Sha256Hex.OfFile(_artifact) }));
        var envelope = DsseEnvelope.Sign(DsseEnvelope.InTotoPayloadType, JsonText.WriteUtf8(statement.ToJson(), indented: false), _key);
        var path = Path.Combine(_dir, "compile-" + Guid.NewGuid().ToString("N") + ".provenance.intoto.jsonl");
        File.WriteAllText(path, JsonText.Write(envelope.ToJson(), indented: false) + "\n");
        return path;
    }

    private (int Exit, string Out, string Err) Verify(string provenance, params string[] options)
    {
        var stdout = new StringWriter(CultureInfo.InvariantCulture);
        var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var exit = CliApplication.Run(new[] { "provenance", "verify", "--artifact", _artifact, "--provenance", provenance, "--key", _publicKey }.Concat(options).ToArray(), stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private void Commit(string message) => Git("-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "commit.gpgsign=false", "commit", "-qm", message);

    private void Git(params string[] arguments)
    {
        var result = Run.Process("git", arguments, _repo);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
    }
}

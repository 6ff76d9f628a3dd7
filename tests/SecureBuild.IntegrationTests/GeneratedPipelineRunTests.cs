using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.IntegrationTests.Infrastructure;

namespace SecureBuild.IntegrationTests;

/// <summary>
/// Issue #14, end to end without a CI service: `securebuild init --ci github` in a tiny repository, then the generated
/// workflow's jobs run as GitHub's runner would run them (<see cref="GitHubJobRunner"/>): the build job once per matrix
/// entry, each in a fresh folder at another path (the second, where the machine allows it, in its own user, mount and
/// network namespaces with another machine id and boot id: another machine as provenance sees it, and no network),
/// then the compare job over what they uploaded. Identical outputs: compare passes and writes the verification summary,
/// which the sign job's step signs (an ephemeral key standing in for actions/attest's Fulcio certificate) and which
/// verifies. One builder tampered (its checkout edited after clone): compare fails and names the differing output.
/// One fixture for both (the honest builder's upload is reused), a class library of one file at the repository root
/// (the generated build step runs `dotnet pack` there: the root holds the project or solution).
/// </summary>
[NonParallelizable]
public sealed class GeneratedPipelineRunTests
{
    private const string VsaPredicateType = "https://slsa.dev/verification_summary/v1";

    private string _root = null!;
    private string _repository = null!;
    private string _commit = null!;
    private string _workflow = null!;
    private List<Dictionary<string, string>> _matrix = null!;
    private IReadOnlyList<string>? _isolation;

    [OneTimeSetUp]
    public void SetUp()
    {
        _root = Path.Combine(SdkFeed.WorkRoot, "pipeline-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        var project = new TestProject("pipeline-repo");
        _repository = project.Directory;
        project.Write("App.csproj", """
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <Version>1.0.0</Version>
              </PropertyGroup>
            </Project>
            """);
        project.Write("Greeter.cs", "namespace App;\npublic static class Greeter { public static string Hello() => \"hello\"; }\n");
        project.Write(".gitignore", "bin/\nobj/\n");
        Git(_repository, "init", "-q", "-b", "main", ".");
        Git(_repository, "add", "-A");
        Commit("a library");

        var init = SdkFeed.Securebuild(_repository, "init", "--ci", "github", "--builder", "ubuntu-24.04", "--builder", "ubuntu-22.04", "--threshold", "2");
        Assert.That(init.ExitCode, Is.EqualTo(0), init.Output);
        Git(_repository, "add", "-A");
        Commit("securebuild init");
        _commit = Git(_repository, "rev-parse", "HEAD").Trim();
        _workflow = Path.Combine(_repository, ".github", "workflows", "securebuild.yml");
        _matrix = new GitHubJobRunner(_workflow, _repository, _commit, Path.Combine(_root, "probe")).Matrix("build").ToList();
        Assert.That(_matrix.Select(m => m["builder"]), Is.EqualTo(new[] { "ubuntu-24-04", "ubuntu-22-04" }));
        _isolation = Isolation();
        TestContext.Progress.WriteLine(_isolation is null
            ? "GeneratedPipelineRunTests: no user/mount/network namespaces here: the second builder runs at another path only"
            : "GeneratedPipelineRunTests: the second builder runs in its own user, mount and network namespaces, with another machine id and boot id");

        // The honest builders upload into one store; the first one's upload is copied into the tampered run's store.
        var honest = new GitHubJobRunner(_workflow, _repository, _commit, Path.Combine(_root, "artifacts"));
        honest.Run("build", Path.Combine(_root, "builder-1"), _matrix[0]);
        honest.Run("build", Path.Combine(_root, "other-place", "builder-2"), _matrix[1], wrapper: _isolation);
    }

    [OneTimeTearDown]
    public void TearDown() => ScratchDirectory.TryDelete(_root);

    [Test]
    public void Identical_outputs_of_two_builders_pass_compare_and_the_signed_verification_summary_verifies()
    {
        var runner = new GitHubJobRunner(_workflow, _repository, _commit, Path.Combine(_root, "artifacts"));
        var machine = Path.Combine(_root, "compare");
        var (passed, log) = runner.Run("compare", machine, expectFailure: true);
        if (_isolation is null)
        {
            // Without namespaces both builders ran on one machine and boot: compare counts them once, as it must.
            Assert.That(passed, Is.False, log);
            Assert.That(log, Does.Contain("SHARED WORKER"));
            Assert.Inconclusive("both builders ran on one machine (no namespaces here): compare refused them as one worker, as it must; the passing half needs namespaces");
        }

        Assert.That(passed, Is.True, log);
        Assert.That(log, Does.Contain("PASSED:"));
        Assert.That(log, Does.Match(@"agreed 2/2\s+\S*App\.1\.0\.0\.nupkg"));
        var vsa = Path.Combine(machine, "temp", "vsa");
        var summary = (JsonMap)JsonParser.Parse(File.ReadAllBytes(Path.Combine(vsa, "verification-summary.json")));
        var predicate = (JsonMap)JsonParser.Parse(File.ReadAllBytes(Path.Combine(vsa, "verification-summary.predicate.json")));
        Assert.That(((JsonString)predicate["verificationResult"]).Value, Is.EqualTo("PASSED"));
        Assert.That(CanonicalJson.Serialize(predicate), Is.EqualTo(CanonicalJson.Serialize((JsonMap)summary["predicate"])), "the predicate file is the summary's predicate");

        // What each builder's provenance says of its worker: a hosted runner, a fresh workspace (a clean clone), and
        // (with namespaces) two different machines.
        var workers = _matrix.Select(m => Workers(Path.Combine(_root, "artifacts", "build-" + m["builder"]))).ToList();
        foreach (var worker in workers.SelectMany(w => w))
        {
            Assert.That(((JsonString)worker["runner"]).Value, Is.EqualTo("github-hosted"));
            Assert.That(((JsonString)((JsonMap)worker["freshness"])["workspace"]).Value, Is.EqualTo("fresh"), "each builder built in a clean clone");
        }

        Assert.That(workers[0].Select(Machine).Distinct(), Is.Not.EquivalentTo(workers[1].Select(Machine).Distinct()));

        // A consumer checks the first builder's package provenance: a hosted runner, and the recorded build and pipeline
        // definitions are the files of the built commit in the repository, built from a clean tree.
        var upload = Path.Combine(_root, "artifacts", "build-" + _matrix[0]["builder"]);
        var packProvenance = Directory.GetFiles(upload, "pack.provenance.intoto.jsonl", SearchOption.AllDirectories).Single();
        var verify = SdkFeed.Securebuild(_repository, "provenance", "verify", "--artifact", Path.Combine(upload, "packages", "App.1.0.0.nupkg"),
            "--provenance", packProvenance, "--key", Path.Combine(upload, "builder.key.pub"), "--reject-self-hosted", "--repository", _repository);
        Assert.That(verify.ExitCode, Is.EqualTo(0), verify.Output);
        Assert.That(verify.Output, Does.Contain("PASSED"));

        // The sign job: download the first builder's outputs and the summary, then attest the summary for the agreed packages.
        var packages = Directory.GetFiles(Path.Combine(_root, "artifacts", "build-" + _matrix[0]["builder"], "packages"), "*.nupkg");
        Assert.That(packages.Select(Path.GetFileName), Is.EqualTo(new[] { "App.1.0.0.nupkg" }));
        var key = SigningKey.Generate(KeyType.Ed25519);
        var statement = new JsonMap
        {
            ["_type"] = "https://in-toto.io/Statement/v1",
            ["subject"] = new JsonList(packages.Select(p => (JsonItem)new JsonMap { ["name"] = Path.GetFileName(p), ["digest"] = new JsonMap { ["sha256"] = Sha256Hex.OfFile(p) } })),
            ["predicateType"] = VsaPredicateType,
            ["predicate"] = predicate,
        };
        var envelope = DsseEnvelope.Sign(DsseEnvelope.InTotoPayloadType, CanonicalJson.Serialize(statement), key);

        var failures = new List<string>();
        var verified = InTotoStatement.FirstSigned(new[] { DsseEnvelope.Parse(Encoding.UTF8.GetString(envelope.ToUtf8Json())) }, new[] { key.Public }, VsaPredicateType, failures);
        Assert.That(verified, Is.Not.Null, string.Join("; ", failures));
        Assert.That(verified!.HasSubjectDigest("sha256", Sha256Hex.OfFile(packages[0])), Is.True);
        Assert.That(((JsonString)verified.Predicate!["verificationResult"]).Value, Is.EqualTo("PASSED"));
    }

    [Test]
    public void A_tampered_builder_makes_compare_fail_naming_the_differing_output()
    {
        var store = Path.Combine(_root, "artifacts-tampered");
        var runner = new GitHubJobRunner(_workflow, _repository, _commit, store);
        var first = "build-" + _matrix[0]["builder"];
        ScratchDirectory.Copy(Path.Combine(_root, "artifacts", first), Path.Combine(store, first));
        // A compromised builder: its checkout gets code the commit does not have, and it signs what it built.
        runner.Run("build", Path.Combine(_root, "tampered", "builder-2"), _matrix[1], wrapper: _isolation,
            afterCheckout: workspace => File.AppendAllText(Path.Combine(workspace, "Greeter.cs"), "public static class Backdoor { }\n"));

        var (passed, log) = runner.Run("compare", Path.Combine(_root, "compare-tampered"), expectFailure: true);

        Assert.That(passed, Is.False, log);
        Assert.That(log, Does.Contain("FAILED:"));
        Assert.That(log, Does.Match(@"short\s+1/2\s+\S*App\.1\.0\.0\.nupkg"), "the differing package is named");
        Assert.That(log, Does.Match(@"short\s+1/2\s+\S*App\.dll"), "and the differing assembly");
    }

    /// <summary>internalParameters.worker of every provenance a builder uploaded.</summary>
    private static List<JsonMap> Workers(string upload)
    {
        var files = Directory.GetFiles(upload, "*.provenance.intoto.jsonl", SearchOption.AllDirectories);
        Assert.That(files, Is.Not.Empty, upload);
        return files.Select(f => (JsonMap)JsonParser.Parse(DsseEnvelope.Parse(File.ReadLines(f).First(l => l.Trim().Length > 0)).Payload))
            .Select(st => (JsonMap)((JsonMap)((JsonMap)((JsonMap)st["predicate"])["buildDefinition"])["internalParameters"])["worker"])
            .ToList();
    }

    private static string Machine(JsonMap worker) => ((JsonString)worker["machine"]).Value + "/" + ((JsonString)worker["boot"]).Value;

    /// <summary>The wrapper that gives a builder its own user, mount and network namespaces and machine/boot ids, or null where the machine does not allow it.</summary>
    private IReadOnlyList<string>? Isolation()
    {
        var ids = Path.Combine(_root, "machine-2");
        Directory.CreateDirectory(ids);
        File.WriteAllText(Path.Combine(ids, "machine-id"), Guid.NewGuid().ToString("N") + "\n");
        File.WriteAllText(Path.Combine(ids, "boot_id"), Guid.NewGuid().ToString("D") + "\n");
        var wrapper = new[]
        {
            "unshare", "--user", "--map-root-user", "--mount", "--net", "bash", "-c",
            $"mount --bind '{ids}/machine-id' /etc/machine-id && mount --bind '{ids}/boot_id' /proc/sys/kernel/random/boot_id && exec \"$@\"",
            "isolated",
        };
        try
        {
            var probe = Run.Process(wrapper[0], wrapper.Skip(1).Concat(new[] { "cat", "/etc/machine-id" }), _root, timeout: TimeSpan.FromMinutes(1));
            return probe.ExitCode == 0 && probe.Output.Trim() == File.ReadAllText(Path.Combine(ids, "machine-id")).Trim() ? wrapper : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no unshare
        }
    }

    private void Commit(string message) =>
        Git(_repository, "-c", "user.email=ci@example.invalid", "-c", "user.name=ci", "-c", "commit.gpgsign=false", "commit", "-qm", message);

    private static string Git(string directory, params string[] arguments)
    {
        var result = Run.Process("git", arguments, directory);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        return result.Output;
    }
}

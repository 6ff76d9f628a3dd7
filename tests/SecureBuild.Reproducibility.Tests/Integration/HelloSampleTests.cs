using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Reproducibility.Tests.Integration;

/// <summary>The deterministic samples/Hello rebuilds identically under every variation, with and without git.</summary>
public sealed class HelloSampleTests
{
    private static (string Path, string Public, SigningKey Key) NewKey(string name)
    {
        var key = SigningKey.Generate(KeyType.Ed25519);
        var path = Path.Combine(Feed.WorkRoot, name + "-" + Guid.NewGuid().ToString("N") + ".key");
        File.WriteAllText(path, key.ExportPrivate());
        File.WriteAllText(path + ".pub", key.ExportPublic());
        return (path, path + ".pub", key);
    }

    [Test]
    public void Hello_rebuilds_identically_and_an_ordinary_build_elsewhere_agrees_with_the_rebuilder()
    {
        var sample = Feed.CopySample("Hello");
        var rebuilder = NewKey("rebuilder");
        var env = new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "1700000000" };
        var report = Path.Combine(Feed.WorkRoot, "hello-report-" + Guid.NewGuid().ToString("N"));
        var run = Feed.Securebuild(sample, env, "rebuild", "Hello.sln", "--key", rebuilder.Path, "--report", report);
        Assert.That(run.Exit, Is.EqualTo(0), run.Out + run.Err);
        Assert.That(run.Out, Does.Contain("IDENTICAL").And.Contain("REPRODUCIBLE"));
        Assert.That(run.Err, Does.Contain("building a and b at the same time"), "two cores: concurrent builds");

        var json = (JsonMap)JsonParser.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
        var files = ((JsonList)json["artifacts"]).Cast<JsonMap>().Select(a => ((JsonString)a["path"]).Value).ToList();
        Assert.That(files, Does.Contain("src/Greeting/bin/Release/Greeting.1.0.0.nupkg").And.Contain("src/Hello/bin/Release/net10.0/Hello.dll")
            .And.Contain("src/Greeting/bin/Release/net8.0/Greeting.pdb"));
        var variations = ((JsonList)json["variations"]).Cast<JsonMap>().Select(v => ((JsonString)v["name"]).Value).ToList();
        Assert.That(variations, Is.SupersetOf(new[] { "build path", "TZ", "LANG", "umask", "HOME", "USER", "DOTNET_PROCESSOR_COUNT (MSBuild -m)", "start time", "file creation order" }));

        var statementLine = File.ReadAllLines(Path.Combine(report, "reproducibility.intoto.jsonl")).Single();
        var statement = InTotoStatement.Parse(DsseEnvelope.Parse(statementLine).Payload);
        Assert.That(((JsonString)statement.Predicate!["verdict"]).Value, Is.EqualTo("reproducible"));
        Assert.That(statement.Subjects.All(s => ((JsonBool)s.Annotations!["reproduced"]).Value), Is.True);

        // A second builder: an ordinary `dotnet pack` in the user's own directory, signed with another key.
        var builder = NewKey("builder");
        var pack = Feed.DotNet(sample, new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "1700000000", ["SecureBuildSigningKey"] = builder.Path },
            "pack", "src/Greeting/Greeting.csproj", "-c", "Release", "-nologo");
        Assert.That(pack.ExitCode, Is.EqualTo(0), pack.ToString());
        var provenance = Path.Combine(sample, "src/Greeting/bin/Release/attestations/pack.provenance.intoto.jsonl");
        var compare = Feed.Securebuild(sample, null, "compare", "--key", rebuilder.Public, "--key", builder.Public, "--threshold", "2",
            "--subject", "src/Greeting/bin/Release/Greeting.1.0.0.nupkg", Path.Combine(report, "reproducibility.intoto.jsonl"), provenance);
        Assert.That(compare.Exit, Is.EqualTo(0), compare.Out + compare.Err);
        Assert.That(compare.Out, Does.Contain("agreed 2/2  src/Greeting/bin/Release/Greeting.1.0.0.nupkg"));
    }

    [Test]
    public void Hello_in_a_git_repository_rebuilds_identically_from_clones_of_the_commit()
    {
        var sample = Feed.CopySample("Hello", "hello-git");
        foreach (var args in new[] { new[] { "init", "-q", "." }, new[] { "add", "-A" }, new[] { "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init" } })
        {
            var git = Feed.Process("git", args, sample);
            Assert.That(git.ExitCode, Is.EqualTo(0), git.ToString());
        }

        var run = Feed.Securebuild(sample, null, "rebuild", "Hello.sln", "--command", "build");
        Assert.That(run.Exit, Is.EqualTo(0), run.Out + run.Err);
        Assert.That(run.Err, Does.Contain("git-tracked files"));
    }
}

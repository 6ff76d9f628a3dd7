using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.IntegrationTests.Infrastructure;

namespace SecureBuild.IntegrationTests;

/// <summary>SLSA provenance v1 and link statements in DSSE, written by real builds, without leaking secrets.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class ProvenanceTests
{
    private static readonly string[] Canaries =
    {
        "ghp_CANARYcanary0123456789abcdefABCDEF01",
        "oy2canarycanarycanarycanarycanarycanarycanary0123",
        "canary-connection-password",
        "canary-custom-secret-value",
        "canary-remote-password",
    };

    private static (string Path, PublicKey Public) NewKey()
    {
        var dir = Path.Combine(SdkFeed.WorkRoot, "prov-keys-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return Links.Keygen(dir, "ed25519", "build.key");
    }

    private static JsonMap Payload(string envelopePath, PublicKey key)
    {
        var lines = File.ReadAllLines(envelopePath).Where(l => l.Length > 0).ToArray();
        Assert.That(lines, Has.Length.EqualTo(1), "one envelope per .intoto.jsonl");
        var envelope = DsseEnvelope.Parse(lines[0]);
        Assert.That(envelope.Verify(key, DsseEnvelope.InTotoPayloadType, requireSingleSignature: true).Verified, Is.True, envelopePath);
        return (JsonMap)JsonParser.Parse(envelope.Payload);
    }

    private static JsonMap Obj(JsonItem node, string key) => (JsonMap)((JsonMap)node)[key];

    private static string Str(JsonItem node, string key) => ((JsonString)((JsonMap)node)[key]).Value;

    [Test]
    public void Pack_and_publish_write_signed_provenance_and_no_secret_reaches_any_file()
    {
        var key = NewKey();
        var project = new TestProject("provenance").WithConsoleApp("App",
            extraItems: """<PackageReference Include="Newtonsoft.Json" Version="13.0.3" />""");
        Git(project.Directory, "init", "-q", ".");
        Git(project.Directory, "add", "-A");
        Git(project.Directory, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init");
        Git(project.Directory, "remote", "add", "origin", $"https://builder:{Canaries[4]}@example.com/acme/app.git");
        var head = Run.Process("git", new[] { "rev-parse", "HEAD" }, project.Directory).Output.Trim();

        var env = new Dictionary<string, string?>
        {
            ["SecureBuildSigningKey"] = key.Path,
            ["GITHUB_TOKEN"] = Canaries[0],
            ["NUGET_API_KEY"] = Canaries[1],
            ["ConnectionStrings__Main"] = $"Server=db;User Id=sa;Password={Canaries[2]};",
            ["DOTNET_DB_CONNECTION"] = $"Server=db;Password={Canaries[2]}",
            ["MY_APP_SECRET"] = Canaries[3],
            ["NUGET_CUSTOM_SECRET"] = Canaries[3],
            ["Version"] = "9.9.9",
        };
        foreach (var args in new[] { new[] { "pack", "App/App.csproj", "-c", "Release" }, new[] { "publish", "App/App.csproj", "-c", "Release" } })
        {
            var result = project.DotNet(env, args);
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        }

        // No canary in any file the build wrote, nor inside any DSSE payload.
        foreach (var file in Directory.EnumerateFiles(project.Directory, "*", SearchOption.AllDirectories).Where(f => !f.Contains("/.git/")))
        {
            var texts = new List<string> { Encoding.UTF8.GetString(File.ReadAllBytes(file)) };
            if (file.EndsWith(".intoto.jsonl", StringComparison.Ordinal))
            {
                texts.AddRange(File.ReadAllLines(file).Where(l => l.Length > 0).Select(l => Encoding.UTF8.GetString(DsseEnvelope.Parse(l).Payload)));
            }
            foreach (var canary in Canaries)
            {
                Assert.That(texts.Any(t => t.Contains(canary, StringComparison.Ordinal)), Is.False, $"{file} contains the secret {canary}");
            }
        }

        var attestations = project.Path("App/bin/Release/attestations");
        var pack = Payload(Path.Combine(attestations, "pack.provenance.intoto.jsonl"), key.Public);
        Assert.That(Str(pack, "predicateType"), Is.EqualTo("https://slsa.dev/provenance/v1"));
        var subject = (JsonMap)((JsonList)pack["subject"]).Single();
        Assert.That(Str(subject, "name"), Is.EqualTo("App/bin/Release/App.9.9.9.nupkg"), "Version=9.9.9 from the environment changed the package");
        var nupkg = project.Path("App/bin/Release/App.9.9.9.nupkg");
        Assert.That(Str(subject["digest"], "sha256"), Is.EqualTo(Links.Sha256(nupkg)));
        var sha512 = Convert.ToHexString(System.Security.Cryptography.SHA512.HashData(File.ReadAllBytes(nupkg))).ToLowerInvariant();
        Assert.That(Str(subject["digest"], "sha512"), Is.EqualTo(sha512), "the unsigned package's NuGet content hash");

        var definition = Obj(pack["predicate"], "buildDefinition");
        Assert.That(Str(definition, "buildType"), Is.EqualTo("https://securebuild.dev/buildtypes/dotnet-msbuild/v1"));
        var external = Obj(definition, "externalParameters");
        Assert.That(Str(external, "project"), Is.EqualTo("App/App.csproj"));
        Assert.That(Str(external, "configuration"), Is.EqualTo("Release"));
        Assert.That(Str(Obj(external, "environmentProperties"), "Version"), Is.EqualTo("9.9.9"));
        Assert.That(Str(Obj(external, "source"), "uri"), Is.EqualTo("git+https://example.com/acme/app.git"));
        Assert.That(Str(Obj(Obj(external, "source"), "digest"), "gitCommit"), Is.EqualTo(head));

        var publish = Payload(Path.Combine(attestations, "publish.provenance.intoto.jsonl"), key.Public);
        var publishDefinition = Obj(publish["predicate"], "buildDefinition");
        var deps = ((JsonList)publishDefinition["resolvedDependencies"]).Cast<JsonMap>().ToList();
        var newtonsoft = deps.Single(d => d.TryGetValue("uri", out var u) && ((JsonString)u).Value == "pkg:nuget/Newtonsoft.Json@13.0.3");
        var metadata = (JsonMap)JsonParser.Parse(File.ReadAllBytes(Path.Combine(NuGetPackagesFolder(), "newtonsoft.json", "13.0.3", ".nupkg.metadata")));
        var contentHash = Convert.FromBase64String(Str(metadata, "contentHash"));
        Assert.That(Str(newtonsoft["digest"], "sha512"), Is.EqualTo(Convert.ToHexString(contentHash).ToLowerInvariant()),
            "a package's digest is NuGet's content hash (what packages.lock.json pins), not the signed file's hash");
        Assert.That(Str(deps.Single(d => d.TryGetValue("name", out var n) && ((JsonString)n).Value == "source")["digest"], "gitCommit"), Is.EqualTo(head));
        Assert.That(deps.Any(d => d.TryGetValue("uri", out var u) && ((JsonString)u).Value.StartsWith("pkg:nuget/Microsoft.NETCore.App.Ref@", StringComparison.Ordinal)),
            Is.True, "the targeting pack is a resolved dependency");
        var publishSubjects = ((JsonList)publish["subject"]).Cast<JsonMap>().Select(s => Str(s, "name")).ToList();
        Assert.That(publishSubjects, Does.Contain("App/bin/Release/net10.0/publish/Newtonsoft.Json.dll"));

        var run = Obj(publish["predicate"], "runDetails");
        Assert.That(Str(Obj(run, "builder"), "id"), Is.EqualTo("https://securebuild.dev/builders/local/v1"));
        var byproduct = (JsonMap)((JsonList)run["byproducts"]).Single();
        Assert.That(Str(byproduct["digest"], "sha256"), Is.EqualTo(Links.Sha256(Path.Combine(attestations, Str(byproduct, "name")))));

        // The same provenance as a Sigstore bundle (v0.3, public-key hint) verifies offline for the package, and not for another file.
        var bundle = Path.Combine(attestations, "pack.provenance.sigstore.json");
        var trustedRoot = Path.Combine(SdkFeed.SigstoreTestData, "trusted_root.production.json");
        var verified = SdkFeed.Securebuild(project.Directory, "bundle", "verify", "--bundle", bundle, "--trusted-root", trustedRoot,
            "--key", key.Path + ".pub", "--tlog-threshold", "0", "--payload-type", "application/vnd.in-toto+json", nupkg);
        Assert.That(verified.ExitCode, Is.EqualTo(0), verified.ToString());
        var other = project.Path("not-the-package.nupkg");
        File.WriteAllBytes(other, File.ReadAllBytes(nupkg).Append((byte)0).ToArray());
        var rejected = SdkFeed.Securebuild(project.Directory, "bundle", "verify", "--bundle", bundle, "--trusted-root", trustedRoot,
            "--key", key.Path + ".pub", "--tlog-threshold", "0", other);
        Assert.That(rejected.ExitCode, Is.EqualTo(1), rejected.ToString());

        // `securebuild provenance verify`, like slsa-verifier: signature, subject, builder, source.
        var jsonl = Path.Combine(attestations, "pack.provenance.intoto.jsonl");
        foreach (var provenanceFile in new[] { jsonl, bundle })
        {
            var ok = SdkFeed.Securebuild(project.Directory, "provenance", "verify", "--artifact", nupkg, "--provenance", provenanceFile,
                "--key", key.Path + ".pub", "--builder-id", "https://securebuild.dev/builders/local/v1", "--source-uri", "https://example.com/acme/app");
            Assert.That(ok.ExitCode, Is.EqualTo(0), ok.ToString());
        }
        var wrongBuilder = SdkFeed.Securebuild(project.Directory, "provenance", "verify", "--artifact", nupkg, "--provenance", jsonl,
            "--key", key.Path + ".pub", "--builder-id", "https://github.com/actions/runner/github-hosted");
        Assert.That(wrongBuilder.ExitCode, Is.EqualTo(1), wrongBuilder.ToString());
        Assert.That(wrongBuilder.Output, Does.Contain("builder id"));
        var wrongSource = SdkFeed.Securebuild(project.Directory, "provenance", "verify", "--artifact", nupkg, "--provenance", jsonl,
            "--key", key.Path + ".pub", "--source-uri", "git+https://example.com/evil/app");
        Assert.That(wrongSource.ExitCode, Is.EqualTo(1), wrongSource.ToString());
        var otherKey = NewKey();
        var wrongKey = SdkFeed.Securebuild(project.Directory, "provenance", "verify", "--artifact", nupkg, "--provenance", jsonl, "--key", otherKey.Path + ".pub");
        Assert.That(wrongKey.ExitCode, Is.EqualTo(1), wrongKey.ToString());
        var notAnArtifact = SdkFeed.Securebuild(project.Directory, "provenance", "verify", "--artifact", other, "--provenance", jsonl, "--key", key.Path + ".pub");
        Assert.That(notAnArtifact.ExitCode, Is.EqualTo(1), notAnArtifact.ToString());

        // A feed re-signs the package (as nuget.org adds its repository signature): the file digest changes,
        // NuGet's content hash does not, so the provenance still matches.
        var signing = Path.Combine(SdkFeed.WorkRoot, "nuget-sign-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(signing);
        foreach (var (tool, args) in new[]
        {
            ("openssl", new[] { "req", "-x509", "-newkey", "rsa:2048", "-keyout", "k.pem", "-out", "c.pem", "-days", "30", "-nodes", "-subj", "/CN=SecureBuild test feed",
                "-addext", "extendedKeyUsage=codeSigning", "-addext", "keyUsage=digitalSignature,keyCertSign", "-addext", "basicConstraints=critical,CA:true" }),
            ("openssl", new[] { "pkcs12", "-export", "-out", "c.pfx", "-inkey", "k.pem", "-in", "c.pem", "-passout", "pass:pw" }),
            ("dotnet", new[] { "nuget", "sign", nupkg, "--certificate-path", "c.pfx", "--certificate-password", "pw", "-o", Path.Combine(signing, "signed") }),
        })
        {
            var step = Run.Process(tool, args, signing);
            Assert.That(step.ExitCode, Is.EqualTo(0), step.ToString());
        }
        var signed = Path.Combine(signing, "signed", Path.GetFileName(nupkg));
        Assert.That(Links.Sha256(signed), Is.Not.EqualTo(Links.Sha256(nupkg)), "signing changed the file");
        var resigned = SdkFeed.Securebuild(project.Directory, "provenance", "verify", "--artifact", signed, "--provenance", jsonl, "--key", key.Path + ".pub");
        Assert.That(resigned.ExitCode, Is.EqualTo(0), resigned.ToString());

        // The link statement (Statement v1 + link predicate v0.3) carries the same artifacts as the classic link.
        var linkStatement = Payload(Path.Combine(attestations, $"publish.{key.Public.KeyId[..8]}.intoto.jsonl"), key.Public);
        Assert.That(Str(linkStatement, "predicateType"), Is.EqualTo("https://in-toto.io/attestation/link/v0.3"));
        var classic = Links.LoadVerified(Path.Combine(attestations, Links.FileName("publish", key.Public)), key.Public);
        Assert.That(((JsonList)linkStatement["subject"]).Cast<JsonMap>().Select(s => Str(s, "name")), Is.EquivalentTo(classic.Products.Keys));
        Assert.That(((JsonList)Obj(linkStatement, "predicate")["materials"]).Cast<JsonMap>().Select(s => Str(s, "name")), Is.EquivalentTo(classic.Materials.Keys));
    }

    [Test]
    public void A_GitHub_Actions_build_names_the_hosted_runner_and_the_run()
    {
        var key = NewKey();
        var project = new TestProject("prov-gha").WithConsoleApp("App");
        var env = new Dictionary<string, string?>
        {
            ["SecureBuildSigningKey"] = key.Path,
            ["GITHUB_ACTIONS"] = "true",
            ["CI"] = "true",
            ["GITHUB_SERVER_URL"] = "https://github.com",
            ["GITHUB_REPOSITORY"] = "acme/app",
            ["GITHUB_RUN_ID"] = "4242",
            ["GITHUB_RUN_ATTEMPT"] = "2",
            ["GITHUB_SHA"] = new string('a', 40),
            ["RUNNER_ENVIRONMENT"] = "github-hosted",
        };
        var build = project.DotNet(env, "build", "App/App.csproj");
        Assert.That(build.ExitCode, Is.EqualTo(0), build.ToString());
        var statement = Payload(project.Path("App/bin/Debug/attestations/compile.provenance.intoto.jsonl"), key.Public);
        var run = Obj(statement["predicate"], "runDetails");
        Assert.That(Str(Obj(run, "builder"), "id"), Is.EqualTo("https://github.com/actions/runner/github-hosted"));
        Assert.That(Str(Obj(run, "metadata"), "invocationId"), Is.EqualTo("https://github.com/acme/app/actions/runs/4242/attempts/2"));
        var internalParameters = Obj(Obj(statement["predicate"], "buildDefinition"), "internalParameters");
        Assert.That(Str(internalParameters, "ci"), Is.EqualTo("github-actions"));
        Assert.That(Str(Obj(internalParameters, "environment"), "GITHUB_RUN_ID"), Is.EqualTo("4242"));
        var source = Obj(Obj(Obj(statement["predicate"], "buildDefinition"), "externalParameters"), "source");
        Assert.That(Str(source, "uri"), Is.EqualTo("git+https://github.com/acme/app"), "outside a git work tree the CI system's word is used");
    }

    [Test]
    public void A_canary_in_global_properties_environment_variables_urls_and_the_git_remote_reaches_no_file_of_a_real_pack()
    {
        // Issue #16: names no deny-list catches (Pat, FeedPass, Creds, MyFeed, NUGET_CREDS, DOTNET_FEED_PW, twenty
        // generated ones), each given a canary bare or inside a URL, as -p: and as environment variables.
        var canary = SecureBuild.Tests.Shared.SecretCanaries.NewCanary();
        var key = NewKey();
        var project = new TestProject("prov-canary").WithConsoleApp("App");
        Git(project.Directory, "init", "-q", ".");
        Git(project.Directory, "add", "-A");
        Git(project.Directory, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init");
        Git(project.Directory, "remote", "add", "origin", $"https://{canary}@example.com/acme/app.git");

        var env = SecureBuild.Tests.Shared.SecretCanaries.Parameters(canary, offset: 5).ToDictionary(p => p.Key, p => (string?)p.Value);
        env["SecureBuildSigningKey"] = key.Path;
        env["BUILD_REPOSITORY_URI"] = $"https://acme:{canary}@dev.azure.com/acme/_git/app";
        var arguments = new List<string> { "pack", "App/App.csproj", "-c", "Release" };
        arguments.AddRange(SecureBuild.Tests.Shared.SecretCanaries.Parameters(canary).Select(p => $"-p:{p.Key}={p.Value}"));
        var result = project.DotNet(env, arguments.ToArray());
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());

        SecureBuild.Tests.Shared.SecretCanaries.AssertAbsent(project.Directory, canary);

        var attestations = project.Path("App/bin/Release/attestations");
        foreach (var step in new[] { "compile", "pack" })
        {
            var statement = Payload(Path.Combine(attestations, step + ".provenance.intoto.jsonl"), key.Public);
            var definition = Obj(statement["predicate"], "buildDefinition");
            var external = Obj(definition, "externalParameters");
            var withheld = ((JsonList)external["withheldGlobalProperties"]).Select(n => ((JsonString)n).Value).ToList();
            Assert.That(withheld, Is.SupersetOf(SecureBuild.Tests.Shared.SecretCanaries.Names()), step + ": every -p: is named, none valued");
            Assert.That(Str(Obj(external, "source"), "uri"), Is.EqualTo("git+https://example.com/acme/app.git"));
            var environment = Obj(Obj(definition, "internalParameters"), "environment");
            Assert.That(Str(environment, "BUILD_REPOSITORY_URI"), Is.EqualTo("https://dev.azure.com/acme/_git/app"));
            var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            foreach (var pair in environment.Concat(Obj(external, "globalProperties")))
            {
                var value = ((JsonString)pair.Value).Value;
                Assert.That(value, Does.Not.StartWith("/").And.Not.Contain(home + "/").And.Not.Contain(SdkFeed.WorkRoot),
                    $"{step}: {pair.Key} holds a machine path");
            }
            Assert.That(Str(environment, "DOTNET_HOST_PATH"), Does.StartWith("@dotnet/").Or.StartWith("@external/"), "the dotnet host is named like an artifact");
        }
    }

    private static string NuGetPackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") ??
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

    private static void Git(string directory, params string[] arguments)
    {
        var result = Run.Process("git", arguments, directory);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
    }
}

using System.IO.Compression;
using SecureBuild.IntegrationTests.Infrastructure;

namespace SecureBuild.IntegrationTests;

/// <summary>
/// This repository builds its own packages with SecureBuild.Sdk (build.sh runs build/pack-with-sdk.sh for each): two
/// clones of HEAD in different directories pack SecureBuild.Sdk with the SDK under test and get the same bytes, and the
/// repository's own links verify against a strict layout with in-toto-verify and securebuild verify.
/// It clones the committed HEAD, so it checks the wiring as committed (build/pack-with-sdk.sh, Directory.Build.props/.targets).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class DogfoodTests
{
    private static readonly TimeSpan PackTimeout = TimeSpan.FromMinutes(10);

    [Test]
    public void Two_clones_of_this_repository_pack_the_SDK_with_itself_bit_identically_and_its_own_links_verify()
    {
        var isGit = Run.Process("git", new[] { "rev-parse", "--is-inside-work-tree" }, SdkFeed.RepoRoot);
        if (isGit.ExitCode != 0)
        {
            Assert.Ignore("the repository is not a git checkout, so there is no commit to clone: " + isGit.Output);
        }
        var work = Path.Combine(SdkFeed.WorkRoot, "dogfood-" + Guid.NewGuid().ToString("N"));
        // The SDK under test, as build.sh uses its bootstrap package: extracted, imported by path (SecureBuildDogfoodSdk).
        var sdk = Path.Combine(work, "sdk");
        ZipFile.ExtractToDirectory(Path.Combine(SdkFeed.FeedDirectory, $"SecureBuild.Sdk.{SdkFeed.Version}.nupkg"), sdk);
        var keys = Path.Combine(work, "keys");
        Directory.CreateDirectory(keys);
        var functionary = Links.Keygen(keys, "ed25519", "build.key");
        var owner = Links.Keygen(keys, "rsa", "owner.key");
        var env = new Dictionary<string, string?> { ["SecureBuildSigningKey"] = functionary.PrivatePath, ["SOURCE_DATE_EPOCH"] = null };

        var clones = new[] { Path.Combine(work, "a", "SecureBuild.Sdk"), Path.Combine(work, "second-clone", "elsewhere", "sb") };
        var packages = new List<string>();
        foreach (var clone in clones)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(clone)!);
            Git(work, "clone", "-q", SdkFeed.RepoRoot, clone);
            var pack = PackWithSdk(clone, sdk, env, "src/SecureBuild.Sdk/SecureBuild.Sdk.csproj", "-o", "artifacts/packages");
            Assert.That(pack.ExitCode, Is.EqualTo(0), pack.ToString());
            var packed = Directory.GetFiles(Path.Combine(clone, "artifacts/packages"), "*.nupkg");
            Assert.That(packed, Has.Length.EqualTo(1), "one package: " + string.Join(", ", packed));
            packages.Add(packed[0]);
        }
        Assert.That(Path.GetFileName(packages[1]), Is.EqualTo(Path.GetFileName(packages[0])));
        Assert.That(Links.Sha256(packages[1]), Is.EqualTo(Links.Sha256(packages[0])),
            "the clones packed different bytes; entries that differ: " + DifferingEntries(packages[0], packages[1]));

        // The first clone also packs the tool twice (the pointer package and -r any) as build.sh does, so its layout covers
        // every project of src/ and two packs of one project (pack, pack-any) that must not replace each other's link.
        var first = clones[0];
        foreach (var rid in new[] { "pointer", "any" })
        {
            var arguments = new List<string> { "-o", "artifacts/packages", $"-p:PublishDir={Path.Combine(first, "artifacts/publish", rid)}/" };
            if (rid != "pointer")
            {
                arguments.AddRange(new[] { "-r", rid });
            }
            var tool = PackWithSdk(first, sdk, env, "src/SecureBuild.Cli/SecureBuild.Cli.csproj", arguments.ToArray());
            Assert.That(tool.ExitCode, Is.EqualTo(0), tool.ToString());
        }
        var cliLinks = Path.Combine(first, "src/SecureBuild.Cli/bin/Release/attestations");
        foreach (var step in new[] { "pack", "pack-any", "publish-any" })
        {
            var link = Links.LoadVerified(Path.Combine(cliLinks, Links.FileName(step, functionary.Public)), functionary.Public);
            Assert.That(link.Products.Keys, Has.Some.StartsWith("artifacts/"), $"{step}: {string.Join(", ", link.Products.Keys)}");
        }

        // The shipped package is the one the SDK recorded: its signed pack link and provenance name it, and the other
        // clone's package matches this clone's provenance (the reproducibility claim, checked the way a consumer would).
        var sdkLinks = Path.Combine(first, "src/SecureBuild.Sdk/bin/Release/attestations");
        var packLink = Links.LoadVerified(Path.Combine(sdkLinks, Links.FileName("pack", functionary.Public)), functionary.Public);
        var shipped = "artifacts/packages/" + Path.GetFileName(packages[0]);
        Assert.That(packLink.Products.Keys, Does.Contain(shipped));
        Assert.That(packLink.Products[shipped]["sha256"], Is.EqualTo(Links.Sha256(packages[0])));
        foreach (var artifact in packages)
        {
            var provenance = SdkFeed.Securebuild(first, "provenance", "verify", "--artifact", artifact,
                "--provenance", Path.Combine(sdkLinks, "pack.provenance.intoto.jsonl"), "--key", functionary.PrivatePath + ".pub");
            Assert.That(provenance.ExitCode, Is.EqualTo(0), provenance.ToString());
        }

        // One strict layout over the links of every src/ project, verified from the clone's root by both verifiers.
        var layout = Path.Combine(keys, "repository.layout");
        var linkDirs = new[] { "SecureBuild.Core", "SecureBuild.Tasks", "SecureBuild.Cli", "SecureBuild.Sdk" }
            .SelectMany(p => new[] { "--link-dir", $"src/{p}/bin/Release/attestations" });
        var created = SdkFeed.Securebuild(first, new[] { "layout", "new" }.Concat(linkDirs)
            .Concat(new[] { "--functionary", functionary.PrivatePath + ".pub", "--sign", owner.PrivatePath, "-o", layout }).ToArray());
        Assert.That(created.ExitCode, Is.EqualTo(0), created.ToString());
        Assert.That(created.Output, Does.Contain("src/SecureBuild.Cli/bin/Release/attestations/pack-any").And.Contain("src/SecureBuild.Tasks/bin/Release/attestations/compile-net472"),
            created.ToString());
        var verified = InToto.Verify(first, layout, ".", (owner.PrivatePath + ".pub", "rsa"));
        Assert.That(verified.ExitCode, Is.EqualTo(0), verified.ToString());
        var ours = SdkFeed.Securebuild(first, "verify", "-l", layout, "-k", owner.PrivatePath + ".pub", "-d", ".");
        Assert.That(ours.ExitCode, Is.EqualTo(0), ours.ToString());

        // Both must notice a step whose link is gone (the layout is strict about every step) and a package changed after it.
        File.Delete(Path.Combine(cliLinks, Links.FileName("pack-any", functionary.Public)));
        var missing = InToto.Verify(first, layout, ".", (owner.PrivatePath + ".pub", "rsa"));
        Assert.That(missing.ExitCode, Is.Not.EqualTo(0), missing.ToString());
        var missingOurs = SdkFeed.Securebuild(first, "verify", "-l", layout, "-k", owner.PrivatePath + ".pub", "-d", ".");
        Assert.That(missingOurs.ExitCode, Is.EqualTo(1), missingOurs.ToString());
        File.AppendAllText(packages[1], "\n");
        var tampered = SdkFeed.Securebuild(first, "provenance", "verify", "--artifact", packages[1],
            "--provenance", Path.Combine(sdkLinks, "pack.provenance.intoto.jsonl"), "--key", functionary.PrivatePath + ".pub");
        Assert.That(tampered.ExitCode, Is.EqualTo(1), tampered.ToString());
    }

    /// <summary>build/pack-with-sdk.sh as build.sh runs it, with the SDK under test instead of the bootstrap package.</summary>
    private static ProcessResult PackWithSdk(string clone, string sdk, IDictionary<string, string?> environment, string project, params string[] arguments) =>
        Run.Process("bash", new[] { "build/pack-with-sdk.sh", project, $"-p:SecureBuildDogfoodSdk={sdk}/" }.Concat(arguments), clone, environment, PackTimeout);

    private static string DifferingEntries(string a, string b)
    {
        using var first = ZipFile.OpenRead(a);
        using var second = ZipFile.OpenRead(b);
        string Describe(ZipArchiveEntry e)
        {
            using var stream = e.Open();
            return $"{e.LastWriteTime:O} {Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream))}";
        }
        var left = first.Entries.ToDictionary(e => e.FullName, Describe);
        var right = second.Entries.ToDictionary(e => e.FullName, Describe);
        var names = left.Keys.Union(right.Keys).Where(n => !left.TryGetValue(n, out var l) || !right.TryGetValue(n, out var r) || l != r).ToList();
        return names.Count == 0 ? "none (the zip containers differ)" : string.Join(", ", names);
    }

    private static void Git(string directory, params string[] arguments)
    {
        var result = Run.Process("git", arguments, directory);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
    }
}

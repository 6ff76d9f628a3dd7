using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;

namespace SecureBuild.Reproducibility.Tests.Integration;

/// <summary>
/// Rebuilder and approver roles end to end: a real `dotnet pack` of samples/Hello's library records the build's
/// links; `layout new --roles` adds the rebuild and release steps; a real `securebuild rebuild --link-key` signs the
/// rebuilt package; `securebuild approve` signs the approval; both our verifier and the reference in-toto-verify pass,
/// and both refuse once the approval is missing.
/// </summary>
public sealed class ReleaseRolesSampleTests
{
    private const string LinkDir = "src/Greeting/bin/Release/attestations";

    [Test]
    public void A_packed_library_rebuilt_by_a_rebuilder_and_approved_verifies_with_both_verifiers()
    {
        var sample = Feed.CopySample("Hello", "hello-roles");
        Directory.CreateDirectory(Path.Combine(sample, "keys"));
        foreach (var name in new[] { "owner", "builder", "rebuilder", "approver" })
        {
            var key = SigningKey.Generate(KeyType.Ed25519);
            File.WriteAllText(Path.Combine(sample, "keys", name + ".key"), key.ExportPrivate());
            File.WriteAllText(Path.Combine(sample, "keys", name + ".pub"), key.ExportPublic());
        }

        File.WriteAllText(Path.Combine(sample, "roles.json"), """
            {
              "_type": "securebuild-roles/v1",
              "layout_owners": { "functionaries": ["keys/owner.pub"] },
              "roles": { "builder": { "functionaries": ["keys/builder.pub"] } },
              "steps": { "restore*": "builder", "compile*": "builder", "pack": "builder" },
              "rebuilders": { "functionaries": ["keys/rebuilder.pub"], "threshold": 1 },
              "approvers": { "functionaries": ["keys/approver.pub"], "threshold": 1 }
            }
            """);
        var epoch = new Dictionary<string, string?> { ["SOURCE_DATE_EPOCH"] = "1700000000" };
        var pack = Feed.DotNet(sample, new Dictionary<string, string?>(epoch) { ["SecureBuildSigningKey"] = Path.Combine(sample, "keys", "builder.key") },
            "pack", "src/Greeting/Greeting.csproj", "-c", "Release", "-nologo");
        Assert.That(pack.ExitCode, Is.EqualTo(0), pack.ToString());

        var layout = Feed.Securebuild(sample, null, "layout", "new", "--roles", "roles.json", "--sign", "keys/owner.key", "--link-dir", LinkDir, "-o", "root.layout");
        Assert.That(layout.Exit, Is.EqualTo(0), layout.Out + layout.Err);
        Assert.That(layout.Out, Does.Contain("rebuild: role rebuilders (1 of keys/rebuilder.pub").And.Contain("release: role approvers (1 of keys/approver.pub"));

        // The rebuilder builds the library twice from clean copies and signs the package only because both agree.
        var rebuild = Feed.Securebuild(sample, epoch, "rebuild", "src/Greeting/Greeting.csproj", "--link-key", "keys/rebuilder.key", "--link-dir", LinkDir);
        Assert.That(rebuild.Exit, Is.EqualTo(0), rebuild.Out + rebuild.Err);
        var rebuilt = LinkFile.Read(Directory.GetFiles(Path.Combine(sample, LinkDir), "rebuild.*.link").Single()).Link;
        Assert.That(rebuilt.Products.Select(p => p.Key), Does.Contain("src/Greeting/bin/Release/Greeting.1.0.0.nupkg"));

        var approve = Feed.Securebuild(sample, null, "approve", "src/Greeting/bin/Release", "--key", "keys/approver.key", "--link-dir", LinkDir);
        Assert.That(approve.Exit, Is.EqualTo(0), approve.Out + approve.Err);

        var ours = Feed.Securebuild(sample, null, "verify", "-l", "root.layout", "-k", "keys/owner.pub", "-t", "ed25519", "-d", LinkDir, "--roles", "roles.json");
        Assert.That(ours.Exit, Is.EqualTo(0), ours.Out + ours.Err);
        Assert.That(ours.Out, Does.Contain("rebuild: role rebuilders, performed by keys/rebuilder.pub").And.Contain("release: role approvers, performed by keys/approver.pub"));
        var reference = ReferenceVerify(sample);
        Assert.That(reference.ExitCode, Is.EqualTo(0), reference.ToString());

        // Without the approval neither verifier passes the release.
        foreach (var approval in Directory.GetFiles(Path.Combine(sample, LinkDir), "release.*.link"))
        {
            File.Delete(approval);
        }

        ours = Feed.Securebuild(sample, null, "verify", "-l", "root.layout", "-k", "keys/owner.pub", "-t", "ed25519", "-d", LinkDir, "--roles", "roles.json");
        Assert.That(ours.Exit, Is.EqualTo(1), ours.Out + ours.Err);
        Assert.That(ours.Err, Does.Contain("SB5275").And.Contain("keys/approver.pub"));
        Assert.That(ReferenceVerify(sample).ExitCode, Is.EqualTo(1));
    }

    private static SecureBuild.TestSupport.ProcessResult ReferenceVerify(string sample) =>
        Feed.Process("in-toto-verify", new[] { "--layout", "root.layout", "--link-dir", LinkDir, "--layout-keys", "keys/owner.pub", "--key-types", "ed25519" }, sample);
}

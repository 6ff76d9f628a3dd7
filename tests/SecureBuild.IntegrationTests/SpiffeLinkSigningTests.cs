using SecureBuild.Core.InToto;
using SecureBuild.IntegrationTests.Infrastructure;
using SecureBuild.TestSupport.Spiffe;

namespace SecureBuild.IntegrationTests;

/// <summary>
/// SecureBuildSigning=spiffe in a real `dotnet build` with file SVIDs from a test trust domain: every step's link is
/// signed with the SVID and carries its chain, `securebuild layout new --functionary-spiffe` writes a layout that
/// names the SPIFFE ID, and `securebuild verify` accepts the links by that identity, and refuses another workload's.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class SpiffeLinkSigningTests
{
    [Test]
    public void A_spiffe_signed_build_verifies_against_a_layout_that_names_the_builder_by_spiffe_id()
    {
        var pki = SvidTestPki.Create("ci.example");
        var project = new TestProject("spiffe-links").WithConsoleApp("App");
        var (chain, key, bundle) = pki.WriteSvid(project.Path("svid"), "spiffe://ci.example/builder/linux", TimeSpan.FromHours(1));
        var build = project.DotNet("build", "App/App.csproj", "-c", "Release", "-p:SecureBuildSigning=spiffe",
            $"-p:SecureBuildSvidFile={chain}", $"-p:SecureBuildSvidKeyFile={key}", $"-p:SecureBuildSvidBundleFile={bundle}");
        Assert.That(build.ExitCode, Is.EqualTo(0), build.ToString());

        var attestations = project.Path("App/bin/Release/attestations");
        var links = LinkFile.FindIn(attestations);
        Assert.That(links, Is.Not.Empty);
        foreach (var link in links)
        {
            Assert.That(Metablock.Load(link).Signatures.Single().Cert, Does.StartWith("-----BEGIN CERTIFICATE-----"), link);
        }

        var owner = Links.Keygen(project.Directory, "ed25519", "owner.key");
        var layout = SdkFeed.Securebuild(project.Directory, "layout", "new", "--link-dir", attestations, "--functionary-spiffe", "spiffe://ci.example/builder/*",
            "--spiffe-bundle", bundle, "--sign", owner.PrivatePath, "-o", "app.layout");
        Assert.That(layout.ExitCode, Is.EqualTo(0), layout.ToString());
        Assert.That(layout.Output, Does.Not.Contain("SB3016"));

        var verify = SdkFeed.Securebuild(project.Directory, "verify", "-l", "app.layout", "-k", owner.PrivatePath + ".pub", "-t", "ed25519", "-d", attestations);
        Assert.That(verify.ExitCode, Is.EqualTo(0), verify.ToString());

        // Another workload of the same trust domain builds: its SVID is valid, but not the builder's.
        (chain, key, bundle) = pki.WriteSvid(project.Path("svid"), "spiffe://ci.example/tester/linux", TimeSpan.FromHours(1));
        var rebuild = project.DotNet("build", "App/App.csproj", "-c", "Release", "-p:SecureBuildSigning=spiffe",
            $"-p:SecureBuildSvidFile={chain}", $"-p:SecureBuildSvidKeyFile={key}", $"-p:SecureBuildSvidBundleFile={bundle}");
        Assert.That(rebuild.ExitCode, Is.EqualTo(0), rebuild.ToString());
        verify = SdkFeed.Securebuild(project.Directory, "verify", "-l", "app.layout", "-k", owner.PrivatePath + ".pub", "-t", "ed25519", "-d", attestations);
        Assert.That(verify.ExitCode, Is.EqualTo(1), verify.ToString());
        Assert.That(verify.Output, Does.Contain("spiffe://ci.example/tester/linux").And.Contain("uris: spiffe://ci.example/builder/*"));
    }
}

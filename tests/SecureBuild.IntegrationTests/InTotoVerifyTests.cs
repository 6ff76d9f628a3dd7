using SecureBuild.Core.Crypto;
using SecureBuild.IntegrationTests.Infrastructure;

namespace SecureBuild.IntegrationTests;

/// <summary>The reference in-toto-verify (Debian's in-toto 1.3.1) accepts what the SDK records, and rejects tampering.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class InTotoVerifyTests
{
    private static string KeyDirectory()
    {
        var dir = Path.Combine(SdkFeed.WorkRoot, "verify-keys-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static TestProject MultiTargetedLibrary(string name)
    {
        var project = new TestProject(name);
        project.Write("Lib/Lib.csproj", """
            <Project Sdk="SecureBuild.Sdk">
              <PropertyGroup>
                <TargetFrameworks>net8.0;net10.0</TargetFrameworks>
                <Version>2.0.0</Version>
                <Authors>tests</Authors>
                <GenerateDocumentationFile>true</GenerateDocumentationFile>
              </PropertyGroup>
            </Project>
            """).Write("Lib/Greeter.cs", "namespace Lib;\n/// <summary>Greets.</summary>\npublic static class Greeter\n{\n    /// <summary>Hello.</summary>\n    public static string Hello() => \"hello\";\n}\n");
        return project;
    }

    [Test]
    public void Links_of_a_packed_multi_targeted_library_pass_and_tampering_fails()
    {
        var keys = KeyDirectory();
        var functionary = Links.Keygen(keys, "ed25519", "build.key");
        var owner = Links.Keygen(keys, "rsa", "owner.key");
        var project = MultiTargetedLibrary("intoto-pack");
        var env = new Dictionary<string, string?> { ["SecureBuildSigningKey"] = functionary.PrivatePath };

        var pack = project.DotNet(env, "pack", "Lib/Lib.csproj", "-c", "Release", "-m");
        Assert.That(pack.ExitCode, Is.EqualTo(0), pack.ToString());
        var linkDir = project.Path("Lib/bin/Release/attestations");
        Assert.That(Directory.GetFiles(linkDir).Select(Path.GetFileName), Is.EquivalentTo(
            Links.ExpectedFiles(functionary.Public, "restore", "compile-net8.0", "compile-net10.0", "pack")));
        var packLink = Links.LoadVerified(Path.Combine(linkDir, Links.FileName("pack", functionary.Public)), functionary.Public);
        Assert.That(packLink.Materials.Keys, Is.SupersetOf(new[] { "Lib/bin/Release/net8.0/Lib.dll", "Lib/bin/Release/net10.0/Lib.dll" }));
        Assert.That(packLink.Products["Lib/bin/Release/Lib.2.0.0.nupkg"]["sha256"], Is.EqualTo(Links.Sha256(project.Path("Lib/bin/Release/Lib.2.0.0.nupkg"))));

        var layout = Path.Combine(keys, "root.layout");
        var created = SdkFeed.Securebuild(project.Directory, "layout", "new", "--link-dir", linkDir, "--functionary", functionary.PrivatePath + ".pub",
            "--sign", owner.PrivatePath, "-o", layout);
        Assert.That(created.ExitCode, Is.EqualTo(0), created.ToString());

        var verified = InToto.Verify(project.Directory, layout, linkDir, (owner.PrivatePath + ".pub", "rsa"));
        Assert.That(verified.ExitCode, Is.EqualTo(0), verified.ToString());
        Assert.That(verified.Output, Does.Contain("The software product passed all verification."));

        // A product hash edited after signing: the link no longer verifies and the step has no valid link.
        var compileLink = Path.Combine(linkDir, Links.FileName("compile-net8.0", functionary.Public));
        var original = File.ReadAllText(compileLink);
        var dllHash = Links.Sha256(project.Path("Lib/obj/Release/net8.0/Lib.dll"));
        Assert.That(original, Does.Contain(dllHash));
        File.WriteAllText(compileLink, original.Replace(dllHash, new string('0', 64)));
        var tampered = InToto.Verify(project.Directory, layout, linkDir, (owner.PrivatePath + ".pub", "rsa"));
        Assert.That(tampered.ExitCode, Is.EqualTo(1), tampered.ToString());
        Assert.That(tampered.Output, Does.Contain("ThresholdVerificationError").And.Contain("compile-net8.0"));
        File.WriteAllText(compileLink, original);

        // An output swapped between compile and pack: pack's materials no longer match compile's products.
        File.AppendAllText(project.Path("Lib/bin/Release/net8.0/Lib.dll"), "injected");
        var repack = project.DotNet(env, "pack", "Lib/Lib.csproj", "-c", "Release", "--no-build");
        Assert.That(repack.ExitCode, Is.EqualTo(0), repack.ToString());
        var swapped = InToto.Verify(project.Directory, layout, linkDir, (owner.PrivatePath + ".pub", "rsa"));
        Assert.That(swapped.ExitCode, Is.EqualTo(1), swapped.ToString());
        Assert.That(swapped.Output, Does.Contain("RuleVerificationError").And.Contain("Lib/bin/Release/net8.0/Lib.dll"));
    }

    [Test]
    public void A_key_made_by_in_toto_keygen_signs_links_in_toto_verify_accepts([Values("ecdsa", "ed25519")] string type)
    {
        var keys = KeyDirectory();
        var keyPath = Path.Combine(keys, "functionary");
        var gen = Run.Process("/usr/bin/in-toto-keygen", new[] { "-t", type, keyPath }, keys);
        Assert.That(gen.ExitCode, Is.EqualTo(0), gen.ToString());
        var owner = Links.Keygen(keys, "rsa", "owner.key");
        var project = new TestProject("intoto-keygen-" + type).WithConsoleApp("App");
        var build = project.DotNet(new Dictionary<string, string?> { ["SecureBuildSigningKey"] = keyPath }, "build", "App/App.csproj", "-c", "Release");
        Assert.That(build.ExitCode, Is.EqualTo(0), build.ToString());

        var linkDir = project.Path("App/bin/Release/attestations");
        var layout = Path.Combine(keys, "root.layout");
        var created = SdkFeed.Securebuild(project.Directory, "layout", "new", "--link-dir", linkDir, "--functionary", keyPath + ".pub",
            "--sign", owner.PrivatePath, "-o", layout);
        Assert.That(created.ExitCode, Is.EqualTo(0), created.ToString());
        var verified = InToto.Verify(project.Directory, layout, linkDir, (owner.PrivatePath + ".pub", "rsa"));
        Assert.That(verified.ExitCode, Is.EqualTo(0), verified.ToString());
        Assert.That(Directory.GetFiles(linkDir).Select(Path.GetFileName), Does.Contain(Links.FileName("compile", PublicKey.Load(keyPath + ".pub"))));
    }

    [Test]
    public void With_SecureBuildLayout_set_the_build_verifies_its_links_and_fails_on_a_swapped_output()
    {
        var keys = KeyDirectory();
        var functionary = Links.Keygen(keys, "ed25519", "build.key");
        var owner = Links.Keygen(keys, "rsa", "owner.key");
        var project = MultiTargetedLibrary("in-build-verify");
        var env = new Dictionary<string, string?> { ["SecureBuildSigningKey"] = functionary.PrivatePath };
        var first = project.DotNet(env, "pack", "Lib/Lib.csproj", "-c", "Release");
        Assert.That(first.ExitCode, Is.EqualTo(0), first.ToString());
        var layout = Path.Combine(keys, "root.layout");
        var created = SdkFeed.Securebuild(project.Directory, "layout", "new", "--link-dir", project.Path("Lib/bin/Release/attestations"),
            "--functionary", functionary.PrivatePath + ".pub", "--sign", owner.PrivatePath, "-o", layout);
        Assert.That(created.ExitCode, Is.EqualTo(0), created.ToString());
        var policy = new[] { $"-p:SecureBuildLayout={layout}", $"-p:SecureBuildLayoutKeys={owner.PrivatePath}.pub" };

        var verified = project.DotNet(env, new[] { "pack", "Lib/Lib.csproj", "-c", "Release" }.Concat(policy).ToArray());
        Assert.That(verified.ExitCode, Is.EqualTo(0), verified.ToString());
        Assert.That(verified.Output, Does.Contain("verified against root.layout"));

        File.AppendAllText(project.Path("Lib/bin/Release/net10.0/Lib.dll"), "injected");
        var swapped = project.DotNet(env, new[] { "pack", "Lib/Lib.csproj", "-c", "Release", "--no-build" }.Concat(policy).ToArray());
        Assert.That(swapped.ExitCode, Is.Not.EqualTo(0), swapped.ToString());
        Assert.That(swapped.Output, Does.Contain("error SB1100").And.Contain("RuleVerificationError").And.Contain("Lib/bin/Release/net10.0/Lib.dll"));
        Assert.That(swapped.Output, Does.Contain("step 'pack'"));

        var noKeys = project.DotNet(env, "build", "Lib/Lib.csproj", "-c", "Release", $"-p:SecureBuildLayout={layout}");
        Assert.That(noKeys.ExitCode, Is.Not.EqualTo(0));
        Assert.That(noKeys.Output, Does.Contain("error SB1102"));
    }
}

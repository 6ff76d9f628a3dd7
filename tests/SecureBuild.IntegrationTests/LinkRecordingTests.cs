using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.IntegrationTests.Infrastructure;

namespace SecureBuild.IntegrationTests;

/// <summary>`dotnet build` with the SDK writes signed restore and compile links that name artifacts portably.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class LinkRecordingTests
{
    private static (string Path, PublicKey Public) NewKey(string type = "ed25519")
    {
        var dir = Path.Combine(SdkFeed.WorkRoot, "keys-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return Links.Keygen(dir, type, "build.key");
    }

    private static Dictionary<string, string?> WithKey(string keyPath) => new() { ["SecureBuildSigningKey"] = keyPath };

    [Test]
    public void Build_writes_restore_and_compile_links_named_relative_to_the_root()
    {
        var key = NewKey();
        var project = new TestProject("basic").WithConsoleApp("App", extraItems: """<PackageReference Include="Newtonsoft.Json" Version="13.0.3" />""");
        var build = project.DotNet(WithKey(key.Path), "build", "App/App.csproj");
        Assert.That(build.ExitCode, Is.EqualTo(0), build.ToString());

        var attestations = project.Path("App/bin/Debug/attestations");
        var restore = Links.LoadVerified(Path.Combine(attestations, Links.FileName("restore", key.Public)), key.Public);
        var compile = Links.LoadVerified(Path.Combine(attestations, Links.FileName("compile", key.Public)), key.Public);

        Assert.That(restore.Name, Is.EqualTo("restore"));
        Assert.That(restore.Materials.Keys, Is.SupersetOf(new[] { "App/App.csproj", "nuget.config", "global.json" }));
        Assert.That(restore.Products.Keys, Does.Contain("App/obj/project.assets.json"));
        Assert.That(restore.Products.Keys, Does.Contain("App/obj/App.csproj.nuget.g.props"));

        Assert.That(compile.Name, Is.EqualTo("compile"));
        Assert.That(compile.Materials["App/Program.cs"]["sha256"], Is.EqualTo(Links.Sha256(project.Path("App/Program.cs"))));
        Assert.That(compile.Materials.Keys, Has.Some.StartsWith("@nuget/newtonsoft.json/13.0.3/lib/"));
        Assert.That(compile.Materials.Keys, Has.Some.StartsWith("@dotnet/packs/Microsoft.NETCore.App.Ref/"));
        Assert.That(compile.Materials.Keys, Has.Some.StartsWith("@dotnet/sdk/"), "the SDK's analyzers are compiler inputs");
        Assert.That(compile.Products.Keys, Is.SupersetOf(new[] { "App/obj/Debug/net10.0/App.dll", "App/obj/Debug/net10.0/App.pdb", "App/obj/Debug/net10.0/ref/App.dll" }));
        Assert.That(compile.Products["App/obj/Debug/net10.0/App.dll"]["sha256"], Is.EqualTo(Links.Sha256(project.Path("App/obj/Debug/net10.0/App.dll"))));
        Assert.That(compile.Command, Is.EqualTo(new[] { "dotnet", "msbuild", "App/App.csproj", "-t:CoreCompile", "-p:Configuration=Debug", "-p:TargetFramework=net10.0" }));

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        foreach (var file in Directory.EnumerateFiles(attestations))
        {
            var text = File.ReadAllText(file);
            Assert.That(text, Does.Not.Contain(project.Directory), $"{file} names an absolute path");
            Assert.That(text, Does.Not.Contain(home + "/"), $"{file} names the home directory");
            Assert.That(text, Does.Not.Contain("/usr/share/dotnet"), $"{file} names the dotnet install directory");
        }
        Assert.That(build.Output, Does.Not.Contain("SB2001"), "no development-key warning when a key is configured");
    }

    /// <summary>
    /// Every supported key type and format signs the links of a real build, each named by its key's id: ecdsa and rsa
    /// securesystemslib keys, and a PKCS#8 PEM ed25519 key made by openssl. One project is built once per key, the key
    /// being all that changes between the builds: the link file names carry the key id, so each build writes its own
    /// restore and compile links with its own key, as a clean build does (BuildShapeTests shows a no-op build re-signs
    /// for a new key), and the project is restored and compiled once instead of once per key.
    /// </summary>
    [Test]
    public void Each_supported_key_type_and_format_signs_links_named_by_its_keyid()
    {
        var dir = Path.Combine(SdkFeed.WorkRoot, "openssl-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var pemPath = Path.Combine(dir, "ed25519.pem");
        var gen = Run.Process("openssl", new[] { "genpkey", "-algorithm", "ed25519", "-out", pemPath }, dir);
        Assert.That(gen.ExitCode, Is.EqualTo(0), gen.ToString());
        var keys = new[] { ("ecdsa", NewKey("ecdsa")), ("rsa", NewKey("rsa")), ("PKCS#8 PEM ed25519", (Path: pemPath, Public: SigningKey.Load(pemPath).Public)) };

        var project = new TestProject("keytypes").WithConsoleApp("App");
        foreach (var (type, key) in keys)
        {
            var build = project.DotNet(WithKey(key.Path), "build", "App/App.csproj", "-c", "Release");
            Assert.That(build.ExitCode, Is.EqualTo(0), type + ": " + build);
            Links.LoadVerified(project.Path("App/bin/Release/attestations/" + Links.FileName("restore", key.Public)), key.Public);
            var link = Links.LoadVerified(project.Path("App/bin/Release/attestations/" + Links.FileName("compile", key.Public)), key.Public);
            Assert.That(link.Products.Keys, Does.Contain("App/obj/Release/net10.0/App.dll"), type);
        }
    }
}

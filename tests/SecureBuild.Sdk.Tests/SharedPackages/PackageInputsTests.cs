namespace SecureBuild.Sdk.Tests.SharedPackages;

/// <summary>
/// The content key of the package folder the test projects share (<see cref="PackageInputs"/>, <see cref="SdkPackageFeed"/>):
/// any change to what the packages are built from gives a new key and version, so a stale package is never reused; what
/// is not an input (build outputs, tests, docs) leaves the key as it is, so unchanged sources are packed once.
/// </summary>
public sealed class PackageInputsTests
{
    private const string Sdk = "10.0.100";

    private static TempDirectory Checkout()
    {
        var checkout = new TempDirectory();
        checkout.Write("Directory.Build.props", "<Project />\n");
        checkout.Write("Directory.Build.targets", "<Project />\n");
        checkout.Write("Directory.Packages.props", "<Project />\n");
        checkout.Write("global.json", "{ \"sdk\": { \"version\": \"10.0.100\" } }\n");
        checkout.Write("src/SecureBuild.Sdk/Sdk/Sdk.props", "<Project />\n");
        checkout.Write("src/SecureBuild.Core/Hex.cs", "class Hex { }\n");
        checkout.Write("src/SecureBuild.Core/bin/Release/SecureBuild.Core.dll", "built");
        checkout.Write("src/SecureBuild.Core/obj/project.assets.json", "{}");
        checkout.Write("tests/X/XTests.cs", "class XTests { }\n");
        checkout.Write("README.md", "# readme\n");
        return checkout;
    }

    private static string Key(TempDirectory checkout, string sdk = Sdk) => PackageInputs.Key(PackageInputs.Manifest(checkout.Path, sdk));

    [TestCase("src/SecureBuild.Core/Hex.cs", "class Hex { int x; }\n", Description = "a source file edited")]
    [TestCase("src/SecureBuild.Core/Added.cs", "class Added { }\n", Description = "a source file added")]
    [TestCase("src/SecureBuild.Sdk/Sdk/Sdk.props", "<Project><PropertyGroup /></Project>\n", Description = "an SDK file edited")]
    [TestCase("Directory.Build.props", "<Project><PropertyGroup /></Project>\n", Description = "the root props edited")]
    [TestCase("Directory.Packages.props", "<Project><ItemGroup /></Project>\n", Description = "a package version changed")]
    [TestCase("global.json", "{ \"sdk\": { \"version\": \"10.0.200\" } }\n", Description = "another pinned .NET SDK")]
    [TestCase("NuGet.Config", "<configuration />\n", Description = "a nuget.config added, in any letter case")]
    public void A_changed_input_gives_a_new_key_and_version(string relative, string content)
    {
        using var checkout = Checkout();
        var before = Key(checkout);
        Assert.That(Key(checkout), Is.EqualTo(before), "the same tree gives the same key");
        checkout.Write(relative, content);
        var after = Key(checkout);
        Assert.That(after, Is.Not.EqualTo(before), relative);
        Assert.That(SdkPackageFeed.VersionOf(after), Is.Not.EqualTo(SdkPackageFeed.VersionOf(before)), "a new key is a new package version");
    }

    [Test]
    public void A_renamed_or_deleted_source_file_gives_a_new_key()
    {
        using var checkout = Checkout();
        var before = Key(checkout);
        File.Move(Path.Combine(checkout.Path, "src/SecureBuild.Core/Hex.cs"), Path.Combine(checkout.Path, "src/SecureBuild.Core/Hex2.cs"));
        var renamed = Key(checkout);
        Assert.That(renamed, Is.Not.EqualTo(before));
        File.Delete(Path.Combine(checkout.Path, "src/SecureBuild.Core/Hex2.cs"));
        Assert.That(Key(checkout), Is.Not.EqualTo(before).And.Not.EqualTo(renamed));
    }

    [Test]
    public void Another_dotnet_sdk_gives_a_new_key()
    {
        using var checkout = Checkout();
        Assert.That(Key(checkout, "10.0.101"), Is.Not.EqualTo(Key(checkout, "10.0.100")));
    }

    [TestCase("src/SecureBuild.Core/bin/Release/SecureBuild.Core.dll", Description = "a build output")]
    [TestCase("src/SecureBuild.Core/obj/project.assets.json", Description = "restore output")]
    [TestCase("tests/X/XTests.cs", Description = "a test")]
    [TestCase("README.md", Description = "the repository's readme")]
    public void What_the_packages_are_not_built_from_leaves_the_key(string relative)
    {
        using var checkout = Checkout();
        var before = Key(checkout);
        checkout.Write(relative, "changed");
        Assert.That(Key(checkout), Is.EqualTo(before), relative);
    }

    [Test]
    public void The_manifest_names_each_input_with_its_digest_and_the_version_is_a_nuget_prerelease()
    {
        using var checkout = Checkout();
        var manifest = PackageInputs.Manifest(checkout.Path, Sdk);
        Assert.That(manifest.Split('\n', StringSplitOptions.RemoveEmptyEntries), Is.EqualTo(new[]
        {
            "dotnet-sdk 10.0.100",
            "file Directory.Build.props " + SecureBuild.Core.Crypto.Sha256Hex.Of("<Project />\n"),
            "file Directory.Build.targets " + SecureBuild.Core.Crypto.Sha256Hex.Of("<Project />\n"),
            "file Directory.Packages.props " + SecureBuild.Core.Crypto.Sha256Hex.Of("<Project />\n"),
            "file global.json " + SecureBuild.Core.Crypto.Sha256Hex.Of("{ \"sdk\": { \"version\": \"10.0.100\" } }\n"),
            "file src/SecureBuild.Core/Hex.cs " + SecureBuild.Core.Crypto.Sha256Hex.Of("class Hex { }\n"),
            "file src/SecureBuild.Sdk/Sdk/Sdk.props " + SecureBuild.Core.Crypto.Sha256Hex.Of("<Project />\n"),
        }));
        Assert.That(SdkPackageFeed.VersionOf(PackageInputs.Key(manifest)), Does.Match("^0\\.1\\.0-k[0-9a-f]{16}$"));
    }
}

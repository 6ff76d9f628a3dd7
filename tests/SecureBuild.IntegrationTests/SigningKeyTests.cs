using SecureBuild.Core.Crypto;
using SecureBuild.IntegrationTests.Infrastructure;

namespace SecureBuild.IntegrationTests;

/// <summary>What a user sees when the signing key is missing, wrong or not configured.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class SigningKeyTests
{
    private static string KeyDirectory()
    {
        var dir = Path.Combine(SdkFeed.WorkRoot, "badkeys-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    private static IEnumerable<TestCaseData> BadKeys()
    {
        yield return new TestCaseData("missing", "SB1001").SetName("A missing key file fails with SB1001");
        yield return new TestCaseData("public", "SB1003").SetName("A public key given as the signing key fails with SB1003");
        yield return new TestCaseData("garbage", "SB1005").SetName("A malformed PEM fails with SB1005");
        yield return new TestCaseData("truncated-json", "SB1005").SetName("A truncated JSON key fails with SB1005");
        yield return new TestCaseData("directory", "SB1002").SetName("A directory given as the key fails with SB1002");
        yield return new TestCaseData("dev-zero", "SB1700").SetName("dev zero given as the key fails at once with SB1700 instead of hanging the build");
    }

    [TestCaseSource(nameof(BadKeys))]
    public void Bad_signing_key_fails_the_build_with_a_code_and_leaves_no_link(string kind, string code)
    {
        var dir = KeyDirectory();
        var keyPath = Path.Combine(dir, "key");
        switch (kind)
        {
            case "public":
                var good = Links.Keygen(dir, "ed25519", "real");
                keyPath = good.PrivatePath + ".pub";
                break;
            case "garbage":
                File.WriteAllText(keyPath, "-----BEGIN PRIVATE KEY-----\nnot base64 at all!!\n-----END PRIVATE KEY-----\n");
                break;
            case "truncated-json":
                File.WriteAllText(keyPath, "{\"keytype\": \"ed25519\", \"scheme\": \"ed25519\", \"keyval\": {\"public\": \"ab");
                break;
            case "directory":
                Directory.CreateDirectory(keyPath);
                break;
            case "dev-zero":
                Assume.That(File.Exists("/dev/zero"), "/dev/zero");
                keyPath = "/dev/zero"; // read to its end, it never ends: the build hung (DotNet's timeout bounds the test)
                break;
        }
        var project = new TestProject("badkey-" + kind).WithConsoleApp("App");
        var build = project.DotNet(new Dictionary<string, string?> { ["SecureBuildSigningKey"] = keyPath }, "build", "App/App.csproj");
        Assert.That(build.ExitCode, Is.Not.EqualTo(0), build.ToString());
        Assert.That(build.Output, Does.Contain($"error {code}"), build.ToString());
        var attestations = project.Path("App/bin/Debug/attestations");
        Assert.That(Directory.Exists(attestations) ? Directory.GetFiles(attestations, "*", SearchOption.AllDirectories) : Array.Empty<string>(),
            Is.Empty, "no link (and no temp file) may be left behind");
    }

    [Test]
    public void Without_a_key_a_development_key_is_created_once_and_the_build_warns()
    {
        var home = KeyDirectory();
        var env = new Dictionary<string, string?> { ["HOME"] = home, ["DOTNET_CLI_HOME"] = home, ["NUGET_PACKAGES"] = NuGetPackagesFolder() };
        var project = new TestProject("devkey").WithConsoleApp("App");

        var first = project.DotNet(env, "build", "App/App.csproj");
        Assert.That(first.ExitCode, Is.EqualTo(0), first.ToString());
        Assert.That(first.Output, Does.Contain("warning SB2001"));
        Assert.That(first.Output, Does.Contain("created a development signing key"));
        var keyFile = Path.Combine(home, ".securebuild", "development-key");
        Assert.That(File.Exists(keyFile), Is.True);
        Assert.That(OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : File.GetUnixFileMode(keyFile), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "the private key is readable by its owner only");
        var key = SigningKey.Load(keyFile).Public;
        Links.LoadVerified(project.Path("App/bin/Debug/attestations/" + Links.FileName("compile", key)), key);

        File.AppendAllText(project.Path("App/Program.cs"), "// changed\n");
        var second = project.DotNet(env, "build", "App/App.csproj");
        Assert.That(second.ExitCode, Is.EqualTo(0), second.ToString());
        Assert.That(second.Output, Does.Contain("warning SB2001"));
        Assert.That(second.Output, Does.Not.Contain("created a development signing key"), "the key is made only once");
        Assert.That(SigningKey.Load(keyFile).KeyId, Is.EqualTo(key.KeyId));
    }

    [Test]
    public void Requiring_a_key_turns_the_missing_key_into_error_SB1007()
    {
        var project = new TestProject("requirekey").WithConsoleApp("App", extraProperties: "<SecureBuildRequireSigningKey>true</SecureBuildRequireSigningKey>");
        var build = project.DotNet("build", "App/App.csproj");
        Assert.That(build.ExitCode, Is.Not.EqualTo(0));
        Assert.That(build.Output, Does.Contain("error SB1007"));
    }

    private static string NuGetPackagesFolder() =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") ??
        Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
}

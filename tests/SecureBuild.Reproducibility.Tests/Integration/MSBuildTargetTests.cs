namespace SecureBuild.Reproducibility.Tests.Integration;

/// <summary>`dotnet build -t:SecureBuildCheckReproducible`: the same check from MSBuild, for CI.</summary>
public sealed class MSBuildTargetTests
{
    private static string Key()
    {
        var key = SecureBuild.Core.Crypto.SigningKey.Generate(SecureBuild.Core.Crypto.KeyType.Ed25519);
        var path = Path.Combine(Feed.WorkRoot, "msbuild-" + Guid.NewGuid().ToString("N") + ".key");
        File.WriteAllText(path, key.ExportPrivate());
        return path;
    }

    [Test]
    public void A_deterministic_project_passes_and_writes_its_report_and_attestation()
    {
        var sample = Feed.SmallLibrary("lib-target");
        var run = Feed.DotNet(sample, new Dictionary<string, string?> { ["SecureBuildSigningKey"] = Key() },
            "build", "Lib/Lib.csproj", "-t:SecureBuildCheckReproducible", "-p:SecureBuildReproducibleCommand=build", "-nologo");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Output, Does.Contain("SecureBuild: reproducible:"));
        var dir = Path.Combine(sample, "Lib/bin/reproducibility");
        Assert.That(File.Exists(Path.Combine(dir, "report.html")), Is.True);
        Assert.That(File.Exists(Path.Combine(dir, "reproducibility.intoto.jsonl")), Is.True);
    }

    [Test]
    public void A_non_deterministic_project_fails_with_SB1500_naming_the_cause_and_fix()
    {
        var sample = Feed.CopySample("NonDeterministic", "nd-target");
        var run = Feed.DotNet(sample, new Dictionary<string, string?> { ["SecureBuildSigningKey"] = Key() },
            "build", "EnvironmentValue/EnvironmentValue.csproj", "-t:SecureBuildCheckReproducible", "-p:SecureBuildReproducibleCommand=build", "-nologo");
        Assert.That(run.ExitCode, Is.Not.EqualTo(0), run.ToString());
        Assert.That(run.Output, Does.Contain("error SB1500: Not reproducible: Value taken from the build environment: USER"));
        Assert.That(run.Output, Does.Contain("Fix: Do not read the environment at build time"));
        Assert.That(File.Exists(Path.Combine(sample, "EnvironmentValue/bin/reproducibility/report.html")), Is.True);
    }
}

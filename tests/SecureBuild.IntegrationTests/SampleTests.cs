using System.Text.RegularExpressions;
using SecureBuild.IntegrationTests.Infrastructure;

namespace SecureBuild.IntegrationTests;

/// <summary>The sample a newcomer builds (samples/Hello) builds, packs, publishes and verifies with in-toto-verify.</summary>
public sealed class SampleTests
{
    [Test]
    public void The_Hello_sample_builds_packs_publishes_and_its_links_verify()
    {
        var work = Path.Combine(SdkFeed.WorkRoot, "sample-" + Guid.NewGuid().ToString("N"));
        CopyDirectory(Path.Combine(SdkFeed.RepoRoot, "samples"), Path.Combine(work, "samples"));
        var sample = Path.Combine(work, "samples", "Hello");
        var globalJson = Path.Combine(sample, "global.json");
        File.WriteAllText(globalJson, Regex.Replace(File.ReadAllText(globalJson), "\"SecureBuild.Sdk\": \"[^\"]+\"", $"\"SecureBuild.Sdk\": \"{SdkFeed.Version}\""));
        var nugetConfig = Path.Combine(sample, "nuget.config");
        File.WriteAllText(nugetConfig, File.ReadAllText(nugetConfig).Replace("../../artifacts/packages", SdkFeed.FeedDirectory));

        var keys = Path.Combine(work, "keys");
        Directory.CreateDirectory(keys);
        var functionary = Links.Keygen(keys, "ecdsa", "build.key");
        var owner = Links.Keygen(keys, "rsa", "owner.key");
        var env = new Dictionary<string, string?> { ["SecureBuildSigningKey"] = functionary.PrivatePath };

        foreach (var args in new[]
        {
            new[] { "build", "Hello.sln", "-c", "Release" },
            new[] { "pack", "src/Greeting/Greeting.csproj", "-c", "Release", "--no-build" },
            new[] { "publish", "src/Hello/Hello.csproj", "-c", "Release", "--no-build" },
        })
        {
            var result = Run.DotNet(sample, env, args);
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        }
        var run = Run.Process("dotnet", new[] { Path.Combine(sample, "src/Hello/bin/Release/net10.0/publish/Hello.dll"), "tests" }, sample);
        Assert.That(run.Output.Trim(), Is.EqualTo("{\"message\":\"Hello, tests!\"}"));

        foreach (var (project, steps) in new[]
        {
            ("Greeting", new[] { "restore", "compile-net8.0", "compile-net10.0", "pack" }),
            ("Hello", new[] { "restore", "compile", "publish" }),
        })
        {
            var linkDir = Path.Combine(sample, "src", project, "bin/Release/attestations");
            Assert.That(Directory.GetFiles(linkDir).Select(Path.GetFileName), Is.EquivalentTo(Links.ExpectedFiles(functionary.Public, steps)));
            var layout = Path.Combine(keys, project + ".layout");
            var created = SdkFeed.Securebuild(sample, "layout", "new", "--link-dir", linkDir, "--functionary", functionary.PrivatePath + ".pub",
                "--sign", owner.PrivatePath, "-o", layout);
            Assert.That(created.ExitCode, Is.EqualTo(0), created.ToString());
            var verified = InToto.Verify(sample, layout, linkDir, (owner.PrivatePath + ".pub", "rsa"));
            Assert.That(verified.ExitCode, Is.EqualTo(0), verified.ToString());
            var ours = SdkFeed.Securebuild(sample, "verify", "-l", layout, "-k", owner.PrivatePath + ".pub", "-d", linkDir);
            Assert.That(ours.ExitCode, Is.EqualTo(0), ours.ToString());
            AssertStrict(layout);
        }

        // One layout for the solution: both projects' steps, chained across projects, verified from the solution directory.
        var solutionLayout = Path.Combine(keys, "Hello.sln.layout");
        var solution = SdkFeed.Securebuild(sample, "layout", "new",
            "--link-dir", "src/Greeting/bin/Release/attestations", "--link-dir", "src/Hello/bin/Release/attestations",
            "--functionary", functionary.PrivatePath + ".pub", "--sign", owner.PrivatePath, "-o", solutionLayout);
        Assert.That(solution.ExitCode, Is.EqualTo(0), solution.ToString());
        Assert.That(solution.Output, Does.Contain("layout with 7 steps"));
        var solutionVerified = InToto.Verify(sample, solutionLayout, sample, (owner.PrivatePath + ".pub", "rsa"));
        Assert.That(solutionVerified.ExitCode, Is.EqualTo(0), solutionVerified.ToString());
        var oursSolution = SdkFeed.Securebuild(sample, "verify", "-l", solutionLayout, "-k", owner.PrivatePath + ".pub", "-d", sample);
        Assert.That(oursSolution.ExitCode, Is.EqualTo(0), oursSolution.ToString());

        // Greeting.dll swapped after the library's compile, before the app's publish copies it: only the solution
        // layout sees it (the app's own layout cannot know what the library's compile produced).
        File.AppendAllText(Path.Combine(sample, "src/Greeting/bin/Release/net10.0/Greeting.dll"), "injected");
        var republished = Run.DotNet(sample, env, "publish", "src/Hello/Hello.csproj", "-c", "Release", "--no-build");
        Assert.That(republished.ExitCode, Is.EqualTo(0), republished.ToString());
        var swapped = InToto.Verify(sample, solutionLayout, sample, (owner.PrivatePath + ".pub", "rsa"));
        Assert.That(swapped.ExitCode, Is.Not.EqualTo(0), swapped.ToString());
        Assert.That(swapped.Output, Does.Contain("RuleVerificationError").And.Contain("src/Greeting/bin/Release/net10.0/Greeting.dll"), swapped.ToString());
    }

    /// <summary>`layout new` is strict by default: every step's material and product rules end with DISALLOW *.</summary>
    private static void AssertStrict(string layoutPath)
    {
        using var layout = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(layoutPath));
        foreach (var step in layout.RootElement.GetProperty("signed").GetProperty("steps").EnumerateArray())
        {
            foreach (var side in new[] { "expected_materials", "expected_products" })
            {
                var last = step.GetProperty(side).EnumerateArray().Last().EnumerateArray().Select(e => e.GetString()).ToArray();
                Assert.That(last, Is.EqualTo(new[] { "DISALLOW", "*" }), $"{step.GetProperty("name").GetString()} {side}");
            }
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            {
                continue;
            }
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

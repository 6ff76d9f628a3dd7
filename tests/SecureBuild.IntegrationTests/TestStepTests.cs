using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Json;
using SecureBuild.IntegrationTests.Infrastructure;

namespace SecureBuild.IntegrationTests;

/// <summary>
/// `dotnet test` records the test step: a signed link from the compiled test assembly to the TRX, and an in-toto
/// test-result attestation. One shared fixture (real test runs are slow): a project whose 2 tests pass, and one with a
/// failing and a skipped test, each run once; what they wrote is read at set-up, so the tests only look at it (the last
/// one, which tampers with an output, works on a copy of the passing project).
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class TestStepTests
{
    private static readonly string TestsProject = """
        <Project Sdk="SecureBuild.Sdk">
          <PropertyGroup>
            <TargetFramework>net10.0</TargetFramework>
            <IsTestProject>true</IsTestProject>
          </PropertyGroup>
          <ItemGroup>
            <PackageReference Include="Microsoft.NET.Test.Sdk" Version="18.11.0" />
            <PackageReference Include="NUnit" Version="4.4.0" />
            <PackageReference Include="NUnit3TestAdapter" Version="6.3.1" />
          </ItemGroup>
        </Project>
        """;

    private const string PassingTests = """
        using NUnit.Framework;
        namespace Tests;
        public static class Calculator { public static int Add(int a, int b) => a + b; }
        public class CalculatorTests
        {
            [Test] public void Adds() => Assert.That(Calculator.Add(1, 2), Is.EqualTo(3));
            [Test] public void Adds_negatives() => Assert.That(Calculator.Add(-1, -2), Is.EqualTo(-3));
        }
        """;

    private const string FailingTests = """
        public class BrokenTests
        {
            [NUnit.Framework.Test] public void Subtracts() => NUnit.Framework.Assert.That(Tests.Calculator.Add(5, -2), NUnit.Framework.Is.EqualTo(4));
            [NUnit.Framework.Test, NUnit.Framework.Ignore("not yet")] public void Multiplies() { }
        }
        """;

    private static readonly Lazy<Fixture> Shared = new(Fixture.Run, LazyThreadSafetyMode.ExecutionAndPublication);

    private sealed class Fixture
    {
        public required string Keys { get; init; }
        public required (string PrivatePath, PublicKey Public) Functionary { get; init; }
        public required (string PrivatePath, PublicKey Public) Owner { get; init; }
        public required TestProject Passing { get; init; }
        public required ProcessResult PassingRun { get; init; }
        public required Link PassingLink { get; init; }
        public required Link PassingCompile { get; init; }
        public required DsseEnvelope PassingResult { get; init; }
        public required ProcessResult FailingRun { get; init; }
        public required Link FailingLink { get; init; }
        public required DsseEnvelope FailingResult { get; init; }
        public required string PassingAssemblySha256 { get; init; }

        public static Fixture Run()
        {
            var keys = Path.Combine(SdkFeed.WorkRoot, "test-step-keys-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(keys);
            var functionary = Links.Keygen(keys, "ed25519", "build.key");
            var owner = Links.Keygen(keys, "rsa", "owner.key");
            var env = new Dictionary<string, string?> { ["SecureBuildSigningKey"] = functionary.PrivatePath };

            var passing = new TestProject("test-step-pass").Write("Tests/Tests.csproj", TestsProject).Write("Tests/CalculatorTests.cs", PassingTests);
            var failing = new TestProject("test-step-fail").Write("Tests/Tests.csproj", TestsProject).Write("Tests/CalculatorTests.cs", PassingTests)
                .Write("Tests/BrokenTests.cs", FailingTests);
            var passingRun = passing.DotNet(env, "test", "Tests/Tests.csproj", "-c", "Release");
            var failingRun = failing.DotNet(env, "test", "Tests/Tests.csproj", "-c", "Release");
            Assert.That(passingRun.ExitCode, Is.EqualTo(0), passingRun.ToString());

            string Attestations(TestProject p) => p.Path("Tests/bin/Release/attestations");
            DsseEnvelope Envelope(TestProject p)
            {
                var file = Path.Combine(Attestations(p), "test.test-result.intoto.jsonl");
                Assert.That(File.Exists(file), Is.True, $"no test-result attestation; the directory holds {Links.Describe(Attestations(p))}");
                return DsseEnvelope.Parse(File.ReadAllLines(file).Single(l => l.Length > 0));
            }

            return new Fixture
            {
                Keys = keys, Functionary = functionary, Owner = owner, Passing = passing, PassingRun = passingRun, FailingRun = failingRun,
                PassingLink = Links.LoadVerified(Path.Combine(Attestations(passing), Links.FileName("test", functionary.Public)), functionary.Public),
                PassingCompile = Links.LoadVerified(Path.Combine(Attestations(passing), Links.FileName("compile", functionary.Public)), functionary.Public),
                FailingLink = Links.LoadVerified(Path.Combine(Attestations(failing), Links.FileName("test", functionary.Public)), functionary.Public),
                PassingResult = Envelope(passing),
                FailingResult = Envelope(failing),
                PassingAssemblySha256 = Links.Sha256(passing.Path("Tests/bin/Release/net10.0/Tests.dll")),
            };
        }
    }

    private static JsonMap Statement(DsseEnvelope envelope, PublicKey key)
    {
        Assert.That(envelope.Verify(key, DsseEnvelope.InTotoPayloadType, requireSingleSignature: true).Verified, Is.True, "the test-result attestation is not signed by the build key");
        return (JsonMap)JsonParser.Parse(envelope.Payload);
    }

    private static List<string> Names(JsonMap predicate, string field) =>
        ((JsonList)predicate[field]).Select(i => ((JsonString)i).Value).ToList();

    [Test]
    public void A_passing_run_records_the_test_link_from_the_compiled_assembly_to_the_trx()
    {
        var f = Shared.Value;
        Assert.That(f.PassingLink.Materials.Keys, Is.EqualTo(new[] { "Tests/bin/Release/net10.0/Tests.dll" }));
        Assert.That(f.PassingLink.Materials["Tests/bin/Release/net10.0/Tests.dll"]["sha256"], Is.EqualTo(f.PassingAssemblySha256));
        // The same name and bytes as compile's product: a layout can MATCH the one with the other.
        Assert.That(f.PassingCompile.Products["Tests/bin/Release/net10.0/Tests.dll"]["sha256"], Is.EqualTo(f.PassingAssemblySha256));
        Assert.That(f.PassingLink.Products.Keys, Is.EqualTo(new[] { "Tests/obj/Release/net10.0/securebuild/test.trx" }));
        Assert.That(f.PassingLink.Command, Is.EqualTo(new[] { "dotnet", "test", "Tests/Tests.csproj", "-p:Configuration=Release", "-p:TargetFramework=net10.0" }));
    }

    [Test]
    public void A_passing_run_writes_a_signed_PASSED_test_result_about_the_tested_assembly()
    {
        var f = Shared.Value;
        var statement = Statement(f.PassingResult, f.Functionary.Public);
        Assert.That(((JsonString)statement["predicateType"]).Value, Is.EqualTo("https://in-toto.io/attestation/test-result/v0.1"));
        var subject = (JsonMap)((JsonList)statement["subject"]).Single();
        Assert.That(((JsonString)subject["name"]).Value, Is.EqualTo("Tests/bin/Release/net10.0/Tests.dll"));
        Assert.That(((JsonString)((JsonMap)subject["digest"])["sha256"]).Value, Is.EqualTo(f.PassingAssemblySha256));
        var predicate = (JsonMap)statement["predicate"];
        Assert.That(((JsonString)predicate["result"]).Value, Is.EqualTo("PASSED"));
        Assert.That(Names(predicate, "passedTests"), Is.EqualTo(new[] { "Tests.CalculatorTests.Adds", "Tests.CalculatorTests.Adds_negatives" }));
        Assert.That(Names(predicate, "failedTests"), Is.Empty);
        Assert.That(Names(predicate, "warnedTests"), Is.Empty);
        var configuration = (JsonMap)((JsonList)predicate["configuration"])[0];
        Assert.That(((JsonString)configuration["name"]).Value, Is.EqualTo("Tests/Tests.csproj"));
        Assert.That(((JsonString)((JsonMap)configuration["digest"])["sha256"]).Value, Is.EqualTo(Links.Sha256(f.Passing.Path("Tests/Tests.csproj"))));
    }

    [Test]
    public void A_failing_run_fails_as_dotnet_test_does_and_still_records_the_link_and_a_FAILED_result()
    {
        var f = Shared.Value;
        Assert.That(f.FailingRun.ExitCode, Is.Not.EqualTo(0), f.FailingRun.ToString());
        Assert.That(f.FailingRun.Output, Does.Contain("Failed Subtracts"));
        Assert.That(f.FailingRun.Output, Does.Not.Contain("error SB"), "a failed test is the test run's failure, not SecureBuild's");
        Assert.That(f.FailingLink.Products.Keys, Is.EqualTo(new[] { "Tests/obj/Release/net10.0/securebuild/test.trx" }));
        var predicate = (JsonMap)Statement(f.FailingResult, f.Functionary.Public)["predicate"];
        Assert.That(((JsonString)predicate["result"]).Value, Is.EqualTo("FAILED"));
        Assert.That(Names(predicate, "failedTests"), Is.EqualTo(new[] { "BrokenTests.Subtracts" }));
        Assert.That(Names(predicate, "warnedTests"), Is.EqualTo(new[] { "BrokenTests.Multiplies" }), "a skipped test is a warning: it proved nothing");
        Assert.That(Names(predicate, "passedTests"), Has.Count.EqualTo(2));
    }

    [Test]
    public void In_toto_verify_accepts_a_layout_requiring_the_test_step_and_rejects_tests_run_on_other_outputs()
    {
        var f = Shared.Value;
        var project = new TestProject("test-step-verify").Write("Tests/Tests.csproj", TestsProject).Write("Tests/CalculatorTests.cs", PassingTests);
        var env = new Dictionary<string, string?> { ["SecureBuildSigningKey"] = f.Functionary.PrivatePath };
        var run = project.DotNet(env, "test", "Tests/Tests.csproj", "-c", "Release");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        var linkDir = project.Path("Tests/bin/Release/attestations");
        var layout = Path.Combine(f.Keys, "test-step-" + Guid.NewGuid().ToString("N") + ".layout");
        var created = SdkFeed.Securebuild(project.Directory, "layout", "new", "--link-dir", linkDir, "--functionary", f.Functionary.PrivatePath + ".pub",
            "--sign", f.Owner.PrivatePath, "-o", layout);
        Assert.That(created.ExitCode, Is.EqualTo(0), created.ToString());
        Assert.That(created.Output, Does.Contain("(restore, compile, test)"));
        var test = Layout.FromJson(Metablock.Load(layout).Signed).Steps.Single(s => s.Name == "test");
        Assert.That(test.ExpectedMaterials[0], Is.EqualTo(new[] { "MATCH", "*", "WITH", "PRODUCTS", "FROM", "compile" }));
        Assert.That(test.ExpectedMaterials[^1], Is.EqualTo(new[] { "DISALLOW", "*" }));

        var verified = InToto.Verify(project.Directory, layout, linkDir, (f.Owner.PrivatePath + ".pub", "rsa"));
        Assert.That(verified.ExitCode, Is.EqualTo(0), verified.ToString());
        Assert.That(verified.Output, Does.Contain("The software product passed all verification."));

        // The tests run again on an assembly that is not what compile produced: the test link no longer chains.
        File.AppendAllText(project.Path("Tests/bin/Release/net10.0/Tests.dll"), "swapped");
        var rerun = project.DotNet(env, "test", "Tests/Tests.csproj", "-c", "Release", "--no-build");
        Assert.That(rerun.ExitCode, Is.EqualTo(0), rerun.ToString());
        var swapped = InToto.Verify(project.Directory, layout, linkDir, (f.Owner.PrivatePath + ".pub", "rsa"));
        Assert.That(swapped.ExitCode, Is.EqualTo(1), swapped.ToString());
        Assert.That(swapped.Output, Does.Contain("RuleVerificationError").And.Contain("Tests/bin/Release/net10.0/Tests.dll"));
    }
}

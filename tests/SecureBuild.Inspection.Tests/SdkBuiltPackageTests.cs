using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Inspection;
using SecureBuild.Core.Json;
using SecureBuild.Reproducibility.Tests.Infrastructure;

namespace SecureBuild.Inspection.Tests;

/// <summary>
/// -p:SecureBuildInspect=true in a real `dotnet pack` with SecureBuild.Sdk, and accounting against the links the SDK
/// itself wrote (the classic *.link files and their DSSE *.intoto.jsonl forms).
/// </summary>
public sealed class SdkBuiltPackageTests
{
    [Test]
    public void Pack_with_SecureBuildInspect_writes_a_passing_report_beside_the_package_with_every_file_accounted_for()
    {
        var built = SdkBuiltPackage.Shared;
        var report = (JsonMap)JsonParser.Parse(File.ReadAllBytes(Path.Combine(built.Output, "Sample.SdkLib.1.0.0.inspect.json")));

        Assert.That(built.Pack.Output, Does.Contain("SecureBuild: inspected Sample.SdkLib.1.0.0.nupkg:"));
        Assert.That(((JsonString)report["result"]).Value, Is.EqualTo("pass"));
        Assert.That(((JsonString)report["policy"]).Value, Is.EqualTo("default"));
        Assert.That(((JsonBool)report["linksVerified"]).Value, Is.True, "with SecureBuildSigningKey the links are checked with it");
        var files = ((JsonList)report["files"]).Cast<JsonMap>().ToList();
        Assert.That(files.Where(f => !f.ContainsKey("accountedBy")).Select(f => ((JsonString)f["path"]).Value), Is.Empty);
        // The build file runs a command: a warning in the build and in the report, not a failure under the default policy.
        Assert.That(built.Pack.Output, Does.Contain("warning SB4310"));
        Assert.That(((JsonList)report["findings"]).Cast<JsonMap>().Select(f => ((JsonString)f["code"]).Value), Does.Contain("SB4310"));
    }

    [Test]
    public void Pack_with_SecureBuildInspect_and_a_signing_key_writes_the_signed_inspection_attestation_of_the_package()
    {
        var built = SdkBuiltPackage.Shared;
        var line = File.ReadAllText(Path.Combine(built.Output, "Sample.SdkLib.1.0.0.inspect.intoto.jsonl")).TrimEnd('\n');

        var envelope = DsseEnvelope.Parse(line);
        Assert.That(envelope.Verify(built.Key.Public, DsseEnvelope.InTotoPayloadType).Verified, Is.True);
        var statement = InTotoStatement.Parse(envelope.Payload);
        Assert.That(statement.PredicateType, Is.EqualTo(InspectionAttestation.PredicateType));
        Assert.That(statement.HasSubjectDigest("sha256", Sha256Hex.OfFile(built.Package)), Is.True);
    }

    [Test]
    public void The_package_is_accounted_for_by_the_links_the_SDK_wrote_compile_for_the_assembly_pack_for_the_copied_files()
    {
        var built = SdkBuiltPackage.Shared;
        var report = PackageInspector.Inspect(new InspectionOptions { Input = built.Package, LinksDirectory = built.Links, LinkKeys = new[] { built.Key.Public } });

        Assert.That(report.Failed, Is.False, report.ToText());
        Assert.That(report.Files.Where(f => f.Origin is null).Select(f => f.File.Path), Is.Empty, report.ToText());
        Assert.That(report.Files.Single(f => f.File.Path == "lib/net10.0/Sample.SdkLib.dll").Origin!.Step, Is.EqualTo("compile"));
        var targets = report.Files.Single(f => f.File.Path == "build/Sample.SdkLib.targets").Origin!;
        Assert.That((targets.Step, targets.IsProduct), Is.EqualTo(("pack", false)), "a file copied into the package as is: a material of pack");
        Assert.That(report.Steps, Is.SupersetOf(new[] { "restore", "compile", "pack" }));
        Assert.That(report.Findings.Single(f => f.Code == InspectionCodes.BuildExec).Subject, Does.Contain("greetings-from-sample-sdklib"));
    }

    [Test]
    public void The_links_in_their_intoto_jsonl_form_alone_account_for_the_package_and_their_signatures_are_verified()
    {
        var built = SdkBuiltPackage.Shared;
        using var temp = new TempDirectory();
        foreach (var file in Directory.GetFiles(built.Links, "*.intoto.jsonl"))
        {
            File.Copy(file, Path.Combine(temp.Path, Path.GetFileName(file)));
        }

        Assert.That(Directory.GetFiles(temp.Path, "*.provenance.intoto.jsonl"), Is.Not.Empty, "the folder holds other statements too, which are skipped");
        var report = PackageInspector.Inspect(new InspectionOptions { Input = built.Package, LinksDirectory = temp.Path, LinkKeys = new[] { built.Key.Public } });

        Assert.That(report.Files.Where(f => f.Origin is null).Select(f => f.File.Path), Is.Empty, report.ToText());
        Assert.That(report.LinksVerified, Is.True);
        Assert.That(report.Files.Single(f => f.File.Path == "lib/net10.0/Sample.SdkLib.dll").Origin!.Step, Is.EqualTo("compile"));

        var other = temp.Write("other.pub", Packages.Text(SigningKey.Generate(KeyType.Ed25519).ExportPublic()));
        var (exit, _, stderr) = Cli.Run("inspect", built.Package, "--links", temp.Path, "--key", other);
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB4304").And.Contain(".intoto.jsonl line 1"));
    }

    [Test]
    public void A_policy_that_denies_the_packages_build_time_command_fails_the_pack_with_SB4310()
    {
        var built = SdkBuiltPackage.Shared;

        Assert.That(built.DeniedPack.ExitCode, Is.Not.EqualTo(0), built.DeniedPack.Output);
        Assert.That(built.DeniedPack.Output, Does.Contain("error SB4310").And.Contain("The policy denies SB4310"));
        var report = (JsonMap)JsonParser.Parse(File.ReadAllBytes(Path.Combine(built.Project, "out-deny", "Sample.SdkLib.1.0.0.inspect.json")));
        Assert.That(((JsonString)report["result"]).Value, Is.EqualTo("fail"));
        Assert.That(((JsonString)report["policy"]).Value, Is.EqualTo("deny-exec.json"));
    }

    [Test]
    public void In_warning_mode_the_same_policy_failure_is_a_warning_and_the_pack_succeeds()
    {
        var built = SdkBuiltPackage.Shared;

        Assert.That(built.WarnOnlyPack.ExitCode, Is.EqualTo(0), built.WarnOnlyPack.Output);
        Assert.That(built.WarnOnlyPack.Output, Does.Contain("warning SB4310").And.Not.Contain("error SB4310"));
        Assert.That(File.Exists(Path.Combine(built.Project, "out-warn", "Sample.SdkLib.1.0.0.inspect.json")), Is.True);
    }
}

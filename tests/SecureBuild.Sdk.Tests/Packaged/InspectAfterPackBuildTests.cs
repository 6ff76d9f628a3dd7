using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Inspection;
using SecureBuild.Core.Json;

namespace SecureBuild.Sdk.Tests.Packaged;

/// <summary>
/// -p:SecureBuildInspect=true in the fixture's real `dotnet pack` (multi-targeted, with content, docs and a readme), and
/// accounting against the links the SDK itself wrote, in their classic *.link and their DSSE *.intoto.jsonl forms.
/// </summary>
public sealed class InspectAfterPackBuildTests
{
    private static JsonMap Report(string path) => (JsonMap)JsonParser.Parse(File.ReadAllBytes(path));

    private static PublicKey BuildKey => SigningKey.Load(PackagedSdk.Library.SigningKeyFile).Public;

    [Test]
    public void Pack_wrote_a_passing_report_beside_the_package_with_every_file_accounted_for_by_the_build()
    {
        var library = PackagedSdk.Library;
        var report = Report(Path.Combine(library.ProjectDirectory, "bin", "Release", "Lib.1.0.0.inspect.json"));

        Assert.That(((JsonString)report["result"]).Value, Is.EqualTo("pass"));
        Assert.That(((JsonString)report["policy"]).Value, Is.EqualTo("default"));
        Assert.That(((JsonBool)report["linksVerified"]).Value, Is.True, "with SecureBuildSigningKey the links must verify with it");
        var files = ((JsonList)report["files"]).Cast<JsonMap>().ToList();
        Assert.That(files.Where(f => !f.ContainsKey("accountedBy")).Select(f => ((JsonString)f["path"]).Value), Is.Empty);
        Assert.That(files.Select(f => ((JsonString)f["path"]).Value), Is.SupersetOf(new[] { "lib/net8.0/Lib.dll", "lib/net10.0/Lib.xml", "contentFiles/any/any/settings.json", "README.md" }));
        // Not strong-named: reported (info) under the default policy; the denying policy below fails on it.
        Assert.That(((JsonList)report["findings"]).Cast<JsonMap>().Select(f => ((JsonString)f["code"]).Value), Does.Contain(InspectionCodes.NotStrongNamed));
    }

    [Test]
    public void Pack_with_a_signing_key_wrote_the_signed_inspection_attestation_of_the_package()
    {
        var library = PackagedSdk.Library;
        var line = File.ReadAllText(Path.Combine(library.ProjectDirectory, "bin", "Release", "Lib.1.0.0.inspect.intoto.jsonl")).TrimEnd('\n');

        var envelope = DsseEnvelope.Parse(line);
        Assert.That(envelope.Verify(BuildKey, DsseEnvelope.InTotoPayloadType).Verified, Is.True);
        var statement = InTotoStatement.Parse(envelope.Payload);
        Assert.That(statement.PredicateType, Is.EqualTo(InspectionAttestation.PredicateType));
        Assert.That(statement.HasSubjectDigest("sha256", Sha256Hex.OfFile(library.Package)), Is.True);
    }

    [Test]
    public void The_links_the_SDK_wrote_account_for_each_framework_s_assembly_by_its_compile_step_and_copied_files_by_pack()
    {
        var library = PackagedSdk.Library;
        var report = PackageInspector.Inspect(new InspectionOptions { Input = library.Package, LinksDirectory = library.AttestationDirectory, LinkKeys = new[] { BuildKey } });

        Assert.That(report.Files.Where(f => f.Origin is null).Select(f => f.File.Path), Is.Empty, report.ToText());
        Assert.That(report.Files.Single(f => f.File.Path == "lib/net8.0/Lib.dll").Origin!.Step, Is.EqualTo("compile-net8.0"));
        Assert.That(report.Files.Single(f => f.File.Path == "lib/net10.0/Lib.dll").Origin!.Step, Is.EqualTo("compile-net10.0"));
        var readme = report.Files.Single(f => f.File.Path == "README.md").Origin!;
        Assert.That((readme.Step, readme.IsProduct), Is.EqualTo(("pack", false)), "a file copied into the package as is: a material of pack");
        Assert.That(report.LinksVerified, Is.True);
    }

    [Test]
    public void The_links_in_their_intoto_jsonl_form_alone_account_for_the_package_and_are_signature_checked()
    {
        var library = PackagedSdk.Library;
        var links = ScratchDirectory.Create("sb-inspect-jsonl-");
        try
        {
            foreach (var file in Directory.GetFiles(library.AttestationDirectory, "*.intoto.jsonl"))
            {
                File.Copy(file, Path.Combine(links, Path.GetFileName(file)));
            }

            Assert.That(Directory.GetFiles(links, "*.provenance.intoto.jsonl"), Is.Not.Empty, "other statements are in the folder too, and skipped");
            var report = PackageInspector.Inspect(new InspectionOptions { Input = library.Package, LinksDirectory = links, LinkKeys = new[] { BuildKey } });
            Assert.That(report.Files.Where(f => f.Origin is null).Select(f => f.File.Path), Is.Empty, report.ToText());
            Assert.That(report.Files.Single(f => f.File.Path == "lib/net10.0/Lib.dll").Origin!.Step, Is.EqualTo("compile-net10.0"));

            var other = SigningKey.Generate(KeyType.Ed25519).Public;
            var e = Assert.Throws<InspectionException>(() =>
                PackageInspector.Inspect(new InspectionOptions { Input = library.Package, LinksDirectory = links, LinkKeys = new[] { other } }));
            Assert.That(e!.Code, Is.EqualTo(InspectionCodes.LinkSignature));
            Assert.That(e.Message, Does.Contain(".intoto.jsonl line 1"));
        }
        finally
        {
            ScratchDirectory.TryDelete(links);
        }
    }

    [Test]
    public void A_policy_that_denies_what_the_package_has_fails_the_pack_with_that_code_and_a_failing_report()
    {
        var library = PackagedSdk.Library;
        var pack = library.DeniedPack;

        Assert.That(pack.ExitCode, Is.Not.EqualTo(0), pack.Output);
        Assert.That(pack.Output, Does.Contain("error SB4325").And.Contain("The policy denies SB4325"));
        var report = Report(Path.Combine(library.DeniedOutput, "Lib.1.0.0.inspect.json"));
        Assert.That(((JsonString)report["result"]).Value, Is.EqualTo("fail"));
        Assert.That(((JsonString)report["policy"]).Value, Is.EqualTo("inspect-deny-strong-name.json"));
    }

    [Test]
    public void In_warning_mode_the_same_failure_is_a_warning_and_the_pack_succeeds()
    {
        var library = PackagedSdk.Library;
        var pack = library.WarnOnlyPack;

        Assert.That(pack.ExitCode, Is.EqualTo(0), pack.Output);
        Assert.That(pack.Output, Does.Contain("warning SB4325").And.Not.Contain("error SB4325"));
        Assert.That(File.Exists(Path.Combine(library.WarnOnlyOutput, "Lib.1.0.0.inspect.json")), Is.True);
    }

    [Test]
    public void Publish_wrote_a_passing_report_beside_the_publish_folder_with_every_published_file_accounted_for()
    {
        var library = PackagedSdk.Library;
        var publish = Path.Combine(library.ProjectDirectory, "bin", "Release", "net10.0", "publish");
        var report = Report(publish + ".inspect.json");

        Assert.That(((JsonString)report["kind"]).Value, Is.EqualTo("folder"));
        Assert.That(((JsonString)report["result"]).Value, Is.EqualTo("pass"));
        var files = ((JsonList)report["files"]).Cast<JsonMap>().ToList();
        Assert.That(files.Select(f => ((JsonString)f["path"]).Value), Is.EquivalentTo(Directory.GetFiles(publish, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(publish, f).Replace('\\', '/'))));
        Assert.That(files.Where(f => !f.ContainsKey("accountedBy")).Select(f => ((JsonString)f["path"]).Value), Is.Empty);
        Assert.That(File.Exists(publish + ".inspect.intoto.jsonl"), Is.True, "signed with SecureBuildSigningKey");
    }
}

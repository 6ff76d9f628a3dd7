using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Inspection;
using SecureBuild.Core.Json;

namespace SecureBuild.Inspection.Tests;

/// <summary>
/// Links as DSSE-signed statements (`*.intoto.jsonl`, link predicate v0.3) in --links: what is not one is refused or
/// skipped, never taken as evidence. The links the SDK writes in this form are read in SdkBuiltPackageTests.
/// </summary>
public sealed class StatementLinkTests
{
    private static string Statement(string predicateType, string subjectName, string digest, JsonMap predicate) =>
        JsonText.Write(new JsonMap
        {
            { "_type", "https://in-toto.io/Statement/v1" },
            { "subject", new JsonList { new JsonMap { { "name", subjectName }, { "digest", new JsonMap { { "sha256", digest } } } } } },
            { "predicateType", predicateType },
            { "predicate", predicate },
        }, indented: false).TrimEnd('\n');

    private static string Envelope(string statement, SigningKey key) =>
        JsonText.Write(DsseEnvelope.Sign(DsseEnvelope.InTotoPayloadType, Packages.Text(statement), key).ToJson(), indented: false).TrimEnd('\n');

    [Test]
    public void A_link_statement_accounts_for_its_subjects_and_materials_and_other_statements_are_skipped()
    {
        using var temp = new TempDirectory();
        var key = SigningKey.Generate(KeyType.Ed25519);
        var dll = Packages.SmallLibrary;
        var readme = Packages.Text("# P\n");
        var package = temp.Write("P.1.0.0.nupkg", Packages.Zip(("lib/net8.0/P.dll", dll), ("README.md", readme)));
        var compile = Statement(LinkEvidence.LinkPredicateType, "bin/P.dll", Sha256Hex.Of(dll), new JsonMap
        {
            { "name", "compile" },
            { "command", new JsonList { "dotnet", "build" } },
            { "materials", new JsonList { new JsonMap { { "name", "README.md" }, { "digest", new JsonMap { { "sha256", Sha256Hex.Of(readme) } } } } } },
        });
        var provenance = Statement("https://slsa.dev/provenance/v1", "other", Sha256Hex.Of(Packages.Text("x")), new JsonMap());
        temp.Write("links/build.intoto.jsonl", Packages.Text(Envelope(provenance, key) + "\n\n" + Envelope(compile, key) + "\n"));

        var report = PackageInspector.Inspect(new InspectionOptions { Input = package, LinksDirectory = Path.Combine(temp.Path, "links"), LinkKeys = new[] { key.Public } });

        Assert.That(report.Failed, Is.False, report.ToText());
        Assert.That(report.Steps, Is.EqualTo(new[] { "compile" }));
        Assert.That(report.Files.Single(f => f.File.Path == "lib/net8.0/P.dll").Origin!.IsProduct, Is.True);
        Assert.That(report.Files.Single(f => f.File.Path == "README.md").Origin!.IsProduct, Is.False);
    }

    [TestCase("not json at all", "line 1 is not a DSSE envelope")]
    [TestCase("{\"payload\": \"e30=\", \"payloadType\": \"application/vnd.in-toto+json\", \"signatures\": []}", "not signed")]
    [TestCase("{\"payload\": \"e30=\", \"payloadType\": \"text/plain\", \"signatures\": [{\"sig\": \"AAAA\"}]}", "not an in-toto statement")]
    [TestCase("{\"payload\": \"e30=\", \"payloadType\": \"application/vnd.in-toto+json\", \"signatures\": [{\"sig\": \"AAAA\"}]}", "_type")]
    public void A_jsonl_line_that_is_not_a_signed_statement_is_exit_2_with_SB4303(string line, string expected)
    {
        using var temp = new TempDirectory();
        temp.Write("links/x.intoto.jsonl", Packages.Text(line + "\n"));

        var (exit, _, stderr) = Cli.Run("inspect", BuiltLibrary.Shared.Package, "--links", Path.Combine(temp.Path, "links"));

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB4303").And.Contain(expected));
    }

    [Test]
    public void A_link_statement_without_a_name_is_exit_2_with_SB4303()
    {
        using var temp = new TempDirectory();
        var key = SigningKey.Generate(KeyType.Ed25519);
        var statement = Statement(LinkEvidence.LinkPredicateType, "a", Sha256Hex.Of(Packages.Text("a")), new JsonMap { { "command", new JsonList() } });
        temp.Write("links/x.intoto.jsonl", Packages.Text(Envelope(statement, key) + "\n"));

        var (exit, _, stderr) = Cli.Run("inspect", BuiltLibrary.Shared.Package, "--links", Path.Combine(temp.Path, "links"));

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB4303").And.Contain("not a valid in-toto link statement"));
    }

    [Test]
    public void A_folder_with_statements_but_no_link_is_exit_2_with_SB4303()
    {
        using var temp = new TempDirectory();
        var key = SigningKey.Generate(KeyType.Ed25519);
        var provenance = Statement("https://slsa.dev/provenance/v1", "other", Sha256Hex.Of(Packages.Text("x")), new JsonMap());
        temp.Write("links/p.provenance.intoto.jsonl", Packages.Text(Envelope(provenance, key) + "\n"));

        var (exit, _, stderr) = Cli.Run("inspect", BuiltLibrary.Shared.Package, "--links", Path.Combine(temp.Path, "links"));

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB4303").And.Contain("has no in-toto link"));
    }
}

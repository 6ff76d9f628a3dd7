using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Inspection;
using SecureBuild.Core.Json;
using SecureBuild.Reproducibility.Tests.Infrastructure;

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
}

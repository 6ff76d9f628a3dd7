using System.CommandLine;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Sigstore;
using SecureBuild.Core.Spiffe;
using SecureBuild.Core.IO;

namespace SecureBuild.Cli;

/// <summary>`securebuild provenance verify`: checks SLSA provenance for an artifact, like slsa-verifier.</summary>
internal static class ProvenanceCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var provenance = new Command("provenance", "Check SLSA provenance written by SecureBuild.Sdk.");
        var artifact = new Option<string>("--artifact") { Description = "The file the provenance must be about (a .nupkg re-signed by a feed still matches by NuGet content hash).", Required = true };
        var file = new Option<string>("--provenance") { Description = "The provenance: a .intoto.jsonl (DSSE envelopes, one per line) or a .sigstore.json bundle.", Required = true };
        var key = new Option<string>("--key") { Description = "The builder's public key (PEM or securesystemslib JSON), for key-signed provenance." };
        var trustedRoot = new Option<string>("--trusted-root") { Description = "For keyless provenance (a .sigstore.json with a certificate): the trusted_root.json of the Sigstore instance that certified and logged it. SPIFFE: " + SvidTrustOptions.TrustedRootDescription };
        var identity = new CertificateIdentityOptions();
        var at = new Option<string>("--at") { Description = "Keyless: verification time ('now') as RFC 3339 or Unix seconds; default: the system clock. SPIFFE: when the provenance was signed (the SVID must have been valid then)." };
        var spiffe = new SvidTrustOptions("--spiffe-bundle", at, trustedRoot);
        var builderId = new Option<string>("--builder-id") { Description = "Required runDetails.builder.id (exact)." };
        var sourceUri = new Option<string>("--source-uri") { Description = "Required source repository, e.g. git+https://github.com/acme/app (with or without git+, .git)." };
        var rejectSelfHosted = new Option<bool>("--reject-self-hosted") { Description = "Fail (SB5411) unless the provenance says a hosted single-use runner built it (internalParameters.worker.runner github-hosted or tekton-pod)." };
        var requireFresh = new Option<bool>("--require-fresh-worker") { Description = "Fail (SB5412) unless the provenance says the worker was fresh: no obj/ from an earlier build, no cached package, no leftover MSBuild node or compiler server." };
        var repository = new Option<string>("--repository") { Description = "A clone of the built repository (the build's root folder): the recorded build and pipeline definition files must equal its files at the built commit (SB5413), the work tree must have been clean (SB5414)." };
        var verify = new Command("verify", "Verify signature, subject digest, builder and source of SLSA provenance, and optionally the worker and the pipeline state. Exit 0 verified, 1 failed, 2 usage or unreadable input.")
        {
            artifact, file, key, builderId, sourceUri, trustedRoot, at, rejectSelfHosted, requireFresh, repository,
        };
        identity.AddTo(verify);
        spiffe.AddTo(verify);
        verify.SetAction(parse =>
        {
            var policy = new ProvenancePolicy
            {
                Worker = new WorkerPolicy { RejectSelfHosted = parse.GetValue(rejectSelfHosted), RequireFreshWorker = parse.GetValue(requireFresh) },
                Repository = parse.GetValue(repository),
            };
            if (policy.Repository is { } clone && !Directory.Exists(clone))
            {
                stderr.WriteLine($"securebuild provenance verify: {DefinitionVerification.CannotCheckCode}: --repository {clone} is not a folder. Give the clone the build was made from.");
                return CliApplication.Usage;
            }

            if (spiffe.Given(parse))
            {
                if (parse.GetValue(key) is not null || identity.AnyGiven(parse))
                {
                    stderr.WriteLine("securebuild provenance verify: --spiffe-bundle (an SVID-signed bundle) excludes --key and the keyless identity options.");
                    return CliApplication.Usage;
                }

                return VerifySpiffe(parse, file, artifact, spiffe, builderId, sourceUri, policy, stdout, stderr);
            }

            if (parse.GetValue(key) is null)
            {
                return VerifyKeyless(parse, file, artifact, trustedRoot, identity, at, builderId, sourceUri, policy, stdout, stderr);
            }

            if (identity.AnyGiven(parse) || parse.GetValue(trustedRoot) is not null)
            {
                stderr.WriteLine("securebuild provenance verify: --key and the keyless options (--trusted-root, --certificate-identity...) exclude each other.");
                return CliApplication.Usage;
            }

            PublicKey publicKey;
            List<DsseEnvelope> envelopes;
            Dictionary<string, string> digests;
            try
            {
                publicKey = PublicKey.Load(parse.GetValue(key)!);
                envelopes = EnvelopeFile.Read(parse.GetValue(file)!);
                digests = ArtifactDigests.Of(parse.GetValue(artifact)!);
            }
            catch (KeyFormatException e)
            {
                stderr.WriteLine($"securebuild provenance verify: {e.Code}: {e.Message} {e.Fix}");
                return CliApplication.Usage;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is AttestationFormatException || e is SigstoreFormatException || e is InvalidDataException)
            {
                stderr.WriteLine($"securebuild provenance verify: SB3020: {e.Message}");
                return CliApplication.Usage;
            }
            var result = ProvenanceVerifier.Verify(envelopes, publicKey, digests, parse.GetValue(builderId), parse.GetValue(sourceUri), policy);
            if (!result.Passed)
            {
                return Failed(result, stderr);
            }
            stdout.WriteLine($"PASSED: {Path.GetFileName(parse.GetValue(artifact))} is a subject of SLSA provenance signed by {publicKey.KeyId}.");
            return CliApplication.Success;
        });
        provenance.Subcommands.Add(verify);
        return provenance;
    }

    /// <summary>
    /// A .sigstore.json signed with an X.509-SVID (SecureBuildSigning=spiffe): the SVID checked by the SPIFFE rules at
    /// the bundle's verified timestamp time (with --trusted-root) or --at, against the trust domain's bundle and the allowed IDs, the signature, then the provenance claims.
    /// </summary>
    private static int VerifySpiffe(ParseResult parse, Option<string> file, Option<string> artifact, SvidTrustOptions spiffe,
        Option<string> builderId, Option<string> sourceUri, ProvenancePolicy provenancePolicy, TextWriter stdout, TextWriter stderr)
    {
        const string name = "securebuild provenance verify";
        if (!spiffe.TryRead(parse, name, stderr, out var policy, out var signedAt, out var trust)
            || !spiffe.TryReadTimestampAuthorities(parse, name, stderr, out var timestampAuthorities))
        {
            return CliApplication.Usage;
        }

        SigstoreBundle bundle;
        Dictionary<string, string> digests;
        try
        {
            bundle = SigstoreBundle.Load(parse.GetValue(file)!);
            digests = ArtifactDigests.Of(parse.GetValue(artifact)!);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is SigstoreFormatException || e is InvalidDataException)
        {
            stderr.WriteLine($"{name}: SB3020: {e.Message}");
            return CliApplication.Usage;
        }

        SvidSignature signed;
        InTotoStatement statement;
        try
        {
            signed = SvidSignatures.Verify(bundle, trust, signedAt, policy, null, timestampAuthorities);
            if (signed.Envelope is null || signed.Envelope.PayloadType != DsseEnvelope.InTotoPayloadType)
            {
                stderr.WriteLine($"FAILED: {SvidException.Signature}: the bundle does not sign an in-toto statement (DSSE {DsseEnvelope.InTotoPayloadType}).");
                return CliApplication.Failure;
            }

            statement = InTotoStatement.Parse(signed.Envelope.Payload);
        }
        catch (SvidException e)
        {
            stderr.WriteLine($"FAILED: {e.Message}");
            return e.Code == SvidException.Unreadable ? CliApplication.Usage : CliApplication.Failure;
        }
        catch (AttestationFormatException e)
        {
            stderr.WriteLine($"FAILED: the signed payload is not an in-toto statement: {e.Message}");
            return CliApplication.Failure;
        }

        var claims = ProvenanceVerifier.VerifyClaims(statement, digests, parse.GetValue(builderId), parse.GetValue(sourceUri), provenancePolicy);
        if (!claims.Passed)
        {
            return Failed(claims, stderr);
        }

        stdout.WriteLine($"PASSED: {Path.GetFileName(parse.GetValue(artifact))} is a subject of SLSA provenance signed by {signed.Id} (X.509-SVID valid {SvidCommand.Utc(signed.Leaf.NotBefore)} .. {SvidCommand.Utc(signed.Leaf.NotAfter)}, checked at {SvidCommand.CheckedAt(signed)}).");
        return CliApplication.Success;
    }

    /// <summary>A keyless .sigstore.json: the bundle verified offline against the trusted root, then the provenance claims.</summary>
    private static int VerifyKeyless(ParseResult parse, Option<string> file, Option<string> artifact, Option<string> trustedRoot,
        CertificateIdentityOptions identity, Option<string> at, Option<string> builderId, Option<string> sourceUri, ProvenancePolicy policy, TextWriter stdout, TextWriter stderr)
    {
        const string name = "securebuild provenance verify";
        string path = parse.GetValue(file)!;
        if (parse.GetValue(trustedRoot) is not { } rootPath)
        {
            stderr.WriteLine($"{name}: give --key for key-signed provenance, or --trusted-root with --certificate-identity (or --certificate-identity-regexp) and --certificate-oidc-issuer for a keyless .sigstore.json.");
            return CliApplication.Usage;
        }

        var options = new SigstoreVerificationOptions
        {
            ExpectedPayloadType = DsseEnvelope.InTotoPayloadType,
            RequireSubjectMatch = false, // the claims check below matches the artifact (a re-signed .nupkg by its content hash)
        };
        if (identity.Apply(parse, options) is { } identityError)
        {
            stderr.WriteLine($"{name}: {identityError}");
            return CliApplication.Usage;
        }

        if (parse.GetValue(at) is { } atText)
        {
            if (!BundleCommand.TryParseTime(atText, out var time))
            {
                stderr.WriteLine($"{name}: --at '{atText}' is not an RFC 3339 time (2026-01-01T00:00:00Z) or Unix seconds.");
                return CliApplication.Usage;
            }

            options.VerificationTime = time;
        }

        if (!path.EndsWith(SigstoreBundleWriter.FileSuffix, StringComparison.OrdinalIgnoreCase))
        {
            stderr.WriteLine($"{name}: keyless provenance is a Sigstore bundle ({SigstoreBundleWriter.FileSuffix}); {path} is not one. For a .intoto.jsonl give --key.");
            return CliApplication.Usage;
        }

        SigstoreTrustedRoot root;
        SigstoreBundle bundle;
        Dictionary<string, string> digests;
        try
        {
            root = SigstoreTrustedRoot.Load(rootPath);
            bundle = SigstoreBundle.Load(path);
            digests = ArtifactDigests.Of(parse.GetValue(artifact)!);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is SigstoreFormatException || e is InvalidDataException)
        {
            stderr.WriteLine($"securebuild provenance verify: SB3020: {e.Message}");
            return CliApplication.Usage;
        }

        var result = new SigstoreVerifier(root).Verify(bundle, null, options);
        if (!result.Verified)
        {
            stderr.WriteLine($"FAILED: {result.FailureCode}: {result.Failure}");
            return CliApplication.Failure;
        }

        var claims = ProvenanceVerifier.VerifyClaims(result.Statement!, digests, parse.GetValue(builderId), parse.GetValue(sourceUri), policy);
        if (!claims.Passed)
        {
            return Failed(claims, stderr);
        }

        stdout.WriteLine($"PASSED: {Path.GetFileName(parse.GetValue(artifact))} is a subject of SLSA provenance signed by {string.Join(", ", result.SubjectAlternativeNames)} (issuer {result.OidcIssuer}), logged and certified as the trusted root requires.");
        return CliApplication.Success;
    }

    private static int Failed(StatementVerification verification, TextWriter stderr)
    {
        foreach (var failure in verification.Failures)
        {
            stderr.WriteLine($"FAILED: {failure}");
        }

        return CliApplication.Failure;
    }
}

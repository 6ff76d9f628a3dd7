using System.CommandLine;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Sigstore;
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
        var key = new Option<string>("--key") { Description = "The builder's public key (PEM or securesystemslib JSON).", Required = true };
        var builderId = new Option<string>("--builder-id") { Description = "Required runDetails.builder.id (exact)." };
        var sourceUri = new Option<string>("--source-uri") { Description = "Required source repository, e.g. git+https://github.com/acme/app (with or without git+, .git)." };
        var verify = new Command("verify", "Verify signature, subject digest, builder and source of SLSA provenance. Exit 0 verified, 1 failed, 2 usage or unreadable input.")
        {
            artifact, file, key, builderId, sourceUri,
        };
        verify.SetAction(parse =>
        {
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
            var result = ProvenanceVerifier.Verify(envelopes, publicKey, digests, parse.GetValue(builderId), parse.GetValue(sourceUri));
            if (!result.Passed)
            {
                foreach (var failure in result.Failures)
                {
                    stderr.WriteLine($"FAILED: {failure}");
                }
                return CliApplication.Failure;
            }
            stdout.WriteLine($"PASSED: {Path.GetFileName(parse.GetValue(artifact))} is a subject of SLSA provenance signed by {publicKey.KeyId}.");
            return CliApplication.Success;
        });
        provenance.Subcommands.Add(verify);
        return provenance;
    }
}

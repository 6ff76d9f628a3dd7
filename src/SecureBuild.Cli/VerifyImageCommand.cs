using System.CommandLine;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Oci;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild verify-image IMAGE@DIGEST --policy FILE`: the image checked against an image policy (Core's
/// <see cref="ImagePolicyVerifier"/>, Kyverno verifyImages semantics). Exit 0 allowed, 1 refused (the SB code names
/// the rule), 2 usage, unreadable policy or unreachable registry.
/// </summary>
internal static class VerifyImageCommand
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var image = new Argument<string>("image") { Description = "The image: HOST[:PORT]/REPOSITORY@sha256:HEX (a tag is refused: pin by digest)." };
        var policy = new Option<string>("--policy") { Description = "The image policy (JSON; docs/image-policy.md).", Required = true };
        var trustedRoot = new Option<string>("--trusted-root") { Description = "The trusted_root.json for keyless signers (default: the policy's \"trustedRoot\")." };
        var command = new Command("verify-image", "Check an image's registry, signatures and attestations against a policy before it is used (Kyverno verifyImages rules; signatures from OCI referrers and cosign's .sig/.att tags). Exit 0 allowed, 1 refused, 2 usage or unreachable.")
        {
            image, policy, trustedRoot,
        };
        command.SetAction(parse =>
        {
            const string verb = "securebuild verify-image";
            try
            {
                var reference = ImageReference.Parse(parse.GetValue(image)!);
                var loaded = ImagePolicy.Load(parse.GetValue(policy)!);
                var root = ImagePolicyVerifier.TrustedRoot(loaded, parse.GetValue(trustedRoot));
                using var http = new BoundedHttp(Deadline, SigstoreBundle.MaxBundleBytes);
                string? config = DockerCredentials.ConfigPath(Environment.GetEnvironmentVariable);
                var verdict = ImagePolicyVerifier.Verify(loaded, reference, root, repository => new OciRegistryClient(repository, http, host => DockerCredentials.Find(config, host)));
                foreach (string line in verdict.Report)
                {
                    stdout.WriteLine("  " + line);
                }

                if (!verdict.Allowed)
                {
                    stderr.WriteLine($"{verb}: {verdict.Code}: {verdict.Message}. {Fix(verdict.Code!)}");
                    return CliApplication.Failure;
                }

                stdout.WriteLine("OK: " + verdict.Message);
                return CliApplication.Success;
            }
            catch (OciException e)
            {
                stderr.WriteLine($"{verb}: {e.Code}: {e.Message}. {e.Fix}");
                return e.IsUsage ? CliApplication.Usage : CliApplication.Failure;
            }
        });
        return command;
    }

    private static string Fix(string code) => code switch
    {
        OciException.NotPinned => "Pin the image by digest: IMAGE@sha256:HEX (docker buildx imagetools inspect, or crane digest, prints it).",
        OciException.RegistryNotAllowed => "Use an image from an allowed registry, or add the registry to the policy's allowedRegistries.",
        OciException.SignatureMissing => "Use an image signed by the identities or keys the rule names, or sign it (cosign sign, or securebuild attest push of a signature bundle).",
        OciException.AttestationMissing => "Attach the attestation, signed by the rule's attestors (securebuild attest push, cosign attest).",
        _ => "Push the image first, or check the digest and the repository.",
    };
}

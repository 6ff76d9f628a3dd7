using SecureBuild.Core.Diagnostics;

namespace SecureBuild.Core.Oci;

/// <summary>
/// Storing or fetching attestations in an OCI registry, or checking an image against a policy, failed.
/// <see cref="CodedException.Code"/> is a stable SB5150..SB5158 (registry), SB5160..SB5166 (image policy) or SB5167 (credential helper) code; <see cref="IsUsage"/> says whether the cause is the command line or an unreachable registry
/// (exit 2) rather than a registry that refused or answered something that does not hold up (exit 1).
/// </summary>
public sealed class OciException : CodedException
{
    /// <summary>SB5150: the registry could not be reached (no connection, no answer within the deadline).</summary>
    public const string Unreachable = "SB5150";

    /// <summary>SB5151: the registry refused a request (an error status other than 401/403).</summary>
    public const string Refused = "SB5151";

    /// <summary>SB5152: the registry wants credentials that are missing or were not accepted.</summary>
    public const string Unauthorized = "SB5152";

    /// <summary>SB5153: a manifest or blob the registry served does not have the digest it was asked for (or announced).</summary>
    public const string DigestMismatch = "SB5153";

    /// <summary>SB5154: an answer larger than the limit (a manifest over 4 MiB, a blob over its declared size or 64 MiB).</summary>
    public const string TooLarge = "SB5154";

    /// <summary>SB5155: --registry or --subject is not usable (not HOST[:PORT]/REPOSITORY, not FILE or IMAGE@sha256:HEX, http to a non-loopback host).</summary>
    public const string BadReference = "SB5155";

    /// <summary>SB5156: the registry holds no attestations for the subject.</summary>
    public const string NothingFound = "SB5156";

    /// <summary>SB5157: a file to push is not a Sigstore bundle, or there is none.</summary>
    public const string BadInput = "SB5157";

    /// <summary>SB5158: a manifest, index or bundle from the registry is malformed or is about another subject.</summary>
    public const string Malformed = "SB5158";

    /// <summary>SB5160: the image policy file is unreadable or not a valid policy (also: its trusted root or a key).</summary>
    public const string PolicyInvalid = "SB5160";

    /// <summary>SB5161: the image is named by a tag, not pinned by digest.</summary>
    public const string NotPinned = "SB5161";

    /// <summary>SB5162: the image's registry/repository is not in the policy's allowedRegistries.</summary>
    public const string RegistryNotAllowed = "SB5162";

    /// <summary>SB5163: a rule's attestors did not sign the image (no signature verifies with the identities or keys required).</summary>
    public const string SignatureMissing = "SB5163";

    /// <summary>SB5164: an attestation a rule requires (by predicate type) is missing or not signed by its attestors.</summary>
    public const string AttestationMissing = "SB5164";

    /// <summary>SB5165: the registry has no manifest with the image's digest.</summary>
    public const string ImageNotFound = "SB5165";

    /// <summary>SB5167: a docker credential helper (credHelpers/credsStore) cannot be run, failed, timed out or answered no credentials.</summary>
    public const string CredentialHelperFailed = "SB5167";

    public OciException(string code, string message, string fix, Exception? inner = null)
        : base(code, message, fix, inner)
    {
    }

    /// <summary>Exit 2 (usage, unreadable input, unreachable registry) rather than 1 (refused or not verified).</summary>
    public bool IsUsage => Code == Unreachable || Code == BadReference || Code == BadInput || Code == PolicyInvalid || Code == CredentialHelperFailed;
}

namespace SecureBuild.Core.Spiffe;

/// <summary>
/// An X.509-SVID or trust bundle that could not be read (SB5220), or an SVID refused by a rule of the SPIFFE
/// standards or of the policy (SB5221..SB5230), or a Workload API failure (SB5231), or an RSA key under 2048 bits (SB5300), or a timestamp that does not verify (SB5301, SB5302). <see cref="Rule"/> names the rule (the reason names of the SPIFFE
/// interop cases: <c>multiple-uri-san</c>, <c>leaf-is-ca</c>, <c>expired</c>, ...).
/// </summary>
public sealed class SvidException : Exception
{
    /// <summary>The certificate chain, key or trust bundle cannot be read (not PEM/DER/JWKS, empty, no certificate).</summary>
    public const string Unreadable = "SB5220";

    /// <summary>The leaf has no URI SAN, or more than one.</summary>
    public const string UriSan = "SB5221";

    /// <summary>The leaf's URI SAN is not a valid SPIFFE ID (scheme, syntax) or has no path (the trust domain's own ID).</summary>
    public const string InvalidId = "SB5222";

    /// <summary>The leaf is a CA certificate (basicConstraints cA=true).</summary>
    public const string LeafIsCa = "SB5223";

    /// <summary>The leaf's key usage: absent or not critical, no digitalSignature, or keyCertSign/cRLSign set.</summary>
    public const string KeyUsage = "SB5224";

    /// <summary>The leaf has an extended key usage without both serverAuth and clientAuth.</summary>
    public const string ExtendedKeyUsage = "SB5225";

    /// <summary>The SPIFFE ID's trust domain is not the bundle's (or the expected one).</summary>
    public const string TrustDomainMismatch = "SB5226";

    /// <summary>No valid path from the leaf to a CA of the trust bundle.</summary>
    public const string UntrustedIssuer = "SB5227";

    /// <summary>A certificate on the path is expired or not yet valid at the verification time.</summary>
    public const string NotValidAt = "SB5228";

    /// <summary>The leaf's validity period is longer than the policy's maximum (not short-lived).</summary>
    public const string NotShortLived = "SB5229";

    /// <summary>A valid SVID, but not of an allowed SPIFFE ID.</summary>
    public const string NotAuthorized = "SB5230";

    /// <summary>The SPIFFE Workload API could not be reached or gave no usable SVID (no socket, status error, timeout, broken answer).</summary>
    public const string WorkloadApi = "SB5231";

    /// <summary>The SVID's private key cannot sign for it (unreadable, or not the leaf's key).</summary>
    public const string SigningKey = "SB5232";

    /// <summary>A signature that is not an SVID signature (no certificate chain) or that does not verify with the SVID's key.</summary>
    public const string Signature = "SB5233";

    /// <summary>SecureBuildSigning=spiffe settings that cannot work: some SVID files but not all, or the Workload API under .NET Framework MSBuild.</summary>
    public const string SigningSettings = "SB5234";

    /// <summary>An RSA key on the SVID's path (leaf, intermediate or trust-bundle CA) shorter than 2048 bits.</summary>
    public const string WeakRsaKey = "SB5300";

    /// <summary>An RFC 3161 timestamp in an SVID-signed bundle that does not verify against the trusted timestamp authorities.</summary>
    public const string Timestamp = "SB5301";

    /// <summary>An SVID bundle just signed with a timestamp does not verify against SecureBuildTrustedRoot's timestamp authorities.</summary>
    public const string TimestampSelfCheck = "SB5302";

    public SvidException(string code, string rule, string message, string fix)
        : base($"{code}: {message} {fix}")
    {
        Code = code;
        Rule = rule;
        Reason = message;
        Fix = fix;
    }

    public string Code { get; }

    /// <summary>The rule's short name (<c>unreadable</c> for SB5220).</summary>
    public string Rule { get; }

    public string Reason { get; }

    public string Fix { get; }

    internal static SvidException Input(string message, string fix = "Give a PEM or DER X.509 certificate (chain, leaf first) and a trust bundle as PEM, concatenated DER or a SPIFFE JWKS.") =>
        new(Unreadable, "unreadable", message, fix);
}

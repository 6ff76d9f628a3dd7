using System.Text.RegularExpressions;

namespace SecureBuild.Core.Sigstore;

/// <summary>
/// The SB code of each way a Sigstore bundle fails verification (<see cref="SigstoreVerificationResult.FailureCode"/>),
/// so scripts can tell an identity mismatch from a forged log entry. The README's table has the fix for each.
/// </summary>
public static class SigstoreVerificationCodes
{
    /// <summary>SB5100: no certificate SAN is the expected identity (or matches the identity pattern).</summary>
    public const string Identity = "SB5100";

    /// <summary>SB5101: the certificate's OIDC issuer is not the expected one.</summary>
    public const string Issuer = "SB5101";

    /// <summary>SB5102: the signing certificate was expired or not yet valid at the proven signing time.</summary>
    public const string CertificateNotValidAtSigning = "SB5102";

    /// <summary>SB5103: the signing certificate does not chain to a certificate authority of the trusted root.</summary>
    public const string UntrustedCertificate = "SB5103";

    /// <summary>SB5104: the certificate has no embedded SCT that verifies with a CT log of the trusted root.</summary>
    public const string Sct = "SB5104";

    /// <summary>SB5105: the inclusion proof or its checkpoint does not prove the entry is in the log.</summary>
    public const string InclusionProof = "SB5105";

    /// <summary>SB5106: the entry's log is not trusted, or its SET or checkpoint signature does not verify with the log's key.</summary>
    public const string LogKey = "SB5106";

    /// <summary>SB5107: the signature does not verify with the signing certificate's or the given key.</summary>
    public const string Signature = "SB5107";

    /// <summary>SB5108: the log entry's body records another signature, digest or certificate than the bundle.</summary>
    public const string EntryBody = "SB5108";

    /// <summary>SB5109: no verified signing time (log integrated time or RFC 3161 timestamp), or too few log entries.</summary>
    public const string NoSigningTime = "SB5109";

    /// <summary>SB5110: any other reason (payload type, artifact not a subject, malformed content).</summary>
    public const string Other = "SB5110";

    /// <summary>SB5111: the identity pattern is not a valid regular expression.</summary>
    public const string BadIdentityPattern = "SB5111";
}

/// <summary>--certificate-identity-regexp: a .NET regular expression, searched (not anchored) like cosign's, with a match timeout.</summary>
public static class IdentityPattern
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    /// <summary>The compiled pattern, or null with the reason (SB5111).</summary>
    public static Regex? Compile(string pattern, out string? error)
    {
        error = null;
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, Timeout);
        }
        catch (ArgumentException e)
        {
            error = $"the certificate identity pattern /{pattern}/ is not a valid regular expression: {e.Message}";
            return null;
        }
    }

    /// <summary>True when the pattern matches somewhere in <paramref name="identity"/>; a pattern that runs too long matches nothing.</summary>
    public static bool Matches(Regex pattern, string identity)
    {
        try
        {
            return pattern.IsMatch(identity);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}

using SecureBuild.Core.Diagnostics;

namespace SecureBuild.Core.Identity;

/// <summary>
/// Keyless signing could not be done: no identity token, Fulcio, Rekor or the timestamp authority refused or could
/// not be reached, or what they returned cannot be used. <see cref="CodedException.Code"/> is a stable SB5000..SB5099 code,
/// <see cref="Exception.Message"/> the cause (never a token), <see cref="CodedException.Fix"/> one sentence saying what to do.
/// </summary>
public sealed class KeylessException : CodedException
{
    /// <summary>SB5000: no identity token: none given, no SIGSTORE_ID_TOKEN, not in GitHub Actions with id-token permission.</summary>
    public const string NoToken = "SB5000";

    /// <summary>SB5001: the identity token is not a JWT with the claims Fulcio needs (iss, sub), or has expired.</summary>
    public const string BadToken = "SB5001";

    /// <summary>SB5002: the GitHub Actions token request failed.</summary>
    public const string TokenRequestFailed = "SB5002";

    /// <summary>SB5003: the identity token file cannot be read.</summary>
    public const string TokenFileUnreadable = "SB5003";

    /// <summary>SB5010: Fulcio could not be reached or answered with an error.</summary>
    public const string FulcioFailed = "SB5010";

    /// <summary>SB5011: Fulcio's answer is not a certificate chain for the key it was asked to certify.</summary>
    public const string FulcioBadResponse = "SB5011";

    /// <summary>SB5020: the transparency log could not be reached or refused the entry (after retries).</summary>
    public const string RekorFailed = "SB5020";

    /// <summary>SB5021: the transparency log's answer is not an entry for what was uploaded.</summary>
    public const string RekorBadResponse = "SB5021";

    /// <summary>SB5022 (warning): the upload failed and SecureBuildTransparencyLog=optional: a bundle without a log entry was written.</summary>
    public const string RekorSkipped = "SB5022";

    /// <summary>SB5030: the timestamp authority could not be reached or its answer is not a timestamp over the signature.</summary>
    public const string TimestampFailed = "SB5030";

    /// <summary>SB5040: the keyless bundle just made does not verify against SecureBuildTrustedRoot.</summary>
    public const string SelfCheckFailed = "SB5040";

    /// <summary>SB5041: SecureBuildTrustedRoot cannot be read or is not a trusted root.</summary>
    public const string TrustedRootUnusable = "SB5041";

    /// <summary>SB5050: a keyless setting is invalid (SecureBuildSigning value, a service URL, SecureBuildTransparencyLog).</summary>
    public const string BadSetting = "SB5050";

    public KeylessException(string code, string message, string fix, Exception? innerException = null)
        : base(code, message, fix, innerException)
    {
    }
}

namespace SecureBuild.Core.Sigstore;

/// <summary>
/// Signs with a certificate instead of a key hint: keyless (a Fulcio certificate for the CI's identity, with a Rekor
/// entry) or SPIFFE (the workload's X.509-SVID). The MSBuild side implements it over its settings (the SVID may come
/// from the Workload API, which only the task's runtime can ask); Core's recording services only call it.
/// </summary>
public interface ICertificateSigner
{
    /// <summary>A Sigstore bundle of a DSSE envelope over <paramref name="payload"/>.</summary>
    SigstoreBundle SignDsse(string payloadType, byte[] payload);

    /// <summary>Signs a file's bytes (a .nupkg) into <c>&lt;file&gt;.sigstore.json</c> beside it; returns that path.</summary>
    string SignFile(string path);

    /// <summary>
    /// SPIFFE signing: the SVID that also signs the step's classic in-toto link (its chain goes in the signature's
    /// "cert"); null for keyless signing, whose links stay key-signed.
    /// </summary>
    SecureBuild.Core.Spiffe.SvidSigner? LinkSigner();

    /// <summary>What signed, for the build log.</summary>
    string Summary { get; }
}

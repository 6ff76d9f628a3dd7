using Org.BouncyCastle.X509;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Identity;
using SecureBuild.Core.IO;
using SecureBuild.Core.Sigstore;
using SecureBuild.Core.Transparency;

namespace SecureBuild.Core.Spiffe;

/// <summary>
/// Signs with an X.509-SVID: its private key makes the signature and its certificate chain (leaf first, then
/// intermediates) travels with it as the Sigstore bundle's <c>verificationMaterial.x509CertificateChain</c>
/// (bundle v0.2, the last version that carries a chain; no transparency-log entry). Before the first signature the
/// SVID is checked as <see cref="SvidVerifier"/> checks it, against its own trust domain's bundle, at the signing
/// time: an expired, long-lived or otherwise invalid SVID never signs. ECDSA P-256 and Ed25519 keys sign as they
/// always do; an RSA key (2048 bits or more) signs RSASSA-PKCS1-v1_5 with SHA-256, the scheme Sigstore bundle
/// verifiers (cosign, sigstore-go, sigstore-js) check for an RSA certificate, not the PSS of securesystemslib keys. <see cref="SvidSignatures.Verify"/> checks
/// the result.
/// </summary>
public sealed class SvidSigner
{
    private readonly SigningKey _key;
    private readonly IReadOnlyList<X509Certificate> _trustBundle;
    private readonly SvidPolicy _policy;
    private TimestampClient? _tsa;
    private IReadOnlyList<CertificateAuthorityInstance>? _trustedTsas;

    private SvidSigner(IReadOnlyList<X509Certificate> chain, SigningKey key, SpiffeId id, IReadOnlyList<X509Certificate> trustBundle, SvidPolicy policy)
    {
        Chain = chain;
        _key = key;
        Id = id;
        _trustBundle = trustBundle;
        _policy = policy;
    }

    /// <summary>The SVID's certificates, leaf first.</summary>
    public IReadOnlyList<X509Certificate> Chain { get; }

    /// <summary>The verified SPIFFE ID of the leaf.</summary>
    public SpiffeId Id { get; }

    /// <summary>
    /// An SVID given as files: the chain (PEM or DER, leaf first), its private key (PKCS#8 PEM or any form
    /// <see cref="SigningKey"/> reads) and the bundle of its trust domain (PEM, DER or SPIFFE JWKS), as
    /// <c>securebuild svid fetch</c> writes them.
    /// </summary>
    /// <exception cref="SvidException">SB5220 unreadable files, SB5232 a key that is not the leaf's, SB5221-SB5230 an SVID that is not valid at <paramref name="now"/>.</exception>
    public static SvidSigner FromFiles(string chainFile, string keyFile, string bundleFile, SvidPolicy policy, DateTimeOffset now)
    {
        IReadOnlyList<X509Certificate> chain, bundle;
        SigningKey key;
        try
        {
            chain = SvidCertificates.ReadCertificates(InputFile.ReadAllBytes(chainFile, InputKind.Metadata), chainFile);
            bundle = SvidCertificates.ReadBundle(InputFile.ReadAllBytes(bundleFile, InputKind.Metadata), bundleFile);
            SvidVerifier.CheckRsaKeySize(chain[0], null); // before the key reader refuses the short key in its own words
            key = SigningKey.Load(keyFile);
        }
        catch (Exception e) when (e is InputFileException || e is IOException || e is UnauthorizedAccessException)
        {
            throw SvidException.Input(e.Message, "Give the SVID files `securebuild svid fetch` writes (svid.pem, svid.key, bundle.pem), or sign from the Workload API.");
        }
        catch (KeyFormatException e)
        {
            throw new SvidException(SvidException.SigningKey, "svid-key", $"the SVID's key {keyFile} cannot be used: {e.Message}", "Give the SVID's PKCS#8 private key (svid.key).");
        }

        return Checked(chain, key, bundle, null, policy, now);
    }

    /// <summary>An SVID as the Workload API gave it (DER chain, PKCS#8 DER key, DER bundle).</summary>
    /// <exception cref="SvidException">As <see cref="FromFiles"/>; SB5231 when the agent's SPIFFE ID is not the certificate's.</exception>
    public static SvidSigner FromWorkloadApi(WorkloadSvid svid, SvidPolicy policy, DateTimeOffset now)
    {
        var chain = SvidCertificates.ReadCertificates(svid.CertificatesDer, "the Workload API's x509_svid");
        var bundle = SvidCertificates.ReadCertificates(svid.BundleDer, "the Workload API's bundle");
        SvidVerifier.CheckRsaKeySize(chain[0], null);
        SigningKey key;
        try
        {
            key = SigningKey.Parse(SvidCertificates.PrivateKeyPem(svid.KeyDer), "the Workload API's x509_svid_key");
        }
        catch (KeyFormatException e)
        {
            throw WorkloadApiMessages.Fail($"the Workload API's SVID key cannot be used: {e.Message}");
        }

        return Checked(chain, key, bundle, svid.SpiffeId, policy, now);
    }

    /// <summary>
    /// Checks the SVID at <paramref name="now"/> against <paramref name="bundle"/> (its own trust domain's) and that
    /// <paramref name="key"/> is the leaf's: a signature made with it verifies with the leaf's public key.
    /// </summary>
    /// <param name="chain">The SVID, leaf first.</param>
    /// <param name="key">Its private key.</param>
    /// <param name="bundle">The CAs of the SVID's trust domain.</param>
    /// <param name="claimedId">The SPIFFE ID the Workload API announced with the SVID, or null for files.</param>
    /// <param name="policy">Allowed IDs and the longest lifetime.</param>
    /// <param name="now">The signing time.</param>
    public static SvidSigner Checked(IReadOnlyList<X509Certificate> chain, SigningKey key, IReadOnlyList<X509Certificate> bundle, string? claimedId, SvidPolicy policy, DateTimeOffset now)
    {
        if (chain.Count == 0)
        {
            throw SvidException.Input("the SVID chain holds no certificate.");
        }

        string domain = claimedId is not null && SpiffeId.TryParse(claimedId, out var claimed, out _, out _) ? claimed!.TrustDomain
            : SpiffeId.TryParse(SvidVerifier.UriSans(chain[0]).FirstOrDefault() ?? "", out var named, out _, out _) ? named!.TrustDomain : "";
        var id = SvidVerifier.Verify(chain, new Dictionary<string, IReadOnlyList<X509Certificate>>(StringComparer.Ordinal) { [domain] = bundle }, now, policy);
        if (claimedId is not null && id.ToString() != claimedId)
        {
            throw new SvidException(SvidException.WorkloadApi, "workload-api",
                $"the Workload API says the SVID is {claimedId}, but its certificate names {id}.", "The agent's answer is inconsistent: report it; nothing was signed.");
        }

        byte[] probe = DsseEnvelope.Pae("application/vnd.securebuild.svid-key-check", id.ToString().Select(c => (byte)c).ToArray());
        if (!SigstorePublicKey.FromCertificate(chain[0]).Verify(probe, key.SignForCertificate(probe)))
        {
            throw new SvidException(SvidException.SigningKey, "svid-key",
                $"the private key ({key}) is not the key of the SVID {id}: a signature made with it does not verify with the certificate's public key.",
                "Give the key that belongs to the SVID (svid.key next to svid.pem).");
        }

        return new SvidSigner(chain, key, id, bundle, policy);
    }

    /// <summary>
    /// From now on each signature gets an RFC 3161 timestamp from <paramref name="tsa"/> (over the signature bytes,
    /// as Sigstore bundles carry it), so a verifier trusting that TSA checks the SVID at the TSA's time instead of
    /// needing the signing time named. With <paramref name="trustedTsas"/>, each bundle is verified with its timestamp
    /// before it is returned: a TSA that is not trusted there, or whose time lies outside the SVID's validity, fails
    /// the signing (SB5302) instead of writing a bundle no verifier accepts.
    /// </summary>
    public void UseTimestampAuthority(TimestampClient tsa, IReadOnlyList<CertificateAuthorityInstance>? trustedTsas)
    {
        _tsa = tsa ?? throw new ArgumentNullException(nameof(tsa));
        _trustedTsas = trustedTsas;
    }

    /// <summary>The key that signs (the leaf's): in-toto link files are named after its keyid.</summary>
    public string KeyId => _key.KeyId;

    /// <summary>The SVID's private key, for what signs classic in-toto links (with <see cref="ChainPem"/> as their "cert").</summary>
    public SigningKey Key => _key;

    /// <summary>
    /// The SVID chain as PEM, leaf first, then the intermediates: a classic link signature's <c>cert</c>
    /// (in-toto-golang's field; it reads the first certificate only and finds intermediates in the layout's
    /// <c>intermediatecas</c>). A layout with <c>cert_constraints</c> for the step accepts such a signature by SPIFFE
    /// ID; a key-only layout that lists the SVID's key accepts it as a key signature.
    /// </summary>
    public string ChainPem => SvidCertificates.ToPem(Chain);

    /// <summary>Signs <paramref name="payload"/> as DSSE into a bundle that carries the SVID chain.</summary>
    /// <exception cref="KeylessException">SB5030: the timestamp authority failed.</exception>
    /// <exception cref="SvidException">SB5302: the timestamped bundle does not verify against the trusted TSAs.</exception>
    public SigstoreBundle SignDsse(string payloadType, byte[] payload) =>
        Bundle(null, DsseEnvelope.Sign(payloadType, payload, _key.SignForCertificate, keyId: string.Empty), null);

    /// <summary>Signs an artifact's bytes (SHA-256 message signature), as <c>cosign sign-blob --bundle</c> does with a key.</summary>
    /// <exception cref="KeylessException">SB5030: the timestamp authority failed.</exception>
    /// <exception cref="SvidException">SB5302: the timestamped bundle does not verify against the trusted TSAs.</exception>
    public SigstoreBundle SignArtifact(byte[] artifact)
    {
        byte[] digest = SigstorePublicKey.Digest("SHA-256", artifact);
        return Bundle(new MessageSignature("SHA2_256", digest, _key.SignForCertificate(artifact)), null, artifact);
    }

    private SigstoreBundle Bundle(MessageSignature? message, DsseEnvelope? envelope, byte[]? artifact)
    {
        byte[] signature = message?.Signature ?? envelope!.Signatures[0].Signature;
        var bundle = new SigstoreBundle(
            SigstoreBundle.MediaTypeV02,
            VerificationMaterialKind.X509CertificateChain,
            null,
            Chain.Select(c => c.GetEncoded()).ToList(),
            Array.Empty<TransparencyLogEntry>(),
            _tsa is null ? Array.Empty<byte[]>() : new[] { _tsa.Timestamp(signature) },
            message,
            envelope);
        if (_tsa is not null && _trustedTsas is not null)
        {
            SelfCheck(bundle, artifact);
        }

        return bundle;
    }

    private void SelfCheck(SigstoreBundle bundle, byte[]? artifact)
    {
        var trust = new Dictionary<string, IReadOnlyList<X509Certificate>>(StringComparer.Ordinal) { [Id.TrustDomain] = _trustBundle };
        try
        {
            SvidSignatures.Verify(bundle, trust, DateTimeOffset.UtcNow, _policy, artifact, _trustedTsas);
        }
        catch (SvidException e)
        {
            throw new SvidException(SvidException.TimestampSelfCheck, "timestamp-self-check",
                $"the bundle just signed with the SVID {Id} and timestamped does not verify against the trusted root's timestamp authorities: {e.Code}: {e.Reason}",
                "Point SecureBuildTrustedRoot at a trusted_root.json that lists the timestamp authority of SecureBuildTimestampUrl (and check that TSA's clock), or leave SecureBuildTrustedRoot empty.");
        }
    }
}

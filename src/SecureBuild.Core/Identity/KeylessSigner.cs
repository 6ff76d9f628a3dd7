using System.Security.Cryptography;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Sigstore;
using SecureBuild.Core.Transparency;

namespace SecureBuild.Core.Identity;

/// <summary>A keyless bundle and what happened while making it.</summary>
public sealed class KeylessBundle
{
    internal KeylessBundle(SigstoreBundle bundle, string? warning)
    {
        Bundle = bundle;
        Warning = warning;
    }

    public SigstoreBundle Bundle { get; }

    /// <summary>Why the bundle has no log entry (the upload failed and was optional: warning SB5022), else null.</summary>
    public string? Warning { get; }

    /// <summary>The code of <see cref="Warning"/>: SB5022.</summary>
    public string WarningCode => KeylessException.RekorSkipped;
}

/// <summary>
/// Keyless signing, the way cosign and sigstore-js do it: an ephemeral ECDSA P-256 key made in memory, a short-lived
/// Fulcio certificate binding it to the CI's OIDC identity, the signatures (DSSE envelopes or artifact signatures),
/// an optional RFC 3161 timestamp, a Rekor v1 entry per signature, and a Sigstore bundle v0.3 with the certificate and
/// the entry. The private key never leaves this object; <see cref="Dispose"/> drops it, and nothing can be signed after.
/// A bundle never claims a log entry it does not have: the entry returned by the log must record this very signature
/// and certificate (else SB5021), and with a trusted root configured the whole bundle is verified before it is
/// returned (else SB5040).
/// </summary>
public sealed class KeylessSigner : IDisposable
{
    // Log and TSA clocks may run ahead of ours: the self-check accepts their times up to this much in our future.
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(10);

    private readonly KeylessSettings _settings;
    private readonly RekorClient _rekor;
    private readonly TimestampClient? _tsa;
    private readonly Func<DateTimeOffset> _clock;
    private SigningKey? _key;

    private KeylessSigner(KeylessSettings settings, SigningKey key, FulcioCertificate certificate, RekorClient rekor, TimestampClient? tsa, Func<DateTimeOffset> clock)
    {
        _settings = settings;
        _key = key;
        Certificate = certificate;
        _rekor = rekor;
        _tsa = tsa;
        _clock = clock;
    }

    public FulcioCertificate Certificate { get; }

    /// <summary>HTTP requests made so far (Fulcio, Rekor, TSA), for the benchmark's round-trip count.</summary>
    public int RoundTrips { get; private set; } = 1;

    /// <summary>Makes the ephemeral key and gets its certificate from Fulcio (one round trip).</summary>
    /// <exception cref="KeylessException">SB5010, SB5011.</exception>
    public static KeylessSigner Start(KeylessSettings settings, IdentityToken token, BoundedHttp http, Func<DateTimeOffset>? clock = null, Action<TimeSpan>? sleep = null)
    {
        if (settings is null)
        {
            throw new ArgumentNullException(nameof(settings));
        }

        var key = SigningKey.Generate(KeyType.Ecdsa);
        var certificate = new FulcioClient(settings.FulcioUrl, http).RequestCertificate(key, token);
        var rekor = new RekorClient(settings.RekorUrl, http, settings.RekorAttempts, sleep);
        var tsa = settings.TimestampUrl is null ? null : new TimestampClient(settings.TimestampUrl, http);
        return new KeylessSigner(settings, key, certificate, rekor, tsa, clock ?? (() => DateTimeOffset.UtcNow));
    }

    /// <summary>Signs a DSSE envelope and logs it as a dsse entry.</summary>
    public KeylessBundle SignDsse(string payloadType, byte[] payload)
    {
        var envelope = DsseEnvelope.Sign(payloadType, payload, Key(), keyId: string.Empty);
        return Finish(envelope.Signatures[0].Signature, null, envelope, () => RekorEntries.Dsse(envelope, Certificate.LeafDer));
    }

    /// <summary>Signs an artifact's bytes (ECDSA over SHA-256) and logs it as a hashedrekord entry, as <c>cosign sign-blob --bundle</c>.</summary>
    public KeylessBundle SignArtifact(byte[] artifact)
    {
        if (artifact is null)
        {
            throw new ArgumentNullException(nameof(artifact));
        }

        byte[] signature = Key().Sign(artifact);
        byte[] digest;
        using (var sha = SHA256.Create())
        {
            digest = sha.ComputeHash(artifact);
        }

        return Finish(signature, new MessageSignature("SHA2_256", digest, signature), null, () => RekorEntries.HashedRekord(digest, signature, Certificate.LeafDer));
    }

    /// <summary>Drops the private key: the certificate is short-lived and the key is never needed again.</summary>
    public void Dispose() => _key = null;

    private SigningKey Key() => _key ?? throw new ObjectDisposedException(nameof(KeylessSigner), "the ephemeral key was discarded");

    private KeylessBundle Finish(byte[] signature, MessageSignature? message, DsseEnvelope? envelope, Func<Json.JsonMap> proposedEntry)
    {
        var timestamps = new List<byte[]>();
        if (_tsa is not null)
        {
            timestamps.Add(_tsa.Timestamp(signature));
            RoundTrips++;
        }

        var entries = new List<TransparencyLogEntry>();
        string? warning = null;
        try
        {
            var upload = _rekor.Upload(proposedEntry());
            RoundTrips += upload.Attempts + (upload.Existing ? 1 : 0);
            var unlogged = Bundle(Array.Empty<TransparencyLogEntry>(), timestamps, message, envelope);
            string? mismatch = RekorBody.Check(upload.Entry, unlogged, Certificate.LeafDer, SigstorePublicKey.FromCoreKey(Key().Public).SpkiDer);
            if (mismatch is not null)
            {
                throw new KeylessException(KeylessException.RekorBadResponse, "the transparency log's entry is not the one uploaded: " + mismatch, $"Check that SecureBuildRekorUrl ({_settings.RekorUrl}) names a genuine Rekor v1 log.");
            }

            var integrated = SigstoreTime.FromUnixSeconds(upload.Entry.IntegratedTime);
            if (integrated < Certificate.NotBefore || integrated > Certificate.NotAfter)
            {
                throw new KeylessException(KeylessException.RekorBadResponse, $"the log integrated the entry at {SigstoreTime.Format(integrated)}, outside the certificate's validity {SigstoreTime.Format(Certificate.NotBefore)} .. {SigstoreTime.Format(Certificate.NotAfter)}: no verifier would accept the bundle", "Check the clocks of Fulcio and Rekor (a private instance) and sign again.");
            }

            entries.Add(upload.Entry);
        }
        catch (KeylessException e) when (_settings.TransparencyLog == TransparencyLogMode.Optional && (e.Code == KeylessException.RekorFailed || e.Code == KeylessException.RekorBadResponse))
        {
            warning = $"the bundle was written without a transparency-log entry because the upload failed ({e.Code}: {e.Message}); verifiers need --tlog-threshold 0 and a signing time from a timestamp authority. Set SecureBuildTransparencyLog=required to fail instead.";
        }

        var bundle = Bundle(entries, timestamps, message, envelope);
        SelfCheck(bundle);
        return new KeylessBundle(bundle, warning);
    }

    private SigstoreBundle Bundle(IReadOnlyList<TransparencyLogEntry> entries, IReadOnlyList<byte[]> timestamps, MessageSignature? message, DsseEnvelope? envelope) =>
        new(SigstoreBundle.MediaTypeV03, VerificationMaterialKind.Certificate, null, new[] { Certificate.LeafDer }, entries, timestamps, message, envelope);

    private void SelfCheck(SigstoreBundle bundle)
    {
        if (_settings.TrustedRoot is null)
        {
            return;
        }

        var options = new SigstoreVerificationOptions
        {
            VerificationTime = _clock() + ClockSkew,
            CertificateIdentity = Certificate.Identities.FirstOrDefault(),
            CertificateOidcIssuer = Certificate.OidcIssuer,
            TransparencyLogThreshold = bundle.TlogEntries.Count == 0 ? 0 : 1,
            RequireSubjectMatch = false,
        };
        var artifact = bundle.MessageSignature is null ? null : SigstoreArtifact.FromSha256(bundle.MessageSignature.Digest);
        var result = new SigstoreVerifier(_settings.TrustedRoot).Verify(bundle, artifact, options);
        if (!result.Verified)
        {
            throw new KeylessException(KeylessException.SelfCheckFailed, "the keyless bundle just made does not verify against SecureBuildTrustedRoot: " + result.Failure, "Point SecureBuildTrustedRoot at the trusted root of the Fulcio and Rekor you sign with (SecureBuildFulcioUrl, SecureBuildRekorUrl), or leave it empty.");
        }
    }
}

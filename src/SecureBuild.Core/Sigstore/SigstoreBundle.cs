using SecureBuild.Core.Attestation;
using SecureBuild.Core.Json;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Sigstore;

/// <summary>Which kind of verification material a bundle carries.</summary>
public enum VerificationMaterialKind
{
    /// <summary>A key hint: the verifier supplies the key.</summary>
    PublicKey,

    /// <summary>v0.1/v0.2: a certificate chain (leaf first).</summary>
    X509CertificateChain,

    /// <summary>v0.3: the single leaf certificate.</summary>
    Certificate,
}

/// <summary>A signature over an artifact (message signature) and the artifact digest it claims.</summary>
public sealed class MessageSignature
{
    public MessageSignature(string digestAlgorithm, byte[] digest, byte[] signature)
    {
        DigestAlgorithm = digestAlgorithm;
        Digest = digest;
        Signature = signature;
    }

    /// <summary>Proto enum name: SHA2_256, SHA2_384, SHA2_512, SHA3_256, SHA3_384.</summary>
    public string DigestAlgorithm { get; }

    public byte[] Digest { get; }

    public byte[] Signature { get; }
}

/// <summary>An RFC 6962 inclusion proof with its signed checkpoint.</summary>
public sealed class InclusionProof
{
    public InclusionProof(long logIndex, byte[] rootHash, long treeSize, IReadOnlyList<byte[]> hashes, string? checkpoint)
    {
        LogIndex = logIndex;
        RootHash = rootHash;
        TreeSize = treeSize;
        Hashes = hashes;
        Checkpoint = checkpoint;
    }

    /// <summary>Index of the entry in the (shard's) tree.</summary>
    public long LogIndex { get; }

    public byte[] RootHash { get; }

    public long TreeSize { get; }

    /// <summary>Sibling hashes, leaf to root.</summary>
    public IReadOnlyList<byte[]> Hashes { get; }

    /// <summary>The signed note (checkpoint) text, or null.</summary>
    public string? Checkpoint { get; }
}

/// <summary>One transparency-log entry of a bundle.</summary>
public sealed class TransparencyLogEntry
{
    public TransparencyLogEntry(long logIndex, byte[] logId, string kind, string kindVersion, long integratedTime, byte[]? signedEntryTimestamp, InclusionProof? inclusionProof, byte[] canonicalizedBody)
    {
        LogIndex = logIndex;
        LogId = logId;
        Kind = kind;
        KindVersion = kindVersion;
        IntegratedTime = integratedTime;
        SignedEntryTimestamp = signedEntryTimestamp;
        InclusionProof = inclusionProof;
        CanonicalizedBody = canonicalizedBody;
    }

    /// <summary>The global log index (what the SET covers).</summary>
    public long LogIndex { get; }

    public byte[] LogId { get; }

    /// <summary>hashedrekord, dsse, intoto, ...</summary>
    public string Kind { get; }

    /// <summary>0.0.1, 0.0.2, ...</summary>
    public string KindVersion { get; }

    /// <summary>Unix seconds; 0 when absent (Rekor v2).</summary>
    public long IntegratedTime { get; }

    /// <summary>The inclusion promise (SET), or null.</summary>
    public byte[]? SignedEntryTimestamp { get; }

    public InclusionProof? InclusionProof { get; }

    /// <summary>The exact body bytes the log committed to (never re-serialized).</summary>
    public byte[] CanonicalizedBody { get; }
}

/// <summary>
/// A Sigstore bundle (protobuf-specs dev.sigstore.bundle.v1.Bundle, proto3 JSON): v0.1, v0.2 and v0.3 media types.
/// Parsing checks the shape each version requires (v0.1: inclusion promise per entry; v0.2+: inclusion proof with
/// checkpoint; v0.3: no certificate chain), that exactly one verification material and one content are present,
/// and every field's type and base64. Unknown fields are rejected.
/// </summary>
public sealed class SigstoreBundle
{
    public const string MediaTypeV01 = "application/vnd.dev.sigstore.bundle+json;version=0.1";
    public const string MediaTypeV02 = "application/vnd.dev.sigstore.bundle+json;version=0.2";
    public const string MediaTypeV03Legacy = "application/vnd.dev.sigstore.bundle+json;version=0.3";
    public const string MediaTypeV03 = "application/vnd.dev.sigstore.bundle.v0.3+json";

    /// <summary>Largest bundle <see cref="Parse(byte[])"/> accepts (64 MiB).</summary>
    public const int MaxBundleBytes = 64 * 1024 * 1024;

    public SigstoreBundle(
        string mediaType,
        VerificationMaterialKind materialKind,
        string? publicKeyHint,
        IReadOnlyList<byte[]> certificates,
        IReadOnlyList<TransparencyLogEntry> tlogEntries,
        IReadOnlyList<byte[]> rfc3161Timestamps,
        MessageSignature? messageSignature,
        DsseEnvelope? dsseEnvelope)
    {
        MediaType = mediaType ?? throw new ArgumentNullException(nameof(mediaType));
        Version = VersionOf(mediaType) ?? throw new ArgumentException($"unknown bundle media type {mediaType}", nameof(mediaType));
        MaterialKind = materialKind;
        PublicKeyHint = publicKeyHint;
        Certificates = certificates ?? Array.Empty<byte[]>();
        TlogEntries = tlogEntries ?? Array.Empty<TransparencyLogEntry>();
        Rfc3161Timestamps = rfc3161Timestamps ?? Array.Empty<byte[]>();
        MessageSignature = messageSignature;
        DsseEnvelope = dsseEnvelope;
        if ((messageSignature is null) == (dsseEnvelope is null))
        {
            throw new ArgumentException("A bundle holds exactly one of a message signature and a DSSE envelope.");
        }
    }

    public string MediaType { get; }

    /// <summary>"0.1", "0.2" or "0.3".</summary>
    public string Version { get; }

    public VerificationMaterialKind MaterialKind { get; }

    /// <summary>The publicKey.hint (for <see cref="VerificationMaterialKind.PublicKey"/>).</summary>
    public string? PublicKeyHint { get; }

    /// <summary>DER certificates: the leaf (v0.3 certificate) or the chain, leaf first (v0.1/v0.2).</summary>
    public IReadOnlyList<byte[]> Certificates { get; }

    public IReadOnlyList<TransparencyLogEntry> TlogEntries { get; }

    /// <summary>RFC 3161 TimeStampResp blobs (timestampVerificationData.rfc3161Timestamps[].signedTimestamp).</summary>
    public IReadOnlyList<byte[]> Rfc3161Timestamps { get; }

    public MessageSignature? MessageSignature { get; }

    public DsseEnvelope? DsseEnvelope { get; }

    /// <summary>The signature bytes the bundle is about: the message signature or the (first) DSSE signature.</summary>
    public byte[] SignatureBytes => MessageSignature?.Signature ?? DsseEnvelope!.Signatures[0].Signature;

    public static string? VersionOf(string mediaType) => mediaType switch
    {
        MediaTypeV01 => "0.1",
        MediaTypeV02 => "0.2",
        MediaTypeV03 or MediaTypeV03Legacy => "0.3",
        _ => null,
    };

    /// <exception cref="SigstoreFormatException">Malformed.</exception>
    /// <exception cref="IOException">Unreadable.</exception>
    public static SigstoreBundle Load(string path) => Parse(InputFile.ReadAllBytes(path, InputKind.Bundle));

    /// <exception cref="SigstoreFormatException">Malformed.</exception>
    public static SigstoreBundle Parse(byte[] utf8Json)
    {
        if (utf8Json is null)
        {
            throw new ArgumentNullException(nameof(utf8Json));
        }

        if (utf8Json.Length > MaxBundleBytes)
        {
            throw Fail($"the bundle is larger than {MaxBundleBytes} bytes.");
        }

        const string p = "bundle";
        var root = StrictJson.AsObject(StrictJson.Parse(utf8Json, "the bundle", Fail), p, Fail);
        StrictJson.AllowedFields(root, p, Fail, "mediaType", "verificationMaterial", "messageSignature", "dsseEnvelope");
        string mediaType = StrictJson.ReqString(root, "mediaType", p, Fail);
        string version = VersionOf(mediaType)
            ?? throw Fail($"bundle.mediaType \"{StrictJson.Clip(mediaType)}\" is not a supported Sigstore bundle version (supported: 0.1, 0.2, 0.3).");

        var vm = StrictJson.ReqObject(root, "verificationMaterial", p, Fail);
        const string vp = "bundle.verificationMaterial";
        StrictJson.AllowedFields(vm, vp, Fail, "publicKey", "x509CertificateChain", "certificate", "tlogEntries", "timestampVerificationData");
        var present = new[] { "publicKey", "x509CertificateChain", "certificate" }.Where(f => StrictJson.Opt(vm, f) is not null).ToList();
        if (present.Count != 1)
        {
            throw Fail(present.Count == 0
                ? $"{vp} has no publicKey, x509CertificateChain or certificate."
                : $"{vp} has more than one of publicKey, x509CertificateChain and certificate ({string.Join(", ", present)}).");
        }

        VerificationMaterialKind kind;
        string? hint = null;
        var certificates = new List<byte[]>();
        switch (present[0])
        {
            case "publicKey":
                kind = VerificationMaterialKind.PublicKey;
                var publicKey = Strict(StrictJson.ReqObject(vm, "publicKey", vp, Fail), vp + ".publicKey", "hint");
                hint = StrictJson.OptString(publicKey, "hint", vp + ".publicKey", Fail) ?? string.Empty;
                break;
            case "x509CertificateChain":
                kind = VerificationMaterialKind.X509CertificateChain;
                if (version == "0.3")
                {
                    throw Fail($"{vp}.x509CertificateChain is not allowed in a v0.3 bundle (v0.3 carries only the leaf \"certificate\").");
                }

                var chain = Strict(StrictJson.ReqObject(vm, "x509CertificateChain", vp, Fail), vp + ".x509CertificateChain", "certificates");
                var certs = StrictJson.OptArray(chain, "certificates", vp + ".x509CertificateChain", Fail);
                if (certs is null || certs.Count == 0)
                {
                    throw Fail($"{vp}.x509CertificateChain.certificates is empty: there is no signing certificate.");
                }

                for (int i = 0; i < certs.Count; i++)
                {
                    string cp = $"{vp}.x509CertificateChain.certificates[{i}]";
                    certificates.Add(NonEmpty(StrictJson.ReqBytes(Strict(StrictJson.AsObject(certs[i], cp, Fail), cp, "rawBytes"), "rawBytes", cp, Fail), cp + ".rawBytes"));
                }

                break;
            default:
                kind = VerificationMaterialKind.Certificate;
                var cert = Strict(StrictJson.ReqObject(vm, "certificate", vp, Fail), vp + ".certificate", "rawBytes");
                certificates.Add(NonEmpty(StrictJson.ReqBytes(cert, "rawBytes", vp + ".certificate", Fail), vp + ".certificate.rawBytes"));
                break;
        }

        var entries = new List<TransparencyLogEntry>();
        var tlogArray = StrictJson.OptArray(vm, "tlogEntries", vp, Fail);
        if (tlogArray is not null)
        {
            for (int i = 0; i < tlogArray.Count; i++)
            {
                entries.Add(ReadEntry(tlogArray[i], $"{vp}.tlogEntries[{i}]", version));
            }
        }

        var timestamps = new List<byte[]>();
        var tvd = StrictJson.OptObject(vm, "timestampVerificationData", vp, Fail);
        if (tvd is not null)
        {
            Strict(tvd, vp + ".timestampVerificationData", "rfc3161Timestamps");
        }

        var rfc3161 = tvd is null ? null : StrictJson.OptArray(tvd, "rfc3161Timestamps", vp + ".timestampVerificationData", Fail);
        if (rfc3161 is not null)
        {
            for (int i = 0; i < rfc3161.Count; i++)
            {
                string tp = $"{vp}.timestampVerificationData.rfc3161Timestamps[{i}]";
                timestamps.Add(NonEmpty(StrictJson.ReqBytes(Strict(StrictJson.AsObject(rfc3161[i], tp, Fail), tp, "signedTimestamp"), "signedTimestamp", tp, Fail), tp + ".signedTimestamp"));
            }
        }

        bool hasMessage = StrictJson.Opt(root, "messageSignature") is not null;
        bool hasDsse = StrictJson.Opt(root, "dsseEnvelope") is not null;
        if (hasMessage == hasDsse)
        {
            throw Fail(hasMessage
                ? "the bundle has both messageSignature and dsseEnvelope."
                : "the bundle has neither messageSignature nor dsseEnvelope.");
        }

        MessageSignature? message = null;
        DsseEnvelope? envelope = null;
        if (hasMessage)
        {
            const string mp = "bundle.messageSignature";
            var ms = Strict(StrictJson.ReqObject(root, "messageSignature", p, Fail), mp, "messageDigest", "signature");
            var md = Strict(StrictJson.ReqObject(ms, "messageDigest", mp, Fail), mp + ".messageDigest", "algorithm", "digest");
            string algorithm = StrictJson.OptString(md, "algorithm", mp + ".messageDigest", Fail) ?? "HASH_ALGORITHM_UNSPECIFIED";
            byte[] digest = NonEmpty(StrictJson.ReqBytes(md, "digest", mp + ".messageDigest", Fail), mp + ".messageDigest.digest");
            byte[] signature = NonEmpty(StrictJson.ReqBytes(ms, "signature", mp, Fail), mp + ".signature");
            message = new MessageSignature(algorithm, digest, signature);
        }
        else
        {
            envelope = DsseEnvelope.FromJson(StrictJson.Req(root, "dsseEnvelope", p, Fail), "bundle.dsseEnvelope", Fail);
            if (envelope.Payload.Length == 0)
            {
                throw Fail("bundle.dsseEnvelope.payload is empty.");
            }
        }

        return new SigstoreBundle(mediaType, kind, hint, certificates, entries, timestamps, message, envelope);
    }

    private static TransparencyLogEntry ReadEntry(JsonItem node, string path, string version)
    {
        var e = Strict(StrictJson.AsObject(node, path, Fail), path, "logIndex", "logId", "kindVersion", "integratedTime", "inclusionPromise", "inclusionProof", "canonicalizedBody");
        // proto3 JSON leaves out a field at its default value: an absent log index is 0 (sigstore-js writes a
        // one-leaf log's proof that way), as protobuf-specs parsers read it.
        long logIndex = StrictJson.OptNonNegativeInt64(e, "logIndex", path, Fail) ?? 0;
        byte[] logId = NonEmpty(StrictJson.ReqBytes(Strict(StrictJson.ReqObject(e, "logId", path, Fail), path + ".logId", "keyId"), "keyId", path + ".logId", Fail), path + ".logId.keyId");
        var kv = Strict(StrictJson.ReqObject(e, "kindVersion", path, Fail), path + ".kindVersion", "kind", "version");
        string kind = StrictJson.ReqString(kv, "kind", path + ".kindVersion", Fail);
        string kindVersion = StrictJson.ReqString(kv, "version", path + ".kindVersion", Fail);
        long integratedTime = StrictJson.OptNonNegativeInt64(e, "integratedTime", path, Fail) ?? 0;
        var promise = StrictJson.OptObject(e, "inclusionPromise", path, Fail);
        if (promise is not null)
        {
            Strict(promise, path + ".inclusionPromise", "signedEntryTimestamp");
        }

        byte[]? set = promise is null ? null : NonEmpty(StrictJson.ReqBytes(promise, "signedEntryTimestamp", path + ".inclusionPromise", Fail), path + ".inclusionPromise.signedEntryTimestamp");
        InclusionProof? proof = null;
        var proofObj = StrictJson.OptObject(e, "inclusionProof", path, Fail);
        if (proofObj is not null)
        {
            string pp = path + ".inclusionProof";
            Strict(proofObj, pp, "logIndex", "rootHash", "treeSize", "hashes", "checkpoint");
            long index = StrictJson.OptNonNegativeInt64(proofObj, "logIndex", pp, Fail) ?? 0;
            byte[] rootHash = StrictJson.ReqBytes(proofObj, "rootHash", pp, Fail);
            long treeSize = StrictJson.ReqNonNegativeInt64(proofObj, "treeSize", pp, Fail);
            var hashes = new List<byte[]>();
            var hashArray = StrictJson.OptArray(proofObj, "hashes", pp, Fail);
            if (hashArray is not null)
            {
                for (int i = 0; i < hashArray.Count; i++)
                {
                    if (hashArray[i] is not JsonString hs)
                    {
                        throw Fail($"{pp}.hashes[{i}] must be a string.");
                    }

                    hashes.Add(StrictJson.DecodeBase64(hs.Value, $"{pp}.hashes[{i}]", Fail));
                }
            }

            var checkpoint = StrictJson.OptObject(proofObj, "checkpoint", pp, Fail);
            string? envelope = checkpoint is null ? null : StrictJson.ReqString(Strict(checkpoint, pp + ".checkpoint", "envelope"), "envelope", pp + ".checkpoint", Fail);
            proof = new InclusionProof(index, rootHash, treeSize, hashes, envelope);
        }

        if (version == "0.1" && set is null)
        {
            throw Fail($"{path} has no inclusionPromise, which a v0.1 bundle requires.");
        }

        if (version != "0.1" && (proof is null || proof.Checkpoint is null))
        {
            throw Fail(proof is null
                ? $"{path} has no inclusionProof, which a v{version} bundle requires."
                : $"{path}.inclusionProof has no checkpoint, which a v{version} bundle requires.");
        }

        byte[] body = NonEmpty(StrictJson.ReqBytes(e, "canonicalizedBody", path, Fail), path + ".canonicalizedBody");
        return new TransparencyLogEntry(logIndex, logId, kind, kindVersion, integratedTime, set, proof, body);
    }

    /// <summary>The bundle in proto3 JSON: bytes as standard base64, int64 as decimal strings.</summary>
    public JsonMap ToJson()
    {
        var vm = new JsonMap();
        switch (MaterialKind)
        {
            case VerificationMaterialKind.PublicKey:
                vm.Add("publicKey", new JsonMap { { "hint", PublicKeyHint ?? string.Empty } });
                break;
            case VerificationMaterialKind.Certificate:
                vm.Add("certificate", new JsonMap { { "rawBytes", Base64Codec.Encode(Certificates[0]) } });
                break;
            default:
                vm.Add("x509CertificateChain", new JsonMap
                {
                    { "certificates", new JsonList(Certificates.Select(c => (JsonItem)new JsonMap { { "rawBytes", Base64Codec.Encode(c) } })) },
                });
                break;
        }

        vm.Add("tlogEntries", new JsonList(TlogEntries.Select(e => (JsonItem)EntryToJson(e))));
        if (Rfc3161Timestamps.Count > 0)
        {
            vm.Add("timestampVerificationData", new JsonMap
            {
                { "rfc3161Timestamps", new JsonList(Rfc3161Timestamps.Select(t => (JsonItem)new JsonMap { { "signedTimestamp", Base64Codec.Encode(t) } })) },
            });
        }

        var root = new JsonMap { { "mediaType", MediaType }, { "verificationMaterial", vm } };
        if (MessageSignature is not null)
        {
            root.Add("messageSignature", new JsonMap
            {
                { "messageDigest", new JsonMap { { "algorithm", MessageSignature.DigestAlgorithm }, { "digest", Base64Codec.Encode(MessageSignature.Digest) } } },
                { "signature", Base64Codec.Encode(MessageSignature.Signature) },
            });
        }
        else
        {
            root.Add("dsseEnvelope", DsseEnvelope!.ToJson());
        }

        return root;
    }

    /// <summary>Indented UTF-8 JSON with a trailing newline, no BOM (what a <c>*.sigstore.json</c> file holds).</summary>
    public byte[] ToUtf8Json() => JsonText.WriteUtf8(ToJson(), indented: true);

    private static JsonMap EntryToJson(TransparencyLogEntry e)
    {
        string Int(long v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var obj = new JsonMap
        {
            { "logIndex", Int(e.LogIndex) },
            { "logId", new JsonMap { { "keyId", Base64Codec.Encode(e.LogId) } } },
            { "kindVersion", new JsonMap { { "kind", e.Kind }, { "version", e.KindVersion } } },
        };
        if (e.IntegratedTime != 0)
        {
            obj.Add("integratedTime", Int(e.IntegratedTime));
        }

        if (e.SignedEntryTimestamp is not null)
        {
            obj.Add("inclusionPromise", new JsonMap { { "signedEntryTimestamp", Base64Codec.Encode(e.SignedEntryTimestamp) } });
        }

        if (e.InclusionProof is not null)
        {
            var p = e.InclusionProof;
            var proof = new JsonMap
            {
                { "logIndex", Int(p.LogIndex) },
                { "rootHash", Base64Codec.Encode(p.RootHash) },
                { "treeSize", Int(p.TreeSize) },
                { "hashes", new JsonList(p.Hashes.Select(h => (JsonItem)Base64Codec.Encode(h))) },
            };
            if (p.Checkpoint is not null)
            {
                proof.Add("checkpoint", new JsonMap { { "envelope", p.Checkpoint } });
            }

            obj.Add("inclusionProof", proof);
        }

        obj.Add("canonicalizedBody", Base64Codec.Encode(e.CanonicalizedBody));
        return obj;
    }

    /// <summary>Unknown fields are rejected, as proto3 JSON parsers do by default (a misspelt field is never silently ignored).</summary>
    private static JsonMap Strict(JsonMap obj, string path, params string[] allowed)
    {
        StrictJson.AllowedFields(obj, path, Fail, allowed);
        return obj;
    }

    private static byte[] NonEmpty(byte[] bytes, string path) => bytes.Length > 0 ? bytes : throw Fail($"{path} is empty.");

    private static Exception Fail(string message) => new SigstoreFormatException(message);
}

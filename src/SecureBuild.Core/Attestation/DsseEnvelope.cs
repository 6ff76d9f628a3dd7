using System.Globalization;
using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Attestation;

/// <summary>One DSSE signature: the raw signature bytes and the optional, unauthenticated key id hint.</summary>
public sealed class DsseSignature
{
    public DsseSignature(byte[] signature, string? keyId)
    {
        Signature = signature ?? throw new ArgumentNullException(nameof(signature));
        KeyId = string.IsNullOrEmpty(keyId) ? null : keyId;
    }

    /// <summary>The signature over <see cref="DsseEnvelope.Pae(string, byte[])"/> (decoded from base64).</summary>
    public byte[] Signature { get; }

    /// <summary>The "keyid" hint, or null when absent or empty. Never trusted: keys are chosen by the verifier.</summary>
    public string? KeyId { get; }
}

/// <summary>
/// A DSSE v1.0 envelope (<c>{"payload", "payloadType", "signatures": [{"keyid", "sig"}]}</c>). The signature covers
/// the pre-authentication encoding <see cref="Pae(string, byte[])"/> of the payload type and the exact payload
/// bytes; nothing is canonicalized. Parsing is strict: missing or extra fields, a non-string type, invalid base64
/// (standard and URL-safe alphabets are both accepted) and an envelope without signatures are rejected.
/// </summary>
public sealed class DsseEnvelope
{
    /// <summary>The payload type of in-toto attestations.</summary>
    public const string InTotoPayloadType = "application/vnd.in-toto+json";

    /// <summary>Largest envelope <see cref="Parse(byte[])"/> accepts (64 MiB).</summary>
    public const int MaxEnvelopeBytes = 64 * 1024 * 1024;

    public DsseEnvelope(string payloadType, byte[] payload, IEnumerable<DsseSignature> signatures)
    {
        PayloadType = payloadType ?? throw new ArgumentNullException(nameof(payloadType));
        Payload = payload ?? throw new ArgumentNullException(nameof(payload));
        Signatures = (signatures ?? throw new ArgumentNullException(nameof(signatures))).ToList().AsReadOnly();
        if (Signatures.Count == 0)
        {
            throw new ArgumentException("A DSSE envelope needs at least one signature.", nameof(signatures));
        }
    }

    public string PayloadType { get; }

    /// <summary>The payload bytes exactly as signed (decoded from base64).</summary>
    public byte[] Payload { get; }

    public IReadOnlyList<DsseSignature> Signatures { get; }

    /// <summary>
    /// The DSSE v1 pre-authentication encoding: <c>"DSSEv1" SP len(type) SP type SP len(payload) SP payload</c>, lengths
    /// in ASCII decimal byte counts, the type UTF-8 encoded.
    /// </summary>
    public static byte[] Pae(string payloadType, byte[] payload)
    {
        if (payloadType is null)
        {
            throw new ArgumentNullException(nameof(payloadType));
        }

        if (payload is null)
        {
            throw new ArgumentNullException(nameof(payload));
        }

        byte[] type = new UTF8Encoding(false, true).GetBytes(payloadType);
        byte[] head = Encoding.ASCII.GetBytes(
            "DSSEv1 " + type.Length.ToString(CultureInfo.InvariantCulture) + " ");
        byte[] middle = Encoding.ASCII.GetBytes(" " + payload.Length.ToString(CultureInfo.InvariantCulture) + " ");
        var result = new byte[head.Length + type.Length + middle.Length + payload.Length];
        Buffer.BlockCopy(head, 0, result, 0, head.Length);
        Buffer.BlockCopy(type, 0, result, head.Length, type.Length);
        Buffer.BlockCopy(middle, 0, result, head.Length + type.Length, middle.Length);
        Buffer.BlockCopy(payload, 0, result, head.Length + type.Length + middle.Length, payload.Length);
        return result;
    }

    /// <summary>The PAE of this envelope.</summary>
    public byte[] Pae() => Pae(PayloadType, Payload);

    /// <summary>
    /// Signs <paramref name="payload"/> with one key. <paramref name="keyId"/> is the hint written into the signature
    /// (default: the key's securesystemslib keyid; pass "" for none).
    /// </summary>
    public static DsseEnvelope Sign(string payloadType, byte[] payload, SigningKey key, string? keyId = null)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        return Sign(payloadType, payload, key.Sign, keyId ?? key.KeyId);
    }

    /// <summary>Signs the envelope's PAE with <paramref name="sign"/> (a key's scheme chosen by the caller), under <paramref name="keyId"/>.</summary>
    public static DsseEnvelope Sign(string payloadType, byte[] payload, Func<byte[], byte[]> sign, string keyId)
    {
        if (sign is null)
        {
            throw new ArgumentNullException(nameof(sign));
        }

        byte[] signature = sign(Pae(payloadType, payload));
        return new DsseEnvelope(payloadType, payload, new[] { new DsseSignature(signature, keyId) });
    }

    /// <summary>
    /// Verifies the envelope against one trusted key. Fails (never throws) when the payload type differs from
    /// <paramref name="expectedPayloadType"/> (if given), when <paramref name="requireSingleSignature"/> and there is not
    /// exactly one signature, or when no signature verifies with <paramref name="key"/>.
    /// </summary>
    public DsseVerificationResult Verify(PublicKey key, string? expectedPayloadType = null, bool requireSingleSignature = false)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        return Verify(new[] { key }, 1, expectedPayloadType, requireSingleSignature);
    }

    /// <summary>
    /// (t, n) verification: at least <paramref name="threshold"/> distinct keys among <paramref name="trustedKeys"/> must
    /// each have produced a valid signature. The keyid hints are ignored for key selection.
    /// </summary>
    public DsseVerificationResult Verify(IEnumerable<PublicKey> trustedKeys, int threshold, string? expectedPayloadType = null, bool requireSingleSignature = false)
    {
        if (trustedKeys is null)
        {
            throw new ArgumentNullException(nameof(trustedKeys));
        }

        if (threshold < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(threshold), "The threshold must be at least 1.");
        }

        if (expectedPayloadType is not null && !string.Equals(PayloadType, expectedPayloadType, StringComparison.Ordinal))
        {
            return DsseVerificationResult.Fail($"DSSE payloadType is \"{PayloadType}\", expected \"{expectedPayloadType}\".");
        }

        if (requireSingleSignature && Signatures.Count != 1)
        {
            return DsseVerificationResult.Fail($"the DSSE envelope must carry exactly one signature, it has {Signatures.Count}.");
        }

        byte[] pae = Pae();
        var verified = new List<PublicKey>();
        foreach (var key in trustedKeys.Distinct())
        {
            if (Signatures.Any(s => key.Verify(pae, s.Signature)))
            {
                verified.Add(key);
            }
        }

        if (verified.Count >= threshold)
        {
            return DsseVerificationResult.Success(verified);
        }

        return DsseVerificationResult.Fail(threshold == 1
            ? $"no DSSE signature verifies with the trusted key{(trustedKeys.Skip(1).Any() ? "s" : string.Empty)} (payloadType \"{PayloadType}\", {Signatures.Count} signature(s))."
            : $"only {verified.Count} of the required {threshold} trusted keys signed the DSSE envelope.");
    }

    /// <summary>Parses an envelope from UTF-8 JSON.</summary>
    /// <exception cref="AttestationFormatException">Anything malformed.</exception>
    public static DsseEnvelope Parse(byte[] utf8Json)
    {
        if (utf8Json is null)
        {
            throw new ArgumentNullException(nameof(utf8Json));
        }

        if (utf8Json.Length > MaxEnvelopeBytes)
        {
            throw Fail($"the DSSE envelope is larger than {MaxEnvelopeBytes} bytes.");
        }

        return FromJson(StrictJson.Parse(utf8Json, "the DSSE envelope", Fail), "envelope");
    }

    /// <inheritdoc cref="Parse(byte[])"/>
    public static DsseEnvelope Parse(string json)
    {
        if (json is null)
        {
            throw new ArgumentNullException(nameof(json));
        }

        return Parse(Encoding.UTF8.GetBytes(json));
    }

    /// <summary>Reads an envelope from an already parsed JSON value; <paramref name="path"/> prefixes error messages.</summary>
    /// <exception cref="AttestationFormatException">Anything malformed.</exception>
    public static DsseEnvelope FromJson(JsonItem node, string path = "envelope") => FromJson(node, path, Fail);

    internal static DsseEnvelope FromJson(JsonItem node, string path, Func<string, Exception> fail)
    {
        var obj = StrictJson.AsObject(node, path, fail);
        StrictJson.AllowedFields(obj, path, fail, "payload", "payloadType", "signatures");
        byte[] payload = StrictJson.ReqBytes(obj, "payload", path, fail);
        string payloadType = StrictJson.ReqString(obj, "payloadType", path, fail);
        var array = StrictJson.ReqArray(obj, "signatures", path, fail);
        if (array.Count == 0)
        {
            throw fail($"{path}.signatures is empty: the DSSE envelope is not signed.");
        }

        var signatures = new List<DsseSignature>();
        for (int i = 0; i < array.Count; i++)
        {
            string p = $"{path}.signatures[{i}]";
            var sig = StrictJson.AsObject(array[i], p, fail);
            StrictJson.AllowedFields(sig, p, fail, "sig", "keyid");
            byte[] bytes = StrictJson.ReqBytes(sig, "sig", p, fail);
            if (bytes.Length == 0)
            {
                throw fail($"{p}.sig is empty.");
            }

            signatures.Add(new DsseSignature(bytes, StrictJson.OptString(sig, "keyid", p, fail)));
        }

        return new DsseEnvelope(payloadType, payload, signatures);
    }

    /// <summary>The envelope as a JSON object: payload and sig in standard base64 with padding; keyid only when set.</summary>
    public JsonMap ToJson()
    {
        var signatures = new JsonList();
        foreach (var s in Signatures)
        {
            var sig = new JsonMap();
            if (s.KeyId is not null)
            {
                sig.Add("keyid", s.KeyId);
            }

            sig.Add("sig", Base64Codec.Encode(s.Signature));
            signatures.Add(sig);
        }

        return new JsonMap
        {
            { "payload", Base64Codec.Encode(Payload) },
            { "payloadType", PayloadType },
            { "signatures", signatures },
        };
    }

    /// <summary>The envelope as indented UTF-8 JSON with a trailing newline (no BOM).</summary>
    public byte[] ToUtf8Json() => JsonText.WriteUtf8(ToJson(), indented: true);

    private static Exception Fail(string message) => new AttestationFormatException(message);
}

/// <summary>The outcome of <see cref="DsseEnvelope.Verify(PublicKey, string?, bool)"/>.</summary>
public sealed class DsseVerificationResult
{
    private DsseVerificationResult(bool verified, string? failure, IReadOnlyList<PublicKey> keys)
    {
        Verified = verified;
        Failure = failure;
        VerifiedKeys = keys;
    }

    public bool Verified { get; }

    /// <summary>Why verification failed (null on success).</summary>
    public string? Failure { get; }

    /// <summary>The trusted keys whose signatures verified.</summary>
    public IReadOnlyList<PublicKey> VerifiedKeys { get; }

    internal static DsseVerificationResult Success(IReadOnlyList<PublicKey> keys) => new(true, null, keys);

    internal static DsseVerificationResult Fail(string reason) => new(false, reason, Array.Empty<PublicKey>());

    public override string ToString() => Verified ? $"verified by {VerifiedKeys.Count} key(s)" : "not verified: " + Failure;
}

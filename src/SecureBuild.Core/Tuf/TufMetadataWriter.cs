using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Tuf;

/// <summary>Writes signed TUF metadata: signatures (hex) over the canonical JSON of "signed", keyids as TUF computes them.</summary>
public static class TufMetadataWriter
{
    /// <summary>
    /// The envelope {"signatures": [...], "signed": ...}: <paramref name="existing"/> signatures kept, except those of
    /// a key that signs again, then one signature per key of <paramref name="signers"/>.
    /// </summary>
    public static JsonMap Envelope(JsonMap signed, IEnumerable<JsonMap> existing, IEnumerable<SigningKey> signers)
    {
        byte[] canonical = TufMetadata.Canonical(signed);
        var signatures = existing.ToList();
        foreach (var key in signers)
        {
            string id = TufKey.KeyIdOf(key.Public);
            signatures.RemoveAll(s => s.TryGetValue("keyid", out var k) && k is JsonString ks && ks.Value == id);
            signatures.Add(new JsonMap { { "keyid", id }, { "sig", Hex.Encode(key.Sign(canonical)) } });
        }

        return new JsonMap { { "signatures", new JsonList(signatures.Select(s => (JsonItem)s)) }, { "signed", signed } };
    }

    /// <summary>The file's bytes: indented JSON, UTF-8, trailing newline.</summary>
    public static byte[] Write(JsonMap envelope) => JsonText.WriteUtf8(envelope);

    /// <summary><see cref="Envelope"/> without earlier signatures, as file bytes.</summary>
    public static byte[] Sign(JsonMap signed, params SigningKey[] signers) => Write(Envelope(signed, Array.Empty<JsonMap>(), signers));
}

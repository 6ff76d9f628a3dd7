using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>
/// A signature entry: {"keyid": ..., "sig": lowercase hex}, and for a signature made with a certificate's key
/// (in-toto-golang's optional "cert") the certificate as PEM: the leaf, then the intermediates it was issued through.
/// </summary>
public sealed class Signature
{
    public Signature(string keyId, string sig, string? cert = null)
    {
        KeyId = keyId ?? throw new ArgumentNullException(nameof(keyId));
        Sig = sig ?? throw new ArgumentNullException(nameof(sig));
        Cert = cert;
    }

    public string KeyId { get; }

    /// <summary>The signature bytes as lowercase hex.</summary>
    public string Sig { get; }

    /// <summary>PEM certificates, leaf first (its key made the signature), or null for a key signature.</summary>
    public string? Cert { get; }

    public JsonMap ToJson()
    {
        var json = new JsonMap { { "keyid", KeyId }, { "sig", Sig } };
        if (Cert is not null)
        {
            json.Add("cert", Cert);
        }

        return json;
    }
}

/// <summary>
/// The classic in-toto envelope {"signatures": [...], "signed": {...}}. Signatures cover the canonical JSON of
/// <see cref="Signed"/>, not the file bytes.
/// </summary>
public sealed class Metablock
{
    private JsonMap _signed;

    public Metablock(JsonMap signed)
    {
        _signed = signed ?? throw new ArgumentNullException(nameof(signed));
    }

    public JsonMap Signed
    {
        get => _signed;
        set => _signed = value ?? throw new ArgumentNullException(nameof(value));
    }

    public List<Signature> Signatures { get; } = new();

    /// <summary>The bytes that are signed: canonical JSON of <see cref="Signed"/>.</summary>
    public byte[] SignedBytes() => CanonicalJson.Serialize(_signed);

    /// <summary>
    /// Signs the canonical bytes of <see cref="Signed"/>; replaces an existing signature by the same keyid, else appends.
    /// <paramref name="certificatePem"/>: the certificate(s) of <paramref name="key"/> (leaf first) to carry in "cert".
    /// </summary>
    public void Sign(SigningKey key, string? certificatePem = null)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        var signature = new Signature(key.KeyId, Hex.Encode(key.Sign(SignedBytes())), certificatePem);
        int index = Signatures.FindIndex(s => s.KeyId == key.KeyId);
        if (index >= 0)
        {
            Signatures[index] = signature;
        }
        else
        {
            Signatures.Add(signature);
        }
    }

    /// <summary>Checks the first signature with <paramref name="key"/>'s keyid (as in-toto does). False if none, or invalid.</summary>
    public bool VerifySignature(PublicKey key)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        var signature = Signatures.FirstOrDefault(s => s.KeyId == key.KeyId);
        if (signature is null || !Hex.TryDecode(signature.Sig, out byte[] sig))
        {
            return false;
        }

        byte[] data;
        try
        {
            data = SignedBytes();
        }
        catch (JsonFormatException)
        {
            // Floats or lone surrogates: no canonical form, so nothing can have signed it.
            return false;
        }

        return key.Verify(data, sig);
    }

    public JsonMap ToJson() => new()
    {
        { "signatures", new JsonList(Signatures.Select(s => (JsonItem)s.ToJson())) },
        { "signed", _signed },
    };

    /// <summary>The file: indented, sorted, ASCII-only JSON, UTF-8 without BOM, trailing newline.</summary>
    public byte[] ToFileBytes() => JsonText.WriteUtf8(ToJson());

    /// <summary>Strict parse of a link or layout file.</summary>
    /// <exception cref="InTotoFormatException">Not JSON (inner <see cref="JsonFormatException"/>) or not a Metablock.</exception>
    public static Metablock Parse(byte[] fileBytes)
    {
        if (fileBytes is null)
        {
            throw new ArgumentNullException(nameof(fileBytes));
        }

        JsonItem root;
        try
        {
            root = JsonParser.Parse(fileBytes);
        }
        catch (JsonFormatException e)
        {
            throw new InTotoFormatException($"Metadata is not valid JSON: {e.Message}", e);
        }

        if (root is not JsonMap obj)
        {
            throw new InTotoFormatException($"metadata: expected an object with \"signatures\" and \"signed\", found {StrictInTotoFields.Describe(root)}.");
        }

        StrictInTotoFields.ExactFields(obj, "metadata", "signatures", "signed");
        var block = new Metablock(StrictInTotoFields.Object(obj, "signed", "metadata"));
        var signatures = StrictInTotoFields.Array(obj, "signatures", "metadata");
        for (int i = 0; i < signatures.Count; i++)
        {
            string path = $"metadata.signatures[{i}]";
            if (signatures[i] is not JsonMap sig)
            {
                throw new InTotoFormatException($"{path}: expected a signature object, found {StrictInTotoFields.Describe(signatures[i])}.");
            }

            StrictJson.AllowedFields(sig, path, m => new InTotoFormatException(m), "keyid", "sig", "cert");
            string keyId = StrictInTotoFields.String(sig, "keyid", path);
            string hex = StrictInTotoFields.String(sig, "sig", path);
            if (!Hex.IsHex(hex) || hex.Length % 2 != 0)
            {
                throw new InTotoFormatException($"{path}.sig: expected a hex string.");
            }

            block.Signatures.Add(new Signature(keyId, hex, sig.ContainsKey("cert") ? StrictInTotoFields.String(sig, "cert", path) : null));
        }

        return block;
    }

    /// <summary>Reads (as <paramref name="kind"/>, through <see cref="InputFile"/>) and parses a file. I/O errors propagate as-is.</summary>
    public static Metablock Load(string path, InputKind kind = InputKind.Link)
    {
        if (Directory.Exists(path))
        {
            // File.ReadAllBytes would say "access denied", which sends the user looking at permissions.
            throw new InTotoFormatException($"{path} is a directory, not an in-toto layout or link file.");
        }

        byte[] bytes = InputFile.ReadAllBytes(path, kind);
        try
        {
            return Parse(bytes);
        }
        catch (InTotoFormatException e)
        {
            throw new InTotoFormatException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Writes <see cref="ToFileBytes"/> atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllBytes(path, ToFileBytes());
}

using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>Stops verification with a failure (internal control flow; never escapes <see cref="LayoutVerifier"/>).</summary>
internal sealed class VerificationAbort : Exception
{
    public VerificationAbort(VerificationFailure failure)
        : base(failure.Message)
    {
        Failure = failure;
    }

    public VerificationFailure Failure { get; }

    public static VerificationAbort Format(string message, string? file = null) =>
        new(new VerificationFailure(FailureKind.FormatError, message) { File = file });
}

/// <summary>An immutable hash dict such as {"sha256": "ab12..."}; equality is Python dict equality.</summary>
internal sealed class HashDict : IEquatable<HashDict>
{
    private readonly string[] _pairs; // algorithm, value, algorithm, value ... sorted by algorithm (ordinal)

    private HashDict(string[] pairs)
    {
        _pairs = pairs;
    }

    public static HashDict FromPairs(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var list = pairs.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        var a = new string[list.Count * 2];
        for (int i = 0; i < list.Count; i++)
        {
            a[2 * i] = list[i].Key;
            a[(2 * i) + 1] = list[i].Value;
        }

        return new HashDict(a);
    }

    public static HashDict Sha256(string hex) => new(new[] { "sha256", hex });

    public bool Equals(HashDict? other)
    {
        if (other is null)
        {
            return false;
        }

        if (ReferenceEquals(this, other))
        {
            return true;
        }

        var a = _pairs;
        var b = other._pairs;
        if (a.Length != b.Length)
        {
            return false;
        }

        for (int i = 0; i < a.Length; i++)
        {
            if (!string.Equals(a[i], b[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is HashDict h && Equals(h);

    public override int GetHashCode()
    {
        int h = 17;
        foreach (var s in _pairs)
        {
            h = (h * 31) + StringComparer.Ordinal.GetHashCode(s);
        }

        return h;
    }

    public JsonObject ToJson()
    {
        var o = new JsonObject();
        for (int i = 0; i < _pairs.Length; i += 2)
        {
            o.Add(_pairs[i], _pairs[i + 1]);
        }

        return o;
    }

    /// <summary>"sha256:0123456789ab…" (shortened hex), for messages.</summary>
    public override string ToString()
    {
        if (_pairs.Length == 0)
        {
            return "{} (no hashes)";
        }

        var parts = new List<string>();
        for (int i = 0; i < _pairs.Length; i += 2)
        {
            string v = _pairs[i + 1];
            parts.Add($"{_pairs[i]}:{(v.Length > 16 ? v.Substring(0, 16) + "…" : v)}");
        }

        return string.Join(" ", parts);
    }
}

/// <summary>path -> hash dict, in file order.</summary>
internal sealed class ArtifactMap : Dictionary<string, HashDict>
{
    public ArtifactMap()
        : base(StringComparer.Ordinal)
    {
    }

    public ArtifactMap(int capacity)
        : base(capacity, StringComparer.Ordinal)
    {
    }

    /// <summary>Python dict equality.</summary>
    public bool SameAs(ArtifactMap other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (Count != other.Count)
        {
            return false;
        }

        foreach (var kv in this)
        {
            if (!other.TryGetValue(kv.Key, out var h) || !h.Equals(kv.Value))
            {
                return false;
            }
        }

        return true;
    }

    public JsonObject ToJson()
    {
        var o = new JsonObject();
        foreach (var kv in this)
        {
            o.Add(kv.Key, kv.Value.ToJson());
        }

        return o;
    }
}

/// <summary>One entry of a metablock's "signatures".</summary>
internal sealed class SignatureEntry
{
    public SignatureEntry(string keyId, string? sigHex)
    {
        KeyId = keyId;
        SigHex = sigHex;
    }

    public string KeyId { get; }

    /// <summary>Null for a GPG-style signature (no "sig" member), which SecureBuild cannot check.</summary>
    public string? SigHex { get; }
}

/// <summary>The "signed" part of a link, read the way in-toto 1.3.1's <c>Link(**data)</c> reads it.</summary>
internal sealed class LinkModel
{
    public JsonNode Name { get; set; } = JsonNull.Instance;

    public ArtifactMap Materials { get; set; } = new();

    public ArtifactMap Products { get; set; } = new();

    public JsonNode Command { get; set; } = new JsonArray();

    public JsonNode Byproducts { get; set; } = new JsonObject();

    public JsonNode Environment { get; set; } = new JsonObject();

    public string? NameText => Name is JsonString s ? s.Value : null;

    public ArtifactMap Side(string side) => side == "materials" ? Materials : Products;
}

/// <summary>A step of a layout.</summary>
internal sealed class StepModel
{
    public StepModel(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public List<string> PubKeys { get; set; } = new();

    public long Threshold { get; set; } = 1;

    public JsonNode ExpectedCommand { get; set; } = new JsonArray();

    public List<ArtifactRule> ExpectedMaterials { get; set; } = new();

    public List<ArtifactRule> ExpectedProducts { get; set; } = new();
}

/// <summary>An inspection of a layout.</summary>
internal sealed class InspectionModel
{
    public InspectionModel(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public JsonNode Run { get; set; } = new JsonArray();

    public List<ArtifactRule> ExpectedMaterials { get; set; } = new();

    public List<ArtifactRule> ExpectedProducts { get; set; } = new();
}

/// <summary>The "signed" part of a layout, read the way in-toto 1.3.1's <c>Layout.read</c> reads it.</summary>
internal sealed class LayoutModel
{
    public List<StepModel> Steps { get; } = new();

    public List<InspectionModel> Inspect { get; } = new();

    /// <summary>keyid -> raw key object (kept as written; it is signed as written).</summary>
    public JsonObject Keys { get; set; } = new();

    /// <summary>The expiry, or null when the field was missing or empty (in-toto then substitutes "now + 1 month").</summary>
    public DateTimeOffset? Expires { get; set; }

    public string? ExpiresText { get; set; }
}

/// <summary>A parsed link or layout file: signatures, the model and the JSON that is signed.</summary>
internal sealed class MetadataFile
{
    private byte[]? _signableBytes;
    private string? _canonicalError;

    public MetadataFile(string file, List<SignatureEntry> signatures, JsonObject signable, LinkModel? link, LayoutModel? layout)
    {
        File = file;
        Signatures = signatures;
        Signable = signable;
        Link = link;
        Layout = layout;
    }

    public string File { get; }

    public List<SignatureEntry> Signatures { get; }

    /// <summary>The object whose canonical JSON the signatures cover (rebuilt like attrs.asdict(model)).</summary>
    public JsonObject Signable { get; }

    public LinkModel? Link { get; }

    public LayoutModel? Layout { get; }

    public bool IsLayout => Layout is not null;

    public string TypeName => IsLayout ? "layout" : "link";

    /// <summary>Canonical bytes, computed once per file.</summary>
    /// <exception cref="VerificationAbort">FormatError when the signed part has no canonical form (floats, lone surrogates).</exception>
    public byte[] SignableBytes()
    {
        if (_signableBytes is not null)
        {
            return _signableBytes;
        }

        if (_canonicalError is null)
        {
            try
            {
                _signableBytes = CanonicalJson.Serialize(Signable);
                return _signableBytes;
            }
            catch (JsonFormatException e)
            {
                _canonicalError = e.Message;
            }
        }

        throw VerificationAbort.Format(
            $"{File}: the signed metadata has no canonical JSON form, so no signature can be checked: {_canonicalError} "
            + "(in-toto-verify fails with FormatError here too).", File);
    }
}

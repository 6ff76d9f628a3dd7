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
internal readonly struct HashDict : IEquatable<HashDict>
{
    // The common case, exactly {"sha256": value}: the value's UTF-8 bytes, possibly a slice of a link file.
    private readonly byte[]? _shaSource;
    private readonly int _shaStart;
    private readonly int _shaLength;
    private readonly string[]? _pairs; // otherwise: algorithm, value, ... sorted by algorithm (ordinal)

    private HashDict(byte[]? shaSource, int shaStart, int shaLength, string[]? pairs)
    {
        _shaSource = shaSource;
        _shaStart = shaStart;
        _shaLength = shaLength;
        _pairs = pairs;
    }

    public static HashDict FromPairs(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var list = pairs.OrderBy(p => p.Key, StringComparer.Ordinal).ToList();
        if (list.Count == 1 && list[0].Key == "sha256")
        {
            return Sha256(list[0].Value);
        }

        var a = new string[list.Count * 2];
        for (int i = 0; i < list.Count; i++)
        {
            a[2 * i] = list[i].Key;
            a[(2 * i) + 1] = list[i].Value;
        }

        return new HashDict(null, 0, 0, a);
    }

    public static HashDict Sha256(string hex)
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes(hex);
        return new HashDict(bytes, 0, bytes.Length, null);
    }

    /// <summary>{"sha256": value} where value is the (escape-free) UTF-8 slice src[start..start+length).</summary>
    public static HashDict Sha256(byte[] src, int start, int length) => new(src, start, length, null);

    [System.Runtime.CompilerServices.MethodImpl((System.Runtime.CompilerServices.MethodImplOptions)512)]
    public bool Equals(HashDict other)
    {
        if (_shaSource is not null || other._shaSource is not null)
        {
            if (_shaSource is null || other._shaSource is null || _shaLength != other._shaLength)
            {
                return false;
            }

            var a = _shaSource;
            var b = other._shaSource;
            int ai = _shaStart, bi = other._shaStart;
            for (int k = 0; k < _shaLength; k++)
            {
                if (a[ai + k] != b[bi + k])
                {
                    return false;
                }
            }

            return true;
        }

        var p = _pairs ?? Array.Empty<string>();
        var q = other._pairs ?? Array.Empty<string>();
        if (p.Length != q.Length)
        {
            return false;
        }

        for (int i = 0; i < p.Length; i++)
        {
            if (!string.Equals(p[i], q[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is HashDict h && Equals(h);

    public override int GetHashCode() => _shaSource is not null ? _shaLength : (_pairs?.Length ?? 0) + 1;

    private string[] Pairs => _pairs ?? (_shaSource is null ? Array.Empty<string>() : new[] { "sha256", System.Text.Encoding.UTF8.GetString(_shaSource, _shaStart, _shaLength) });

    public JsonObject ToJson()
    {
        var o = new JsonObject();
        var p = Pairs;
        for (int i = 0; i < p.Length; i += 2)
        {
            o.Add(p[i], p[i + 1]);
        }

        return o;
    }

    /// <summary>"sha256:0123456789ab…" (shortened hex), for messages.</summary>
    public override string ToString()
    {
        var p = Pairs;
        if (p.Length == 0)
        {
            return "{} (no hashes)";
        }

        var parts = new List<string>();
        for (int i = 0; i < p.Length; i += 2)
        {
            string v = p[i + 1];
            parts.Add($"{p[i]}:{(v.Length > 16 ? v.Substring(0, 16) + "…" : v)}");
        }

        return string.Join(" ", parts);
    }
}

/// <summary>path -> hash dict, in file order, with positions (rules keep their queue as flags over positions).</summary>
internal sealed class ArtifactMap : IEnumerable<KeyValuePair<string, HashDict>>
{
    private readonly Dictionary<string, int> _index;
    private string[] _paths;
    private HashDict[] _hashes;

    public ArtifactMap(int capacity = 0)
    {
        _index = new Dictionary<string, int>(capacity, StringComparer.Ordinal);
        _paths = new string[Math.Max(capacity, 4)];
        _hashes = new HashDict[_paths.Length];
    }

    public int Count { get; private set; }

    public IEnumerable<string> Keys
    {
        get
        {
            for (int i = 0; i < Count; i++)
            {
                yield return _paths[i];
            }
        }
    }

    /// <summary>False when the path is already there.</summary>
    [System.Runtime.CompilerServices.MethodImpl((System.Runtime.CompilerServices.MethodImplOptions)512)]
    public bool TryAdd(string path, HashDict hash)
    {
        int before = _index.Count;
        _index[path] = Count;
        if (_index.Count == before)
        {
            return false;
        }

        if (Count == _paths.Length)
        {
            Array.Resize(ref _paths, Count * 2);
            Array.Resize(ref _hashes, Count * 2);
        }

        _paths[Count] = path;
        _hashes[Count] = hash;
        Count++;
        return true;
    }

    public void Add(string path, HashDict hash)
    {
        if (!TryAdd(path, hash))
        {
            throw new ArgumentException($"The artifact '{path}' is already present.", nameof(path));
        }
    }

    public int IndexOf(string path) => _index.TryGetValue(path, out int i) ? i : -1;

    public string PathAt(int i) => _paths[i];

    public HashDict HashAt(int i) => _hashes[i];

    public bool ContainsKey(string path) => _index.ContainsKey(path);

    public bool TryGetValue(string path, out HashDict hash)
    {
        if (_index.TryGetValue(path, out int i))
        {
            hash = _hashes[i];
            return true;
        }

        hash = default;
        return false;
    }

    /// <summary>Python dict equality.</summary>
    [System.Runtime.CompilerServices.MethodImpl((System.Runtime.CompilerServices.MethodImplOptions)512)]
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

        for (int i = 0; i < Count; i++)
        {
            if (!other.TryGetValue(_paths[i], out var h) || !h.Equals(_hashes[i]))
            {
                return false;
            }
        }

        return true;
    }

    public JsonObject ToJson()
    {
        var o = new JsonObject();
        for (int i = 0; i < Count; i++)
        {
            o.Add(_paths[i], _hashes[i].ToJson());
        }

        return o;
    }

    public IEnumerator<KeyValuePair<string, HashDict>> GetEnumerator()
    {
        for (int i = 0; i < Count; i++)
        {
            yield return new KeyValuePair<string, HashDict>(_paths[i], _hashes[i]);
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
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
    public FNode Name { get; set; } = FLiteral.Null;

    public ArtifactMap Materials { get; set; } = new();

    public ArtifactMap Products { get; set; } = new();

    public FNode Command { get; set; } = new FArray(Array.Empty<FNode>());

    public FNode Byproducts { get; set; } = FObject.Build();

    public FNode Environment { get; set; } = FObject.Build();

    public string? NameText => Name is FString s ? s.Value : null;

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

    public FNode ExpectedCommand { get; set; } = new FArray(Array.Empty<FNode>());

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

    public FNode Run { get; set; } = new FArray(Array.Empty<FNode>());

    public List<ArtifactRule> ExpectedMaterials { get; set; } = new();

    public List<ArtifactRule> ExpectedProducts { get; set; } = new();
}

/// <summary>The "signed" part of a layout, read the way in-toto 1.3.1's <c>Layout.read</c> reads it.</summary>
internal sealed class LayoutModel
{
    public List<StepModel> Steps { get; } = new();

    public List<InspectionModel> Inspect { get; } = new();

    /// <summary>keyid -> raw key object (kept as written; it is signed as written).</summary>
    public FObject Keys { get; set; } = FObject.Build();

    /// <summary>The expiry, or null when the field was missing or empty (in-toto then substitutes "now + 1 month").</summary>
    public DateTimeOffset? Expires { get; set; }

    public string? ExpiresText { get; set; }
}

/// <summary>A parsed link or layout file: signatures, the model and the JSON that is signed.</summary>
internal sealed class MetadataFile
{
    private byte[]? _signableBytes;
    private string? _canonicalError;

    private readonly int _sizeHint;

    public MetadataFile(string file, List<SignatureEntry> signatures, FObject signable, LinkModel? link, LayoutModel? layout, int sizeHint)
    {
        _sizeHint = sizeHint;
        File = file;
        Signatures = signatures;
        Signable = signable;
        Link = link;
        Layout = layout;
    }

    public string File { get; }

    public List<SignatureEntry> Signatures { get; }

    /// <summary>The object whose canonical JSON the signatures cover (rebuilt like attrs.asdict(model)).</summary>
    public FObject Signable { get; }

    public LinkModel? Link { get; }

    public LayoutModel? Layout { get; }

    public bool IsLayout => Layout is not null;

    public string TypeName => IsLayout ? "layout" : "link";

    private int _signableLength;

    /// <summary>Canonical bytes (<c>[0..length)</c> of the returned buffer), computed once per file.</summary>
    /// <exception cref="VerificationAbort">FormatError when the signed part has no canonical form (floats, lone surrogates).</exception>
    public byte[] SignableBytes(out int length)
    {
        if (_signableBytes is not null)
        {
            length = _signableLength;
            return _signableBytes;
        }

        if (_canonicalError is null)
        {
            try
            {
                _signableBytes = FastCanonical.Serialize(Signable, _sizeHint, out _signableLength);
                length = _signableLength;
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

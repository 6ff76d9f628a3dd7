using System.Runtime.CompilerServices;
using SecureBuild.Core.Internal;
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

    [System.Runtime.CompilerServices.MethodImpl(Jit.AggressiveOptimization)]
    public bool Equals(HashDict other)
    {
        if (_shaSource is not null || other._shaSource is not null)
        {
            if (_shaSource is null || other._shaSource is null || _shaLength != other._shaLength)
            {
                return false;
            }

            return SameBytes(_shaSource, _shaStart, other._shaSource, other._shaStart, _shaLength);
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

    /// <summary>a[ai..ai+length) == b[bi..bi+length), eight bytes at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool SameBytes(byte[] a, int ai, byte[] b, int bi, int length)
    {
        if ((uint)ai > (uint)a.Length || (uint)length > (uint)(a.Length - ai) || (uint)bi > (uint)b.Length || (uint)length > (uint)(b.Length - bi))
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }

        int k = 0;
        for (; k + 8 <= length; k += 8)
        {
            if (BitConverter.ToUInt64(a, ai + k) != BitConverter.ToUInt64(b, bi + k))
            {
                return false;
            }
        }

        for (; k < length; k++)
        {
            if (a[ai + k] != b[bi + k])
            {
                return false;
            }
        }

        return true;
    }

    public override bool Equals(object? obj) => obj is HashDict h && Equals(h);

    public override int GetHashCode() => _shaSource is not null ? _shaLength : (_pairs?.Length ?? 0) + 1;

    private string[] Pairs => _pairs ?? (_shaSource is null ? Array.Empty<string>() : new[] { "sha256", System.Text.Encoding.UTF8.GetString(_shaSource, _shaStart, _shaLength) });

    public JsonMap ToJson()
    {
        var o = new JsonMap();
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

/// <summary>
/// path -> hash dict, in file order, with positions (rules keep their queue as flags over positions). An
/// open-addressing table over the positions keeps each path's hash code (the process-randomized string hash, so
/// crafted names cannot force collisions), so a path taken from one map is looked up in another without hashing it
/// again. Every array stays below the large-object threshold for maps of up to ~10,000 artifacts except the paths,
/// and the hash dicts are kept in chunks, so loading big links does not churn the large-object heap.
/// </summary>
internal sealed class ArtifactMap : IEnumerable<KeyValuePair<string, HashDict>>
{
    private const int ChunkBits = 11; // 2,048 hash dicts (48 KiB) per chunk
    private const int ChunkSize = 1 << ChunkBits;

    private string[] _paths;
    private int[] _pathHashes;
    private HashDict[][] _hashChunks;
    private int[] _slots; // position + 1 per slot, 0 = empty; length a power of two, at most 3/4 full

    public ArtifactMap(int capacity = 0)
    {
        capacity = Math.Max(capacity, 4);
        _paths = new string[capacity];
        _pathHashes = new int[capacity];
        _hashChunks = new HashDict[((capacity - 1) >> ChunkBits) + 1][];
        _slots = new int[SlotCount(capacity)];
    }

    public int Count { get; private set; }

    // Names that are not normalized relative paths: how many, and the first (-1: not counted yet).
    private int _unusualCount = -1;
    private int _firstUnusual = -1;

    /// <summary>Sets what <see cref="UnusualNames"/> returns, when the reader found it while parsing.</summary>
    internal void SetUnusualNames(int count, int first)
    {
        _unusualCount = count;
        _firstUnusual = first;
    }

    /// <summary>How many paths are not normalized relative paths (<see cref="ArtifactPath.IsUnusual(string)"/>), and the first.</summary>
    public int UnusualNames(out string? first)
    {
        if (_unusualCount < 0)
        {
            int count = 0, at = -1;
            for (int i = 0; i < Count; i++)
            {
                if (ArtifactPath.IsUnusual(_paths[i]))
                {
                    count++;
                    at = at < 0 ? i : at;
                }
            }

            SetUnusualNames(count, at);
        }

        first = _firstUnusual >= 0 ? _paths[_firstUnusual] : null;
        return _unusualCount;
    }

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

    /// <summary>The hash code that lookups of <paramref name="path"/> use (see <see cref="IndexOf(string, int)"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int HashOf(string path) => StringComparer.Ordinal.GetHashCode(path);

    private static int SlotCount(int capacity)
    {
        int n = 8;
        while (n - (n >> 2) < capacity)
        {
            n <<= 1;
        }

        return n;
    }

    /// <summary>False when the path is already there (the map is then unchanged).</summary>
    public bool TryAdd(string path, HashDict hash) => TryAdd(path, HashOf(path ?? throw new ArgumentNullException(nameof(path))), hash);

    /// <summary><see cref="TryAdd(string, HashDict)"/> for a path whose <see cref="HashOf"/> is <paramref name="h"/>.</summary>
    [MethodImpl(Jit.AggressiveOptimization)]
    public bool TryAdd(string path, int h, HashDict hash)
    {
        int mask = _slots.Length - 1;
        int slot = h & mask;
        while (true)
        {
            int e = _slots[slot];
            if (e == 0)
            {
                break;
            }

            if (_pathHashes[e - 1] == h && string.Equals(_paths[e - 1], path))
            {
                return false;
            }

            slot = (slot + 1) & mask;
        }

        if (Count == _paths.Length)
        {
            Grow();
            return TryAdd(path, h, hash);
        }

        int i = Count;
        _paths[i] = path;
        _pathHashes[i] = h;
        var chunk = _hashChunks[i >> ChunkBits] ??= new HashDict[ChunkSize];
        chunk[i & (ChunkSize - 1)] = hash;
        _slots[slot] = i + 1;
        Count = i + 1;
        return true;
    }

    private void Grow()
    {
        int capacity = _paths.Length * 2;
        Array.Resize(ref _paths, capacity);
        Array.Resize(ref _pathHashes, capacity);
        Array.Resize(ref _hashChunks, ((capacity - 1) >> ChunkBits) + 1);
        _slots = new int[SlotCount(capacity)];
        int mask = _slots.Length - 1;
        for (int i = 0; i < Count; i++)
        {
            int slot = _pathHashes[i] & mask;
            while (_slots[slot] != 0)
            {
                slot = (slot + 1) & mask;
            }

            _slots[slot] = i + 1;
        }
    }

    public void Add(string path, HashDict hash)
    {
        if (!TryAdd(path, hash))
        {
            throw new ArgumentException($"The artifact '{path}' is already present.", nameof(path));
        }
    }

    public int IndexOf(string path) => IndexOf(path, HashOf(path));

    /// <summary>The position of <paramref name="path"/>, whose <see cref="HashOf"/> is <paramref name="hash"/>; -1 if absent.</summary>
    [MethodImpl(Jit.AggressiveOptimization)]
    public int IndexOf(string path, int hash)
    {
        var slots = _slots;
        int mask = slots.Length - 1;
        int slot = hash & mask;
        while (true)
        {
            int e = slots[slot];
            if (e == 0)
            {
                return -1;
            }

            if (_pathHashes[e - 1] == hash && string.Equals(_paths[e - 1], path))
            {
                return e - 1;
            }

            slot = (slot + 1) & mask;
        }
    }

    /// <summary>
    /// <see cref="IndexOf(string, int)"/> that first tries position <paramref name="guess"/> and then sets it to the
    /// position after the one found: walking one map in the order of another with the same paths in the same order
    /// (links that record the same tree) reads both sequentially instead of probing the table.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int IndexOf(string path, int hash, ref int guess)
    {
        int g = guess;
        int at = (uint)g < (uint)Count && _pathHashes[g] == hash && string.Equals(_paths[g], path) ? g : IndexOf(path, hash);
        if (at >= 0)
        {
            guess = at + 1;
        }

        return at;
    }

    public string PathAt(int i) => _paths[i];

    /// <summary>The hash code of the path at position <paramref name="i"/> (for <see cref="IndexOf(string, int)"/> on other maps).</summary>
    public int PathHashAt(int i) => _pathHashes[i];

    public HashDict HashAt(int i) => _hashChunks[i >> ChunkBits][i & (ChunkSize - 1)];

    public bool ContainsKey(string path) => IndexOf(path) >= 0;

    public bool TryGetValue(string path, out HashDict hash)
    {
        int i = IndexOf(path);
        if (i >= 0)
        {
            hash = HashAt(i);
            return true;
        }

        hash = default;
        return false;
    }

    /// <summary>Python dict equality.</summary>
    [MethodImpl(Jit.AggressiveOptimization)]
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

        int guess = 0;
        for (int i = 0; i < Count; i++)
        {
            int at = other.IndexOf(_paths[i], _pathHashes[i], ref guess);
            if (at < 0 || !other.HashAt(at).Equals(HashAt(i)))
            {
                return false;
            }
        }

        return true;
    }

    public JsonMap ToJson()
    {
        var o = new JsonMap();
        for (int i = 0; i < Count; i++)
        {
            o.Add(_paths[i], HashAt(i).ToJson());
        }

        return o;
    }

    public IEnumerator<KeyValuePair<string, HashDict>> GetEnumerator()
    {
        for (int i = 0; i < Count; i++)
        {
            yield return new KeyValuePair<string, HashDict>(_paths[i], HashAt(i));
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>One entry of a metablock's "signatures".</summary>
/// <param name="KeyId">The entry's "keyid".</param>
/// <param name="SigHex">The "sig" hex; null for a GPG-style signature (no "sig" member), which SecureBuild cannot check.</param>
internal sealed record SignatureEntry(string KeyId, string? SigHex);

/// <summary>The "signed" part of a link, read the way in-toto 1.3.1's <c>Link(**data)</c> reads it.</summary>
internal sealed class LinkModel
{
    public JsonItem Name { get; set; } = JsonNull.Instance;

    public ArtifactMap Materials { get; set; } = new();

    public ArtifactMap Products { get; set; } = new();

    public JsonItem Command { get; set; } = new JsonList(Array.Empty<JsonItem>());

    public JsonItem Byproducts { get; set; } = JsonMap.Build();

    public JsonItem Environment { get; set; } = JsonMap.Build();

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

    public JsonItem ExpectedCommand { get; set; } = new JsonList(Array.Empty<JsonItem>());

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

    public JsonItem Run { get; set; } = new JsonList(Array.Empty<JsonItem>());

    public List<ArtifactRule> ExpectedMaterials { get; set; } = new();

    public List<ArtifactRule> ExpectedProducts { get; set; } = new();
}

/// <summary>The "signed" part of a layout, read the way in-toto 1.3.1's <c>Layout.read</c> reads it.</summary>
internal sealed class LayoutModel
{
    public List<StepModel> Steps { get; } = new();

    public List<InspectionModel> Inspect { get; } = new();

    /// <summary>keyid -> raw key object (kept as written; it is signed as written).</summary>
    public JsonMap Keys { get; set; } = JsonMap.Build();

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

    public MetadataFile(string file, List<SignatureEntry> signatures, JsonMap signable, LinkModel? link, LayoutModel? layout, int sizeHint)
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
    public JsonMap Signable { get; }

    public LinkModel? Link { get; }

    public LayoutModel? Layout { get; }

    public bool IsLayout => Layout is not null;

    public string TypeName => IsLayout ? "layout" : "link";

    private int _signableLength;

    /// <summary>
    /// Hands the canonical bytes back to <see cref="BufferPool"/> once no signature on this file will be checked again
    /// (they would be computed anew if one were).
    /// </summary>
    public void ReleaseSignableBytes()
    {
        var bytes = _signableBytes;
        _signableBytes = null;
        if (bytes is not null)
        {
            BufferPool.Return(bytes);
        }
    }

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
                _signableBytes = CanonicalJson.SerializePooled(Signable, _sizeHint, out _signableLength);
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

/// <summary>
/// A few large byte buffers kept for reuse (canonical JSON of big links), so that verifying again in the same process
/// does not allocate them on the large-object heap each time (every such allocation brings a full GC closer).
/// </summary>
internal static class BufferPool
{
    private const long MaxPooledBytes = 48L << 20;
    private static readonly byte[]?[] Slots = new byte[]?[12];

    /// <summary>
    /// A buffer of exactly <paramref name="length"/> bytes (its content is undefined), for readers that take the
    /// array's length as the end of the data: a file read again in the same process gets its buffer back.
    /// </summary>
    public static byte[] RentExact(int length)
    {
        lock (Slots)
        {
            for (int i = 0; i < Slots.Length; i++)
            {
                if (Slots[i] is { } b && b.Length == length)
                {
                    Slots[i] = null;
                    return b;
                }
            }
        }

        return new byte[length];
    }

    /// <summary>A buffer of at least <paramref name="minLength"/> bytes (its content is undefined).</summary>
    public static byte[] Rent(int minLength)
    {
        lock (Slots)
        {
            int best = -1;
            for (int i = 0; i < Slots.Length; i++)
            {
                if (Slots[i] is { } b && b.Length >= minLength && (best < 0 || b.Length < Slots[best]!.Length))
                {
                    best = i;
                }
            }

            if (best >= 0)
            {
                var b = Slots[best]!;
                Slots[best] = null;
                return b;
            }
        }

        return new byte[minLength];
    }

    /// <summary>Gives a buffer back; the caller must not use it any more.</summary>
    public static void Return(byte[] buffer)
    {
        if (buffer.Length < 64 * 1024)
        {
            return;
        }

        lock (Slots)
        {
            long total = buffer.Length;
            int free = -1, smallest = -1;
            for (int i = 0; i < Slots.Length; i++)
            {
                var b = Slots[i];
                if (b is null)
                {
                    free = free < 0 ? i : free;
                    continue;
                }

                if (ReferenceEquals(b, buffer))
                {
                    return;
                }

                total += b.Length;
                if (smallest < 0 || b.Length < Slots[smallest]!.Length)
                {
                    smallest = i;
                }
            }

            if (free >= 0 && total <= MaxPooledBytes)
            {
                Slots[free] = buffer;
            }
            else if (smallest >= 0 && Slots[smallest]!.Length < buffer.Length && total - Slots[smallest]!.Length <= MaxPooledBytes)
            {
                Slots[smallest] = buffer;
            }
        }
    }
}

/// <summary>Artifact names that are not normalized relative paths (warned about; rules compare names as plain strings).</summary>
internal static class ArtifactPath
{
    /// <summary>Empty, absolute, a backslash, an empty, "." or ".." segment, or a trailing '/'. One pass.</summary>
    public static bool IsUnusual(string p)
    {
        int n = p.Length;
        if (n == 0 || p[0] == '/' || p[n - 1] == '/')
        {
            return true;
        }

        int segmentStart = 0;
        for (int i = 0; i <= n; i++)
        {
            char c = i < n ? p[i] : '/';
            if (c == '\\')
            {
                return true;
            }

            if (c == '/')
            {
                int length = i - segmentStart;
                if (length == 0 || (length <= 2 && p[segmentStart] == '.' && (length == 1 || p[segmentStart + 1] == '.')))
                {
                    return true;
                }

                segmentStart = i + 1;
            }
        }

        return false;
    }

    /// <summary>
    /// The same test on a name's UTF-8 bytes: '/', '\\' and '.' are single bytes that never occur inside a multi-byte
    /// character, and a segment is "." or ".." in bytes exactly when it is in characters.
    /// </summary>
    [MethodImpl(Jit.AggressiveOptimization)]
    public static bool IsUnusual(byte[] b, int start, int length)
    {
        // A name is certainly usual when it does not start with '/' or '.', does not end with '/', and holds no '\\',
        // "//" or "/." (every unusual name has one of these); that is checked eight bytes at a time.
        int end = start + length;
        if (length == 0 || b[start] == '/' || b[start] == '.' || b[end - 1] == '/')
        {
            return IsUnusualBytes(b, start, length);
        }

        const ulong ones = 0x0101010101010101UL;
        ulong carry = 0; // 0x80 in the lowest byte when the previous word ended with '/'
        int i = start;
        for (; i + 8 <= end; i += 8)
        {
            ulong v = BitConverter.ToUInt64(b, i);
            ulong slash = ZeroBytes(v ^ (ones * '/'));
            ulong suspicious = ZeroBytes(v ^ (ones * '\\')) | (((slash << 8) | carry) & (slash | ZeroBytes(v ^ (ones * '.'))));
            if (suspicious != 0)
            {
                return IsUnusualBytes(b, start, length);
            }

            carry = slash >> 56;
        }

        for (; i < end; i++)
        {
            byte c = b[i];
            if (c == '\\' || ((c == '/' || c == '.') && i > start && b[i - 1] == '/'))
            {
                return IsUnusualBytes(b, start, length);
            }
        }

        return false;
    }

    // 0x80 in every byte of v that is zero, 0 elsewhere (exact: no borrow between bytes).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ZeroBytes(ulong v)
    {
        const ulong lows = 0x7F7F7F7F7F7F7F7FUL;
        return ~(((v & lows) + lows) | v | lows);
    }

    [MethodImpl(Jit.AggressiveOptimization)]
    private static bool IsUnusualBytes(byte[] b, int start, int length)
    {
        int end = start + length;
        if (length == 0 || b[start] == '/' || b[end - 1] == '/')
        {
            return true;
        }

        int segmentStart = start;
        for (int i = start; i <= end; i++)
        {
            byte c = i < end ? b[i] : (byte)'/';
            if (c > '/' && c != '\\')
            {
                continue; // neither a separator, a dot nor a backslash
            }

            if (c == '\\')
            {
                return true;
            }

            if (c == '/')
            {
                int segment = i - segmentStart;
                if (segment == 0 || (segment <= 2 && b[segmentStart] == '.' && (segment == 1 || b[segmentStart + 1] == '.')))
                {
                    return true;
                }

                segmentStart = i + 1;
            }
        }

        return false;
    }
}

using System.Runtime.CompilerServices;
using System.Text;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Internal;

namespace SecureBuild.Core.Json;

/// <summary>
/// The verifier's specialisation of a <see cref="JsonMap"/> (see <see cref="JsonParser.ParseSigned(byte[])"/>): an
/// object whose every member value is an object with exactly one string member and no escapes in that inner
/// member ({"sha256": "&lt;hex&gt;"}): the shape of link materials and products. Entries are byte ranges into the
/// file plus the decoded paths; the artifact map is built while parsing (it also detects duplicate paths).
/// </summary>
internal sealed class ArtifactMapSlices
{
    // Entries in fixed-size chunks (no large arrays that grow by copying), each entry 7 ints:
    // key start, key length (negative: escaped), algorithm start, algorithm length, value start, value length.
    private const int ChunkBits = 10;
    private const int ChunkSize = 1 << ChunkBits;
    private const int Ints = 7;
    private readonly List<int[]> _chunks = new();
    private readonly List<string[]> _pathChunks = new();
    private ArtifactMap? _map;

    public ArtifactMapSlices(byte[] src)
    {
        Src = src;
    }

    public byte[] Src { get; }

    public int Count { get; private set; }

    /// <summary>path -> hash dict, unvalidated (the verifier's reader checks the hex when it reads materials/products).</summary>
    public ArtifactMap Map => _map ?? throw new InvalidOperationException("The compact map is not finished.");

    public string Path(int i) => _pathChunks[i >> ChunkBits][i & (ChunkSize - 1)];

    public bool KeyEscaped(int i) => Field(i, 1) < 0;

    public void KeySlice(int i, out int start, out int length)
    {
        start = Field(i, 0);
        length = Math.Abs(Field(i, 1));
    }

    public void AlgorithmSlice(int i, out int start, out int length)
    {
        start = Field(i, 2);
        length = Field(i, 3);
    }

    public void ValueSlice(int i, out int start, out int length)
    {
        start = Field(i, 4);
        length = Field(i, 5);
    }

    /// <summary>Key, algorithm and value slices of entry <paramref name="i"/> (key length as in <see cref="KeySlice"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Entry(int i, out int keyStart, out int keyLength, out int algStart, out int algLength, out int valueStart, out int valueLength)
    {
        var chunk = _chunks[i >> ChunkBits];
        int o = (i & (ChunkSize - 1)) * Ints;
        keyStart = chunk[o];
        keyLength = Math.Abs(chunk[o + 1]);
        algStart = chunk[o + 2];
        algLength = chunk[o + 3];
        valueStart = chunk[o + 4];
        valueLength = chunk[o + 5];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Field(int i, int f) => _chunks[i >> ChunkBits][((i & (ChunkSize - 1)) * Ints) + f];

    /// <summary>The first entry whose value is not a non-empty run of hex digits, or -1.</summary>
    public int FirstNonHex { get; private set; } = -1;

    /// <summary>True when every key is free of escapes and the keys are in ascending byte order (canonical order).</summary>
    public bool SortedRaw { get; private set; } = true;

    [MethodImpl(Jit.AggressiveOptimization)]
    public void Add(string path, bool keyEscaped, int keyStart, int keyLength, int algStart, int algLength, int valueStart, int valueLength, bool valueHex)
    {
        if (!valueHex && FirstNonHex < 0)
        {
            FirstNonHex = Count;
        }

        if (keyEscaped ? ArtifactPath.IsUnusual(path) : ArtifactPath.IsUnusual(Src, keyStart, keyLength))
        {
            _firstUnusual = _unusualCount++ == 0 ? Count : _firstUnusual;
        }

        if (SortedRaw)
        {
            if (keyEscaped)
            {
                SortedRaw = false;
            }
            else if (Count > 0)
            {
                SortedRaw = RawKeyAfterPrevious(keyStart, keyLength);
            }

            _lastKeyStart = keyStart;
            _lastKeyLength = keyLength;
        }

        int slot = Count & (ChunkSize - 1);
        if (slot == 0)
        {
            _chunks.Add(new int[ChunkSize * Ints]);
            _pathChunks.Add(new string[ChunkSize]);
        }

        var chunk = _chunks[_chunks.Count - 1];
        int o = slot * Ints;
        chunk[o] = keyStart;
        chunk[o + 1] = keyEscaped ? -keyLength : keyLength;
        chunk[o + 2] = algStart;
        chunk[o + 3] = algLength;
        chunk[o + 4] = valueStart;
        chunk[o + 5] = valueLength;
        chunk[o + 6] = ArtifactMap.HashOf(path); // while the path is fresh in the cache
        _pathChunks[_pathChunks.Count - 1][slot] = path;
        Count++;
    }

    private int _unusualCount;
    private int _firstUnusual = -1;
    private int _lastKeyStart;
    private int _lastKeyLength;

    // True when the raw key at [start, start+length) sorts strictly after the previous raw key (by bytes).
    private bool RawKeyAfterPrevious(int start, int length)
    {
        var src = Src;
        int p = _lastKeyStart;
        int m = Math.Min(length, _lastKeyLength);
        int k = 0;
        while (k + 8 <= m && BitConverter.ToUInt64(src, start + k) == BitConverter.ToUInt64(src, p + k))
        {
            k += 8; // skip the common prefix a word at a time
        }

        for (; k < m; k++)
        {
            int d = src[start + k] - src[p + k];
            if (d != 0)
            {
                return d > 0;
            }
        }

        return length > _lastKeyLength;
    }

    /// <summary>Builds the artifact map (sized once). Returns the index of the first duplicate path, or -1.</summary>
    [MethodImpl(Jit.AggressiveOptimization)]
    public int Finish()
    {
        var map = new ArtifactMap(Count);
        var src = Src;
        for (int i = 0; i < Count; i++)
        {
            var chunk = _chunks[i >> ChunkBits];
            int o = (i & (ChunkSize - 1)) * Ints;
            int algStart = chunk[o + 2], algLength = chunk[o + 3], valueStart = chunk[o + 4], valueLength = chunk[o + 5];
            HashDict hash = algLength == 6 && src[algStart] == 's' && src[algStart + 1] == 'h' && src[algStart + 2] == 'a'
                && src[algStart + 3] == '2' && src[algStart + 4] == '5' && src[algStart + 5] == '6'
                ? HashDict.Sha256(src, valueStart, valueLength)
                : HashDict.FromPairs(new[]
                {
                    new KeyValuePair<string, string>(Encoding.UTF8.GetString(src, algStart, algLength), Encoding.UTF8.GetString(src, valueStart, valueLength)),
                });
            if (!map.TryAdd(_pathChunks[i >> ChunkBits][i & (ChunkSize - 1)], chunk[o + 6], hash))
            {
                return i;
            }
        }

        map.SetUnusualNames(_unusualCount, _firstUnusual);
        _map = map;
        return -1;
    }

    /// <summary>Ordinary members for generic consumers (rarely needed): path -> {"alg": "value"}.</summary>
    public void Materialize(List<KeyValuePair<string, JsonItem>> members)
    {
        for (int i = 0; i < Count; i++)
        {
            AlgorithmSlice(i, out int a, out int al);
            ValueSlice(i, out int v, out int vl);
            var hash = new JsonMap { { Encoding.UTF8.GetString(Src, a, al), new JsonString(Src, v, vl, escaped: false) } };
            members.Add(new KeyValuePair<string, JsonItem>(Path(i), hash));
        }
    }
}

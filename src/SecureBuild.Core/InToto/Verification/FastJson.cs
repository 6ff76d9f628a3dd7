using System.Runtime.CompilerServices;
using System.Text;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto.Verification;

// A compact JSON tree for verification: strings stay slices of the file bytes until they are needed, and the
// canonical form (securesystemslib encode_canonical) is written straight from those slices. As strict as
// Core's JsonParser: no BOM, valid UTF-8 only, no duplicate keys, no raw control characters, valid escapes and
// surrogate pairs only, RFC 8259 numbers, nesting up to 256 levels, nothing after the value.

internal abstract class FNode
{
}

internal sealed class FString : FNode
{
    private readonly byte[]? _src;
    private readonly int _start;
    private readonly int _length;
    private string? _value;
    private byte[]? _utf8;

    public FString(byte[] src, int start, int length, bool escaped)
    {
        _src = src;
        _start = start;
        _length = length;
        Escaped = escaped;
    }

    public FString(string value)
    {
        _value = value;
        Escaped = true; // no raw slice: write from the value
    }

    /// <summary>Equal decoded values (compares raw bytes when neither has escapes, without decoding).</summary>
    public bool SameValue(FString other)
    {
        if (!Escaped && !other.Escaped)
        {
            if (_length != other._length)
            {
                return false;
            }

            var a = _src!;
            var b = other._src!;
            for (int i = 0; i < _length; i++)
            {
                if (a[_start + i] != b[other._start + i])
                {
                    return false;
                }
            }

            return true;
        }

        return Value == other.Value;
    }

    /// <summary>True when the value is the ASCII string <paramref name="ascii"/> (no decoding for raw slices).</summary>
    public bool Is(string ascii)
    {
        if (Escaped || _value is not null)
        {
            return Value == ascii;
        }

        if (_length != ascii.Length)
        {
            return false;
        }

        for (int i = 0; i < _length; i++)
        {
            if (_src![_start + i] != ascii[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True when the raw slice cannot be copied as is (it holds escapes, or there is no slice).</summary>
    public bool Escaped { get; }

    public string Value => _value ??= Decode();

    /// <summary>The value as UTF-8 (canonical strings and key order work on these bytes).</summary>
    public void GetUtf8(out byte[] bytes, out int start, out int length)
    {
        if (!Escaped)
        {
            bytes = _src!;
            start = _start;
            length = _length;
            return;
        }

        _utf8 ??= new UTF8Encoding(false, true).GetBytes(Value);
        bytes = _utf8;
        start = 0;
        length = _utf8.Length;
    }

    private string Decode()
    {
        if (!Escaped)
        {
            return Encoding.UTF8.GetString(_src!, _start, _length);
        }

        return FastJsonParser.DecodeEscaped(_src!, _start, _length);
    }
}

internal sealed class FNumber : FNode
{
    public FNumber(string raw, bool isInteger)
    {
        Raw = raw;
        IsInteger = isInteger;
    }

    public string Raw { get; }

    public bool IsInteger { get; }
}

internal sealed class FLiteral : FNode
{
    public static readonly FLiteral True = new("true");
    public static readonly FLiteral False = new("false");
    public static readonly FLiteral Null = new("null");

    private FLiteral(string text)
    {
        Text = text;
    }

    public string Text { get; }
}

internal sealed class FArray : FNode
{
    public FArray(FNode[] items)
    {
        Items = items;
    }

    public FNode[] Items { get; }

    public int Count => Items.Length;
}

internal sealed class FObject : FNode
{
    private FString[]? _keys;
    private FNode[]? _values;

    public FObject(FString[] keys, FNode[] values)
    {
        _keys = keys;
        _values = values;
    }

    public FObject(CompactMap compact)
    {
        Compact = compact;
    }

    /// <summary>Set for objects shaped like artifact maps ({"path": {"alg": "hex"}, ...}), kept without per-entry nodes.</summary>
    public CompactMap? Compact { get; }

    public FString[] Keys
    {
        get
        {
            if (_keys is null)
            {
                Compact!.Materialize(out _keys, out _values);
            }

            return _keys;
        }
    }

    public FNode[] Values
    {
        get
        {
            if (_values is null)
            {
                Compact!.Materialize(out _keys, out _values);
            }

            return _values!;
        }
    }

    public int Count => Compact?.Count ?? _keys!.Length;

    public FNode? Get(string key)
    {
        var keys = Keys;
        for (int i = 0; i < keys.Length; i++)
        {
            if (keys[i].Is(key))
            {
                return Values[i];
            }
        }

        return null;
    }

    /// <summary>An object built in code (for rebuilt "signed" parts); keys must be unique.</summary>
    public static FObject Build(params (string Key, FNode Value)[] members) =>
        new(members.Select(m => new FString(m.Key)).ToArray(), members.Select(m => m.Value).ToArray());
}

/// <summary>
/// An object whose every member value is an object with exactly one string member and no escapes in that inner
/// member ({"sha256": "&lt;hex&gt;"}): the shape of link materials and products. Entries are byte ranges into the
/// file plus the decoded paths; the artifact map is built while parsing (it also detects duplicate paths).
/// </summary>
internal sealed class CompactMap
{
    // Entries in fixed-size chunks (no large arrays that grow by copying), each entry 7 ints:
    // key start, key length (negative: escaped), algorithm start, algorithm length, value start, value length.
    private const int ChunkBits = 10;
    private const int ChunkSize = 1 << ChunkBits;
    private const int Ints = 7;
    private readonly List<int[]> _chunks = new();
    private readonly List<string[]> _pathChunks = new();
    private ArtifactMap? _map;

    public CompactMap(byte[] src)
    {
        Src = src;
    }

    public byte[] Src { get; }

    public int Count { get; private set; }

    /// <summary>path -> hash dict, unvalidated (MetadataReader checks the hex when it reads materials/products).</summary>
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

    [MethodImpl((MethodImplOptions)512)]
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
    [MethodImpl((MethodImplOptions)512)]
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

    /// <summary>Ordinary nodes for generic consumers (rarely needed).</summary>
    public void Materialize(out FString[] keys, out FNode[] values)
    {
        keys = new FString[Count];
        values = new FNode[Count];
        for (int i = 0; i < Count; i++)
        {
            KeySlice(i, out int ks, out int kl);
            AlgorithmSlice(i, out int a, out int al);
            ValueSlice(i, out int v, out int vl);
            keys[i] = new FString(Src, ks, kl, KeyEscaped(i));
            values[i] = new FObject(
                new[] { new FString(Src, a, al, false) },
                new FNode[] { new FString(Src, v, vl, false) });
        }
    }
}

internal static class FastJsonParser
{
    public const int MaxDepth = JsonParser.MaxDepth;

    /// <exception cref="JsonFormatException">Invalid JSON.</exception>
    public static FNode Parse(byte[] b) => new Reader(b).Document();

    public static string Describe(FNode node) => node switch
    {
        FObject => "an object",
        FArray => "an array",
        FString => "a string",
        FNumber => "a number",
        FLiteral l when l == FLiteral.Null => "null",
        _ => "a boolean",
    };

    internal static string DecodeEscaped(byte[] b, int start, int length)
    {
        var sb = new StringBuilder(length);
        int end = start + length;
        int i = start;
        while (i < end)
        {
            int runStart = i;
            while (i < end && b[i] != '\\')
            {
                i++;
            }

            if (i > runStart)
            {
                sb.Append(Encoding.UTF8.GetString(b, runStart, i - runStart));
            }

            if (i >= end)
            {
                break;
            }

            byte e = b[i + 1];
            i += 2;
            switch (e)
            {
                case (byte)'"': sb.Append('"'); break;
                case (byte)'\\': sb.Append('\\'); break;
                case (byte)'/': sb.Append('/'); break;
                case (byte)'b': sb.Append('\b'); break;
                case (byte)'f': sb.Append('\f'); break;
                case (byte)'n': sb.Append('\n'); break;
                case (byte)'r': sb.Append('\r'); break;
                case (byte)'t': sb.Append('\t'); break;
                default: // 'u', validated by the reader
                    sb.Append((char)Hex4(b, i));
                    i += 4;
                    break;
            }
        }

        return sb.ToString();
    }

    private static int Hex4(byte[] b, int at)
    {
        int v = 0;
        for (int k = 0; k < 4; k++)
        {
            byte h = b[at + k];
            int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
            if (d < 0)
            {
                return -1;
            }

            v = (v << 4) | d;
        }

        return v;
    }

    // [0-9a-fA-F]
    private static readonly bool[] HexDigit = BuildHexDigits();

    // The eight bytes "sha256" with its quotes, as BitConverter reads them on this machine.
    private static readonly ulong QuotedSha256 = BitConverter.ToUInt64(Encoding.ASCII.GetBytes("\"sha256\""), 0);

    private static bool[] BuildHexDigits()
    {
        var t = new bool[256];
        for (int c = 0; c < 256; c++)
        {
            t[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        }

        return t;
    }

    // True when all eight bytes of v are [0-9a-fA-F]. For bytes below 0x80, adding 0x80 - lo sets a byte's high bit
    // exactly when it is >= lo, and adding 0x7F - hi exactly when it is > hi, without carries into the next byte.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AllHexDigits(ulong v)
    {
        const ulong ones = 0x0101010101010101UL, highs = 0x8080808080808080UL;
        if ((v & highs) != 0)
        {
            return false;
        }

        ulong digit = (v + (ones * (0x80 - '0'))) & ~(v + (ones * (0x7F - '9')));
        ulong letters = v | (ones * 0x20); // 'A'-'F' -> 'a'-'f'; nothing else lands in 'a'-'f'
        ulong letter = (letters + (ones * (0x80 - 'a'))) & ~(letters + (ones * (0x7F - 'f')));
        return ((digit | letter) & highs) == highs;
    }

    private sealed class Reader
    {
        private readonly byte[] _b;
        private readonly List<FString>?[] _keyScratch = new List<FString>?[MaxDepth + 2];
        private readonly List<FNode>?[] _valueScratch = new List<FNode>?[MaxDepth + 2];
        private int _pos;

        public Reader(byte[] b)
        {
            _b = b;
        }

        public FNode Document()
        {
            if (_b.Length >= 3 && _b[0] == 0xEF && _b[1] == 0xBB && _b[2] == 0xBF)
            {
                throw Error("a UTF-8 byte order mark (BOM) is not allowed at the start of the document", 0);
            }

            SkipWs();
            if (_pos >= _b.Length)
            {
                throw Error("unexpected end of input: the document is empty, expected a JSON value", _pos);
            }

            var v = Value(0);
            SkipWs();
            if (_pos < _b.Length)
            {
                throw Error("trailing content after the JSON value", _pos);
            }

            return v;
        }

        [MethodImpl((MethodImplOptions)512)] // AggressiveOptimization: skip tier-0 for the hot loops
        private FNode Value(int depth)
        {
            if (_pos >= _b.Length)
            {
                throw Error("unexpected end of input: expected a JSON value", _pos);
            }

            byte c = _b[_pos];
            switch (c)
            {
                case (byte)'{': return Obj(depth + 1);
                case (byte)'[': return Arr(depth + 1);
                case (byte)'"': return Str();
                case (byte)'t': Lit("true"); return FLiteral.True;
                case (byte)'f': Lit("false"); return FLiteral.False;
                case (byte)'n': Lit("null"); return FLiteral.Null;
                default:
                    if (c == '-' || (c >= '0' && c <= '9'))
                    {
                        return Num();
                    }

                    throw Error("expected a JSON value", _pos);
            }
        }

        [MethodImpl((MethodImplOptions)512)]
        private FObject Obj(int depth)
        {
            int open = _pos;
            if (depth > MaxDepth)
            {
                throw Error($"nesting is deeper than {MaxDepth} levels", open);
            }

            _pos++;
            SkipWs();
            if (Peek() == '}')
            {
                _pos++;
                return new FObject(Array.Empty<FString>(), Array.Empty<FNode>());
            }

            var keys = _keyScratch[depth] ??= new List<FString>();
            var values = _valueScratch[depth] ??= new List<FNode>();
            keys.Clear();
            values.Clear();
            HashSet<string>? seen = null;
            CompactMap? compact = null;
            bool compactPossible = depth + 1 <= MaxDepth;
            while (true)
            {
                SkipWs();
                if (_pos >= _b.Length)
                {
                    throw Error($"unexpected end of input: unterminated object (opened at byte offset {open})", _pos);
                }

                if (_b[_pos] != '"')
                {
                    throw Error("expected a string object key", _pos);
                }

                int keyPos = _pos;
                ScanString(out bool keyEscaped);
                int keyStart = keyPos + 1;
                int keyLength = _pos - keyPos - 2;
                SkipWs();
                if (_pos >= _b.Length || _b[_pos] != ':')
                {
                    throw Error("expected ':' after an object key", _pos);
                }

                _pos++;
                SkipWs();

                // Artifact-map shaped members are kept compact while every member so far had that shape.
                if (compactPossible && keys.Count == 0 && _pos < _b.Length && _b[_pos] == '{')
                {
                    int save = _pos;
                    if (TrySingleStringMember(out int algStart, out int algLength, out int valueStart, out int valueLength, out bool valueHex))
                    {
                        compact ??= new CompactMap(_b);
                        string path = keyEscaped ? DecodeEscaped(_b, keyStart, keyLength) : Encoding.UTF8.GetString(_b, keyStart, keyLength);
                        compact.Add(path, keyEscaped, keyStart, keyLength, algStart, algLength, valueStart, valueLength, valueHex);
                        goto AfterValue;
                    }

                    _pos = save;
                }

                var key = new FString(_b, keyStart, keyLength, keyEscaped);

                compactPossible = false;
                if (compact is not null)
                {
                    // The shape broke: turn the compact entries into ordinary members and go on.
                    int repeated = compact.Finish();
                    if (repeated >= 0)
                    {
                        compact.KeySlice(repeated, out int at, out _);
                        throw Error($"duplicate object key \"{Printable(compact.Path(repeated))}\"", at - 1);
                    }

                    compact.Materialize(out var ck, out var cv);
                    keys.AddRange(ck);
                    values.AddRange(cv);
                    compact = null;
                }

                if (seen is null && keys.Count >= 8)
                {
                    seen = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var existing in keys)
                    {
                        seen.Add(existing.Value);
                    }
                }

                bool duplicate = false;
                if (seen is not null)
                {
                    duplicate = !seen.Add(key.Value);
                }
                else
                {
                    foreach (var existing in keys)
                    {
                        if (existing.SameValue(key))
                        {
                            duplicate = true;
                            break;
                        }
                    }
                }

                if (duplicate)
                {
                    throw Error($"duplicate object key \"{Printable(key.Value)}\"", keyPos);
                }

                keys.Add(key);
                values.Add(Value(depth));
            AfterValue:
                SkipWs();
                if (_pos >= _b.Length)
                {
                    throw Error($"unexpected end of input: unterminated object (opened at byte offset {open})", _pos);
                }

                byte c = _b[_pos++];
                if (c == ',')
                {
                    continue;
                }

                if (c == '}')
                {
                    if (compact is not null)
                    {
                        int repeated = compact.Finish();
                        if (repeated >= 0)
                        {
                            compact.KeySlice(repeated, out int at, out _);
                            throw Error($"duplicate object key \"{Printable(compact.Path(repeated))}\"", at - 1);
                        }

                        return new FObject(compact);
                    }

                    var result = new FObject(keys.ToArray(), values.ToArray());
                    keys.Clear();
                    values.Clear();
                    return result;
                }

                throw Error("expected ',' or '}' in an object", _pos - 1);
            }
        }

        [MethodImpl((MethodImplOptions)512)]
        private FArray Arr(int depth)
        {
            int open = _pos;
            if (depth > MaxDepth)
            {
                throw Error($"nesting is deeper than {MaxDepth} levels", open);
            }

            _pos++;
            SkipWs();
            if (Peek() == ']')
            {
                _pos++;
                return new FArray(Array.Empty<FNode>());
            }

            var items = _valueScratch[depth] ??= new List<FNode>();
            items.Clear();
            while (true)
            {
                SkipWs();
                if (_pos >= _b.Length)
                {
                    throw Error($"unexpected end of input: unterminated array (opened at byte offset {open})", _pos);
                }

                items.Add(Value(depth));
                SkipWs();
                if (_pos >= _b.Length)
                {
                    throw Error($"unexpected end of input: unterminated array (opened at byte offset {open})", _pos);
                }

                byte c = _b[_pos++];
                if (c == ',')
                {
                    continue;
                }

                if (c == ']')
                {
                    var result = new FArray(items.ToArray());
                    items.Clear();
                    return result;
                }

                throw Error("expected ',' or ']' in an array", _pos - 1);
            }
        }

        // At '{': reads {"<alg>": "<value>"} when both strings are free of escapes. False (position undefined) otherwise.
        // valueHex: the value is a non-empty run of hex digits (found while scanning it; other values take the
        // general string scan, with its errors).
        [MethodImpl((MethodImplOptions)512)]
        private bool TrySingleStringMember(out int algStart, out int algLength, out int valueStart, out int valueLength, out bool valueHex)
        {
            algStart = algLength = valueStart = valueLength = 0;
            valueHex = false;
            var b = _b;
            int n = b.Length;
            _pos = SkipWsFrom(_pos + 1);
            int p;
            if (_pos + 8 <= n && BitConverter.ToUInt64(b, _pos) == QuotedSha256)
            {
                algStart = _pos + 1; // the usual algorithm, without the general string scan
                algLength = 6;
                p = _pos + 8;
            }
            else if (RawString(out algStart, out algLength))
            {
                p = _pos;
            }
            else
            {
                return false;
            }

            p = SkipWsFrom(p);
            if (p >= n || b[p] != ':')
            {
                return false;
            }

            p = SkipWsFrom(p + 1);
            if (p >= n || b[p] != '"')
            {
                return false;
            }

            var hexDigit = HexDigit;
            int i = p + 1;
            while (i + 8 <= n && AllHexDigits(BitConverter.ToUInt64(b, i)))
            {
                i += 8;
            }

            while (i < n && hexDigit[b[i]])
            {
                i++;
            }

            if (i < n && b[i] == '"')
            {
                valueStart = p + 1;
                valueLength = i - valueStart;
                valueHex = valueLength > 0;
                p = i + 1;
            }
            else
            {
                _pos = p;
                if (!RawString(out valueStart, out valueLength))
                {
                    return false;
                }

                p = _pos; // the scan stopped at a byte inside the string that is not a hex digit
            }

            p = SkipWsFrom(p);
            if (p >= n || b[p] != '}')
            {
                return false;
            }

            _pos = p + 1;
            return true;
        }

        // A string without escapes at _pos (validated like Str); false if there is none or it has an escape.
        private bool RawString(out int start, out int length)
        {
            start = length = 0;
            if (_pos >= _b.Length || _b[_pos] != '"')
            {
                return false;
            }

            int at = _pos;
            ScanString(out bool escaped);
            if (escaped)
            {
                _pos = at;
                return false;
            }

            start = at + 1;
            length = _pos - at - 2;
            return true;
        }

        private FString Str()
        {
            int open = _pos;
            ScanString(out bool escaped);
            return new FString(_b, open + 1, _pos - open - 2, escaped);
        }

        // Validates the string at _pos (the opening quote) and moves past its closing quote.
        [MethodImpl((MethodImplOptions)512)]
        private void ScanString(out bool escaped)
        {
            int open = _pos;
            int i = _pos + 1;
            escaped = false;
            var b = _b;
            int n = b.Length;

            // Eight bytes at a time while none of them is '"', '\\', a control character or non-ASCII.
            while (i + 8 <= n)
            {
                ulong v = BitConverter.ToUInt64(b, i);
                const ulong ones = 0x0101010101010101UL, highs = 0x8080808080808080UL;
                ulong quote = v ^ (ones * '"');
                ulong backslash = v ^ (ones * '\\');
                ulong special = ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | (v - (ones * 0x20)) | v;
                if ((special & highs) != 0)
                {
                    break;
                }

                i += 8;
            }

            while (true)
            {
                if (i >= n)
                {
                    throw Error($"unexpected end of input: unterminated string (opened at byte offset {open})", i);
                }

                byte c = b[i];
                if (c == '"')
                {
                    _pos = i + 1;
                    return;
                }

                if (c == '\\')
                {
                    escaped = true;
                    i = Escape(i);
                    continue;
                }

                if (c < 0x20)
                {
                    throw Error($"control character U+{c:X4} inside a string must be escaped", i);
                }

                if (c < 0x80)
                {
                    i++;
                    continue;
                }

                i = Utf8(i);
            }
        }

        // Validates one escape at i (the backslash); returns the index after it.
        [MethodImpl((MethodImplOptions)512)]
        private int Escape(int i)
        {
            if (i + 1 >= _b.Length)
            {
                throw Error("unexpected end of input inside an escape sequence", i);
            }

            byte e = _b[i + 1];
            switch (e)
            {
                case (byte)'"':
                case (byte)'\\':
                case (byte)'/':
                case (byte)'b':
                case (byte)'f':
                case (byte)'n':
                case (byte)'r':
                case (byte)'t':
                    return i + 2;
                case (byte)'u':
                    break;
                default:
                    throw Error("invalid escape sequence in a string", i);
            }

            int unit = i + 6 <= _b.Length ? Hex4(_b, i + 2) : -1;
            if (unit < 0)
            {
                throw Error("invalid \\u escape: expected 4 hex digits", i);
            }

            if (unit >= 0xD800 && unit <= 0xDBFF)
            {
                int low = i + 12 <= _b.Length && _b[i + 6] == '\\' && _b[i + 7] == 'u' ? Hex4(_b, i + 8) : -1;
                if (low < 0xDC00 || low > 0xDFFF)
                {
                    throw Error("lone high surrogate in a \\u escape (not followed by a low surrogate)", i);
                }

                return i + 12;
            }

            if (unit >= 0xDC00 && unit <= 0xDFFF)
            {
                throw Error("lone low surrogate in a \\u escape (no preceding high surrogate)", i);
            }

            return i + 6;
        }

        // Validates one multi-byte UTF-8 character at i; returns the index after it.
        [MethodImpl((MethodImplOptions)512)]
        private int Utf8(int i)
        {
            byte b0 = _b[i];
            int need;
            byte lo = 0x80, hi = 0xBF;
            if (b0 >= 0xC2 && b0 <= 0xDF)
            {
                need = 1;
            }
            else if (b0 >= 0xE0 && b0 <= 0xEF)
            {
                need = 2;
                if (b0 == 0xE0)
                {
                    lo = 0xA0;
                }
                else if (b0 == 0xED)
                {
                    hi = 0x9F;
                }
            }
            else if (b0 >= 0xF0 && b0 <= 0xF4)
            {
                need = 3;
                if (b0 == 0xF0)
                {
                    lo = 0x90;
                }
                else if (b0 == 0xF4)
                {
                    hi = 0x8F;
                }
            }
            else
            {
                throw Error($"invalid UTF-8: byte 0x{b0:X2} cannot start a character", i);
            }

            for (int k = 1; k <= need; k++)
            {
                if (i + k >= _b.Length)
                {
                    throw Error("invalid UTF-8: truncated multi-byte character at end of input", i);
                }

                byte bk = _b[i + k];
                if (bk < (k == 1 ? lo : 0x80) || bk > (k == 1 ? hi : 0xBF))
                {
                    throw Error($"invalid UTF-8: unexpected byte 0x{bk:X2} in a multi-byte character", i + k);
                }
            }

            return i + need + 1;
        }

        [MethodImpl((MethodImplOptions)512)]
        private FNumber Num()
        {
            int start = _pos;
            if (_b[_pos] == '-')
            {
                _pos++;
            }

            if (_pos >= _b.Length)
            {
                throw Error("unexpected end of input inside a number", _pos);
            }

            if (_b[_pos] == '0')
            {
                _pos++;
                if (_pos < _b.Length && _b[_pos] >= '0' && _b[_pos] <= '9')
                {
                    throw Error("numbers must not have leading zeros", start);
                }
            }
            else if (_b[_pos] >= '1' && _b[_pos] <= '9')
            {
                Digits();
            }
            else
            {
                throw Error("invalid number: expected a digit", _pos);
            }

            bool integer = true;
            if (_pos < _b.Length && _b[_pos] == '.')
            {
                integer = false;
                _pos++;
                if (Digits() == 0)
                {
                    throw Error("invalid number: expected a digit after the decimal point", _pos);
                }
            }

            if (_pos < _b.Length && (_b[_pos] == 'e' || _b[_pos] == 'E'))
            {
                integer = false;
                _pos++;
                if (_pos < _b.Length && (_b[_pos] == '+' || _b[_pos] == '-'))
                {
                    _pos++;
                }

                if (Digits() == 0)
                {
                    throw Error("invalid number: expected a digit in the exponent", _pos);
                }
            }

            return new FNumber(Encoding.ASCII.GetString(_b, start, _pos - start), integer);
        }

        private int Digits()
        {
            int s = _pos;
            while (_pos < _b.Length && _b[_pos] >= '0' && _b[_pos] <= '9')
            {
                _pos++;
            }

            return _pos - s;
        }

        private void Lit(string text)
        {
            for (int k = 0; k < text.Length; k++)
            {
                if (_pos + k >= _b.Length || _b[_pos + k] != text[k])
                {
                    throw Error($"invalid literal (expected '{text}')", _pos);
                }
            }

            _pos += text.Length;
        }

        private int Peek() => _pos < _b.Length ? _b[_pos] : -1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private int SkipWsFrom(int p)
        {
            var b = _b;
            while (p < b.Length)
            {
                byte c = b[p];
                if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
                {
                    p++;
                }
                else
                {
                    break;
                }
            }

            return p;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void SkipWs()
        {
            var b = _b;
            int p = _pos;
            while (p < b.Length)
            {
                byte c = b[p];
                if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
                {
                    p++;
                }
                else
                {
                    break;
                }
            }

            _pos = p;
        }

        private static string Printable(string s)
        {
            var sb = new StringBuilder();
            foreach (char c in s.Length > 80 ? s.Substring(0, 80) + "..." : s)
            {
                sb.Append(c < 0x20 || c == 0x7F ? '?' : c);
            }

            return sb.ToString();
        }

        private JsonFormatException Error(string reason, int offset)
        {
            int line = 1, lineStart = 0;
            int end = Math.Min(offset, _b.Length);
            for (int i = 0; i < end; i++)
            {
                if (_b[i] == '\n')
                {
                    line++;
                    lineStart = i + 1;
                }
            }

            return new JsonFormatException($"Invalid JSON at line {line}, column {offset - lineStart + 1} (byte offset {offset}): {reason}");
        }
    }
}

/// <summary>securesystemslib encode_canonical over <see cref="FNode"/> trees, copying raw string bytes where possible.</summary>
internal static class FastCanonical
{
    /// <summary>The canonical bytes: <c>buffer[0..length)</c> (the buffer may be longer).</summary>
    /// <exception cref="JsonFormatException">A non-integer number (the canonical form has none).</exception>
    public static byte[] Serialize(FNode node, int sizeHint, out int length)
    {
        var w = new Writer(Math.Max(256, sizeHint + 64));
        Write(node, w, "$");
        return w.Detach(out length);
    }

    [MethodImpl((MethodImplOptions)512)]
    private static void Write(FNode node, Writer w, string path)
    {
        switch (node)
        {
            case FString s:
                WriteString(s, w);
                break;
            case FObject { Compact: { } c }:
                WriteCompact(c, w);
                break;
            case FObject o:
                w.Byte((byte)'{');
                int[] order = Order(o);
                for (int i = 0; i < order.Length; i++)
                {
                    if (i > 0)
                    {
                        w.Byte((byte)',');
                    }

                    int k = order[i];
                    WriteString(o.Keys[k], w);
                    w.Byte((byte)':');
                    Write(o.Values[k], w, path);
                }

                w.Byte((byte)'}');
                break;
            case FArray a:
                w.Byte((byte)'[');
                for (int i = 0; i < a.Items.Length; i++)
                {
                    if (i > 0)
                    {
                        w.Byte((byte)',');
                    }

                    Write(a.Items[i], w, path);
                }

                w.Byte((byte)']');
                break;
            case FNumber n:
                if (!n.IsInteger)
                {
                    throw new JsonFormatException($"Canonical JSON allows integers only, but the signed metadata contains the non-integer number {n.Raw}.");
                }

                w.Ascii(n.Raw == "-0" ? "0" : n.Raw);
                break;
            case FLiteral l:
                w.Ascii(l.Text);
                break;
        }
    }

    [MethodImpl((MethodImplOptions)512)]
    private static void WriteCompact(CompactMap c, Writer w)
    {
        if (c.SortedRaw)
        {
            WriteCompactInFileOrder(c, w);
            return;
        }

        int n = c.Count;
        var src = c.Src;
        byte[]?[]? escapedKeys = null;
        for (int i = 0; i < n; i++)
        {
            if (c.KeyEscaped(i))
            {
                escapedKeys ??= new byte[n][];
                escapedKeys[i] = new UTF8Encoding(false, true).GetBytes(c.Path(i));
            }
        }

        void Key(int i, out byte[] b, out int s, out int l)
        {
            if (escapedKeys?[i] is { } e)
            {
                b = e;
                s = 0;
                l = e.Length;
            }
            else
            {
                b = src;
                c.KeySlice(i, out s, out l);
            }
        }

        int CompareKeys(int x, int y)
        {
            Key(x, out var xb, out int xs, out int xl);
            Key(y, out var yb, out int ys, out int yl);
            int m = Math.Min(xl, yl);
            for (int k = 0; k < m; k++)
            {
                int d = xb[xs + k] - yb[ys + k];
                if (d != 0)
                {
                    return d;
                }
            }

            return xl - yl;
        }

        var order = new int[n];
        bool sorted = true;
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            if (sorted && i > 0 && CompareKeys(i - 1, i) > 0)
            {
                sorted = false;
            }
        }

        if (!sorted)
        {
            Array.Sort(order, CompareKeys);
        }

        w.Byte((byte)'{');
        for (int j = 0; j < n; j++)
        {
            int i = order[j];
            if (j > 0)
            {
                w.Byte((byte)',');
            }

            Key(i, out var kb, out int ks, out int kl);
            w.Byte((byte)'"');
            if (escapedKeys?[i] is not null)
            {
                for (int k = ks; k < ks + kl; k++)
                {
                    if (kb[k] == '"' || kb[k] == '\\')
                    {
                        w.Byte((byte)'\\');
                    }

                    w.Byte(kb[k]);
                }
            }
            else
            {
                w.Bytes(kb, ks, kl);
            }

            w.Byte((byte)'"');
            w.Byte((byte)':');
            w.Byte((byte)'{');
            w.Byte((byte)'"');
            c.AlgorithmSlice(i, out int a, out int al);
            w.Bytes(src, a, al);
            w.Byte((byte)'"');
            w.Byte((byte)':');
            w.Byte((byte)'"');
            c.ValueSlice(i, out int v, out int vl);
            w.Bytes(src, v, vl);
            w.Byte((byte)'"');
            w.Byte((byte)'}');
        }

        w.Byte((byte)'}');
    }

    // Keys already in canonical order and free of escapes (checked while parsing): every entry is copied as
    // "key":{"alg":"value"} from its raw slices.
    [MethodImpl((MethodImplOptions)512)]
    private static void WriteCompactInFileOrder(CompactMap c, Writer w)
    {
        var src = c.Src;
        int n = c.Count;
        w.Byte((byte)'{');
        for (int i = 0; i < n; i++)
        {
            c.Entry(i, out int ks, out int kl, out int a, out int al, out int v, out int vl);
            var buf = w.Reserve(kl + al + vl + 12, out int at);
            if (i > 0)
            {
                buf[at++] = (byte)',';
            }

            buf[at++] = (byte)'"';
            Buffer.BlockCopy(src, ks, buf, at, kl);
            at += kl;
            buf[at++] = (byte)'"';
            buf[at++] = (byte)':';
            buf[at++] = (byte)'{';
            buf[at++] = (byte)'"';
            for (int k = 0; k < al; k++)
            {
                buf[at + k] = src[a + k];
            }

            at += al;
            buf[at++] = (byte)'"';
            buf[at++] = (byte)':';
            buf[at++] = (byte)'"';
            Buffer.BlockCopy(src, v, buf, at, vl);
            at += vl;
            buf[at++] = (byte)'"';
            buf[at++] = (byte)'}';
            w.Commit(at);
        }

        w.Byte((byte)'}');
    }

    // Key order by UTF-8 bytes (= code point order); files written with sorted keys need no sort.
    private static int[] Order(FObject o)
    {
        int n = o.Count;
        var order = new int[n];
        bool sorted = true;
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
            if (i > 0 && Compare(o.Keys[i - 1], o.Keys[i]) > 0)
            {
                sorted = false;
            }
        }

        if (!sorted)
        {
            Array.Sort(order, (x, y) => Compare(o.Keys[x], o.Keys[y]));
        }

        return order;
    }

    private static int Compare(FString a, FString b)
    {
        a.GetUtf8(out var ab, out int ai, out int al);
        b.GetUtf8(out var bb, out int bi, out int bl);
        int n = Math.Min(al, bl);
        for (int k = 0; k < n; k++)
        {
            int d = ab[ai + k] - bb[bi + k];
            if (d != 0)
            {
                return d;
            }
        }

        return al - bl;
    }

    private static void WriteString(FString s, Writer w)
    {
        w.Byte((byte)'"');
        s.GetUtf8(out var bytes, out int start, out int length);
        if (!s.Escaped)
        {
            w.Bytes(bytes, start, length); // a raw slice holds no '"' or '\' and is valid UTF-8
        }
        else
        {
            int end = start + length;
            for (int i = start; i < end; i++)
            {
                byte c = bytes[i];
                if (c == '"' || c == '\\')
                {
                    w.Byte((byte)'\\');
                }

                w.Byte(c);
            }
        }

        w.Byte((byte)'"');
    }

    private sealed class Writer
    {
        private byte[] _buf;
        private int _len;

        public Writer(int capacity)
        {
            _buf = BufferPool.Rent(capacity);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Byte(byte b)
        {
            if (_len == _buf.Length)
            {
                Grow(1);
            }

            _buf[_len++] = b;
        }

        public void Bytes(byte[] src, int start, int length)
        {
            if (_len + length > _buf.Length)
            {
                Grow(length);
            }

            Buffer.BlockCopy(src, start, _buf, _len, length);
            _len += length;
        }

        public void Ascii(string s)
        {
            foreach (char c in s)
            {
                Byte((byte)c);
            }
        }

        /// <summary>Room for <paramref name="count"/> more bytes at <paramref name="at"/>; <see cref="Commit"/> with the new end.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public byte[] Reserve(int count, out int at)
        {
            if (_len + count > _buf.Length)
            {
                Grow(count);
            }

            at = _len;
            return _buf;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Commit(int end) => _len = end;

        private void Grow(int extra) => Array.Resize(ref _buf, Math.Max(_buf.Length * 2, _len + extra));

        public byte[] Detach(out int length)
        {
            length = _len;
            return _buf;
        }
    }
}

internal static class FNodes
{
    /// <summary>Python equality of two parsed JSON values (numbers by value for integers, by text otherwise).</summary>
    public static bool DeepEquals(FNode a, FNode b)
    {
        switch (a)
        {
            case FString sa:
                return b is FString sb && sa.Value == sb.Value;
            case FNumber na:
                return b is FNumber nb && (na.Raw == nb.Raw || (na.IsInteger && nb.IsInteger
                    && System.Numerics.BigInteger.Parse(na.Raw, System.Globalization.CultureInfo.InvariantCulture) == System.Numerics.BigInteger.Parse(nb.Raw, System.Globalization.CultureInfo.InvariantCulture)));
            case FLiteral la:
                return ReferenceEquals(la, b);
            case FArray aa:
                if (b is not FArray ab || aa.Count != ab.Count)
                {
                    return false;
                }

                for (int i = 0; i < aa.Count; i++)
                {
                    if (!DeepEquals(aa.Items[i], ab.Items[i]))
                    {
                        return false;
                    }
                }

                return true;
            case FObject oa:
                if (b is not FObject ob || oa.Count != ob.Count)
                {
                    return false;
                }

                for (int i = 0; i < oa.Count; i++)
                {
                    var other = ob.Get(oa.Keys[i].Value);
                    if (other is null || !DeepEquals(oa.Values[i], other))
                    {
                        return false;
                    }
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>The same value as a Core JSON node (for writing files).</summary>
    public static JsonNode ToJsonNode(FNode node) => node switch
    {
        FString s => new JsonString(s.Value),
        FNumber n => new JsonNumber(n.Raw),
        FArray a => new JsonArray(a.Items.Select(ToJsonNode)),
        FObject o => new JsonObject(o.Keys.Select((k, i) => new KeyValuePair<string, JsonNode>(k.Value, ToJsonNode(o.Values[i])))),
        FLiteral l when ReferenceEquals(l, FLiteral.True) => JsonBool.True,
        FLiteral l when ReferenceEquals(l, FLiteral.False) => JsonBool.False,
        _ => JsonNull.Instance,
    };
}

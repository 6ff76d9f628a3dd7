using System.Runtime.CompilerServices;
using System.Text;
using SecureBuild.Core.Internal;

namespace SecureBuild.Core.Json;

/// <summary>
/// Strict RFC 8259 JSON parser over UTF-8 bytes. Rejects: a UTF-8 BOM, invalid UTF-8, duplicate object keys,
/// trailing content, unterminated values, raw control characters in strings, invalid escapes, lone surrogates
/// in \u escapes, numbers with leading zeros (and NaN/Infinity), and nesting deeper than
/// <see cref="MaxDepth"/>. Numbers are kept as raw text (floats are accepted here; the canonical
/// serializer rejects them).
/// <para>
/// <see cref="ParseGenerated(byte[])"/> reads files that NuGet, MSBuild and the SDK generate (project.assets.json,
/// .nupkg.metadata, deps.json, runtimeconfig.json) the way those tools read them: a repeated key keeps its last value
/// (NuGet writes one source URL twice when two NuGet.config keys name it) and a leading BOM is skipped. Everything
/// else stays strict. What SecureBuild signs and verifies is always read with <see cref="Parse(byte[])"/>.
/// </para>
/// </summary>
public static class JsonParser
{
    /// <summary>Maximum nesting of arrays/objects. 256 levels parse, 257 do not.</summary>
    public const int MaxDepth = JsonLexer.MaxDepth;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static JsonItem Parse(byte[] utf8)
    {
        if (utf8 is null)
        {
            throw new ArgumentNullException(nameof(utf8));
        }

        return new Reader(utf8, lenient: false).ParseDocument();
    }

    /// <summary>
    /// Parses a file another tool generated, as that tool reads it: the last of repeated keys wins and a UTF-8 BOM
    /// is skipped. Invalid UTF-8, bad syntax and excessive nesting are still errors.
    /// </summary>
    public static JsonItem ParseGenerated(byte[] utf8)
    {
        if (utf8 is null)
        {
            throw new ArgumentNullException(nameof(utf8));
        }

        return new Reader(utf8, lenient: true).ParseDocument();
    }

    public static JsonItem Parse(string text)
    {
        if (text is null)
        {
            throw new ArgumentNullException(nameof(text));
        }

        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                throw new JsonFormatException($"Invalid JSON text: lone surrogate U+{(int)c:X4} at character index {i}.");
            }
        }

        return Parse(StrictUtf8.GetBytes(text));
    }

    /// <summary>
    /// Parses metadata whose signature is checked over its canonical form (in-toto links and layouts), strictly like
    /// <see cref="Parse(byte[])"/>, into the same DOM with the verifier's two specialisations: strings keep their bytes
    /// in <paramref name="utf8"/> (decoded when first read; the canonical writer copies them), and objects shaped like
    /// artifact maps (every member <c>{"alg": "value"}</c> without escapes) are kept as <see cref="ArtifactMapSlices"/>,
    /// whose path -> hash map is built while parsing. The tree refers to <paramref name="utf8"/>, which must not change
    /// while the tree is used.
    /// </summary>
    internal static JsonItem ParseSigned(byte[] utf8)
    {
        if (utf8 is null)
        {
            throw new ArgumentNullException(nameof(utf8));
        }

        return new Reader(utf8, lenient: false, slices: true).ParseDocument();
    }

    // Builds JsonItem trees from the one tokenizer. Lenient (ParseGenerated): a BOM is skipped and a repeated key
    // keeps its last value. Slices (ParseSigned): strings stay slices of the input and artifact maps stay compact.
    private sealed class Reader : JsonLexer
    {
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

        private readonly bool _lenient;
        private readonly bool _slices;

        public Reader(byte[] bytes, bool lenient, bool slices = false)
            : base(bytes)
        {
            _lenient = lenient;
            _slices = slices;
        }

        public JsonItem ParseDocument()
        {
            SkipByteOrderMark(allowed: _lenient);
            ExpectValueAhead();
            var value = ParseValue(0);
            ExpectEnd();
            return value;
        }

        [MethodImpl(Jit.AggressiveOptimization)]
        private JsonItem ParseValue(int depth)
        {
            switch (Peek())
            {
                case '{':
                    return ParseObject(depth + 1);
                case '[':
                    return ParseArray(depth + 1);
                case '"':
                    return ParseString();
                case 't':
                    ExpectLiteral("true");
                    return JsonBool.True;
                case 'f':
                    ExpectLiteral("false");
                    return JsonBool.False;
                case 'n':
                    ExpectLiteral("null");
                    return JsonNull.Instance;
                case int c when c == '-' || (c >= '0' && c <= '9'):
                    int start = Pos;
                    bool integer = ScanNumber();
                    return new JsonNumber(Encoding.ASCII.GetString(B, start, Pos - start), integer);
                default:
                    throw NotAValue();
            }
        }

        [MethodImpl(Jit.AggressiveOptimization)]
        private JsonMap ParseObject(int depth)
        {
            int open = Pos;
            CheckDepth(depth);
            Pos++; // '{'
            SkipWs();
            if (Peek() == '}')
            {
                Pos++;
                return new JsonMap();
            }

            JsonMap? obj = null;
            ArtifactMapSlices? map = null;
            bool mapPossible = _slices && depth + 1 <= MaxDepth;
            do
            {
                SkipWs();
                ExpectKey(open);
                int keyPos = Pos;
                ScanString(out bool keyEscaped);
                int keyStart = keyPos + 1;
                int keyLength = Pos - keyPos - 2;
                string key = DecodeString(B, keyStart, keyLength, keyEscaped);
                SkipWs();
                ExpectColon(open);

                // Artifact-map shaped members are kept as slices while every member so far had that shape.
                if (mapPossible && Peek() == '{')
                {
                    int save = Pos;
                    if (TrySingleStringMember(out int algStart, out int algLength, out int valueStart, out int valueLength, out bool valueHex))
                    {
                        map ??= new ArtifactMapSlices(B);
                        map.Add(key, keyEscaped, keyStart, keyLength, algStart, algLength, valueStart, valueLength, valueHex);
                        SkipWs();
                        continue;
                    }

                    Pos = save;
                }

                mapPossible = false;
                if (obj is null)
                {
                    // The shape broke (or was never there): ordinary members from here on.
                    obj = map is null ? new JsonMap() : MaterializedMap(map);
                    map = null;
                }

                var value = ParseValue(depth);
                if (!obj.ContainsKey(key))
                {
                    obj.Add(key, value);
                }
                else if (_lenient)
                {
                    obj[key] = value; // the last one wins, as in NuGet's and MSBuild's readers
                }
                else
                {
                    throw Error($"duplicate object key \"{Printable(key)}\"", keyPos);
                }

                SkipWs();
            }
            while (NextOrClose(open, (byte)'}', "object"));

            return obj ?? FinishedMap(map!);
        }

        // The artifact map is complete: its path -> hash map is built (which finds a repeated path).
        private JsonMap FinishedMap(ArtifactMapSlices map)
        {
            int repeated = map.Finish();
            if (repeated >= 0)
            {
                map.KeySlice(repeated, out int at, out _);
                throw Error($"duplicate object key \"{Printable(map.Path(repeated))}\"", at - 1);
            }

            return new JsonMap(map);
        }

        // An artifact map whose shape broke halfway: its entries become ordinary members.
        private JsonMap MaterializedMap(ArtifactMapSlices map)
        {
            var obj = FinishedMap(map);
            obj.DetachSlices();
            return obj;
        }

        [MethodImpl(Jit.AggressiveOptimization)]
        private JsonList ParseArray(int depth)
        {
            int open = Pos;
            CheckDepth(depth);
            Pos++; // '['
            SkipWs();
            var items = new List<JsonItem>();
            if (Peek() == ']')
            {
                Pos++;
                return new JsonList(items, owned: true);
            }

            do
            {
                SkipWs();
                ExpectMore(open, "array");
                items.Add(ParseValue(depth));
                SkipWs();
            }
            while (NextOrClose(open, (byte)']', "array"));
            return new JsonList(items, owned: true);
        }

        private JsonString ParseString()
        {
            int open = Pos;
            ScanString(out bool escaped);
            return _slices
                ? new JsonString(B, open + 1, Pos - open - 2, escaped)
                : new JsonString(DecodeString(B, open + 1, Pos - open - 2, escaped));
        }

        // At '{': reads {"<alg>": "<value>"} when both strings are free of escapes. False (position undefined) otherwise.
        // valueHex: the value is a non-empty run of hex digits (found while scanning it; other values take the
        // general string scan, with its errors).
        [MethodImpl(Jit.AggressiveOptimization)]
        private bool TrySingleStringMember(out int algStart, out int algLength, out int valueStart, out int valueLength, out bool valueHex)
        {
            algStart = algLength = valueStart = valueLength = 0;
            valueHex = false;
            var b = B;
            int n = b.Length;
            Pos = SkipWsFrom(Pos + 1);
            int p;
            if (Pos + 8 <= n && BitConverter.ToUInt64(b, Pos) == QuotedSha256)
            {
                algStart = Pos + 1; // the usual algorithm, without the general string scan
                algLength = 6;
                p = Pos + 8;
            }
            else if (RawString(out algStart, out algLength))
            {
                p = Pos;
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
                Pos = p;
                if (!RawString(out valueStart, out valueLength))
                {
                    return false;
                }

                p = Pos; // the scan stopped at a byte inside the string that is not a hex digit
            }

            p = SkipWsFrom(p);
            if (p >= n || b[p] != '}')
            {
                return false;
            }

            Pos = p + 1;
            return true;
        }
    }
}

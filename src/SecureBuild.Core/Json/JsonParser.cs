using System.Text;

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
    public const int MaxDepth = 256;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static JsonNode Parse(byte[] utf8)
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
    public static JsonNode ParseGenerated(byte[] utf8)
    {
        if (utf8 is null)
        {
            throw new ArgumentNullException(nameof(utf8));
        }

        return new Reader(utf8, lenient: true).ParseDocument();
    }

    public static JsonNode Parse(string text)
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

    private sealed class Reader
    {
        private readonly byte[] _b;
        private readonly bool _lenient;
        private int _pos;

        public Reader(byte[] bytes, bool lenient)
        {
            _b = bytes;
            _lenient = lenient;
        }

        public JsonNode ParseDocument()
        {
            bool bom = _b.Length >= 3 && _b[0] == 0xEF && _b[1] == 0xBB && _b[2] == 0xBF;
            if (bom && _lenient)
            {
                _pos = 3;
            }
            else if (bom)
            {
                throw Error("a UTF-8 byte order mark (BOM) is not allowed at the start of the document", 0);
            }

            SkipWhitespace();
            if (_pos >= _b.Length)
            {
                throw Error("unexpected end of input: the document is empty, expected a JSON value", _pos);
            }

            var value = ParseValue(0);
            SkipWhitespace();
            if (_pos < _b.Length)
            {
                throw Error($"trailing content after the JSON value: {Describe(_pos)}", _pos);
            }

            return value;
        }

        private JsonNode ParseValue(int depth)
        {
            if (_pos >= _b.Length)
            {
                throw Error("unexpected end of input: expected a JSON value", _pos);
            }

            byte c = _b[_pos];
            switch (c)
            {
                case (byte)'{':
                    return ParseObject(depth + 1);
                case (byte)'[':
                    return ParseArray(depth + 1);
                case (byte)'"':
                    return new JsonString(ParseString());
                case (byte)'t':
                    ExpectLiteral("true");
                    return JsonBool.True;
                case (byte)'f':
                    ExpectLiteral("false");
                    return JsonBool.False;
                case (byte)'n':
                    ExpectLiteral("null");
                    return JsonNull.Instance;
                default:
                    if (c == '-' || (c >= '0' && c <= '9'))
                    {
                        return ParseNumber();
                    }

                    throw Error($"expected a JSON value but found {Describe(_pos)}", _pos);
            }
        }

        private JsonObject ParseObject(int depth)
        {
            int start = _pos;
            if (depth > MaxDepth)
            {
                throw Error($"nesting is deeper than {MaxDepth} levels", start);
            }

            _pos++; // '{'
            var obj = new JsonObject();
            SkipWhitespace();
            if (Peek() == '}')
            {
                _pos++;
                return obj;
            }

            while (true)
            {
                SkipWhitespace();
                if (_pos >= _b.Length)
                {
                    throw Error($"unexpected end of input: unterminated object (opened at byte offset {start})", _pos);
                }

                if (_b[_pos] != '"')
                {
                    throw Error($"expected a string object key but found {Describe(_pos)}", _pos);
                }

                int keyPos = _pos;
                string key = ParseString();
                SkipWhitespace();
                if (_pos >= _b.Length)
                {
                    throw Error($"unexpected end of input: unterminated object (opened at byte offset {start})", _pos);
                }

                if (_b[_pos] != ':')
                {
                    throw Error($"expected ':' after an object key but found {Describe(_pos)}", _pos);
                }

                _pos++;
                SkipWhitespace();
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
                SkipWhitespace();
                if (_pos >= _b.Length)
                {
                    throw Error($"unexpected end of input: unterminated object (opened at byte offset {start})", _pos);
                }

                byte c = _b[_pos];
                if (c == ',')
                {
                    _pos++;
                    continue;
                }

                if (c == '}')
                {
                    _pos++;
                    return obj;
                }

                throw Error($"expected ',' or '}}' in an object but found {Describe(_pos)}", _pos);
            }
        }

        private JsonArray ParseArray(int depth)
        {
            int start = _pos;
            if (depth > MaxDepth)
            {
                throw Error($"nesting is deeper than {MaxDepth} levels", start);
            }

            _pos++; // '['
            var array = new JsonArray();
            SkipWhitespace();
            if (Peek() == ']')
            {
                _pos++;
                return array;
            }

            while (true)
            {
                SkipWhitespace();
                if (_pos >= _b.Length)
                {
                    throw Error($"unexpected end of input: unterminated array (opened at byte offset {start})", _pos);
                }

                array.Add(ParseValue(depth));
                SkipWhitespace();
                if (_pos >= _b.Length)
                {
                    throw Error($"unexpected end of input: unterminated array (opened at byte offset {start})", _pos);
                }

                byte c = _b[_pos];
                if (c == ',')
                {
                    _pos++;
                    continue;
                }

                if (c == ']')
                {
                    _pos++;
                    return array;
                }

                throw Error($"expected ',' or ']' in an array but found {Describe(_pos)}", _pos);
            }
        }

        private string ParseString()
        {
            int start = _pos;
            _pos++; // opening quote
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos >= _b.Length)
                {
                    throw Error($"unexpected end of input: unterminated string (opened at byte offset {start})", _pos);
                }

                byte c = _b[_pos];
                if (c == '"')
                {
                    _pos++;
                    return sb.ToString();
                }

                if (c == '\\')
                {
                    ParseEscape(sb);
                    continue;
                }

                if (c < 0x20)
                {
                    throw Error($"control character U+{c:X4} inside a string must be escaped", _pos);
                }

                if (c < 0x80)
                {
                    sb.Append((char)c);
                    _pos++;
                    continue;
                }

                DecodeUtf8(sb);
            }
        }

        private void ParseEscape(StringBuilder sb)
        {
            int escPos = _pos;
            _pos++; // backslash
            if (_pos >= _b.Length)
            {
                throw Error("unexpected end of input inside an escape sequence", _pos);
            }

            byte e = _b[_pos++];
            switch (e)
            {
                case (byte)'"': sb.Append('"'); return;
                case (byte)'\\': sb.Append('\\'); return;
                case (byte)'/': sb.Append('/'); return;
                case (byte)'b': sb.Append('\b'); return;
                case (byte)'f': sb.Append('\f'); return;
                case (byte)'n': sb.Append('\n'); return;
                case (byte)'r': sb.Append('\r'); return;
                case (byte)'t': sb.Append('\t'); return;
                case (byte)'u':
                    break;
                default:
                    // Do not echo the character: strings may hold secrets (key files).
                    throw Error("invalid escape sequence in a string (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", escPos);
            }

            int unit = ReadHex4(escPos);
            if (unit >= 0xD800 && unit <= 0xDBFF)
            {
                // A high surrogate must be followed by an escaped low surrogate.
                if (_pos + 1 < _b.Length && _b[_pos] == '\\' && _b[_pos + 1] == 'u')
                {
                    int lowPos = _pos;
                    _pos += 2;
                    int low = ReadHex4(lowPos);
                    if (low >= 0xDC00 && low <= 0xDFFF)
                    {
                        sb.Append((char)unit).Append((char)low);
                        return;
                    }

                    throw Error("lone high surrogate in a \\u escape (not followed by a low surrogate)", escPos);
                }

                throw Error("lone high surrogate in a \\u escape (not followed by a low surrogate)", escPos);
            }

            if (unit >= 0xDC00 && unit <= 0xDFFF)
            {
                throw Error("lone low surrogate in a \\u escape (no preceding high surrogate)", escPos);
            }

            sb.Append((char)unit);
        }

        private int ReadHex4(int escPos)
        {
            if (_pos + 4 > _b.Length)
            {
                throw Error("unexpected end of input inside a \\u escape", _pos);
            }

            int v = 0;
            for (int i = 0; i < 4; i++)
            {
                byte h = _b[_pos + i];
                int d = h >= '0' && h <= '9' ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                    : -1;
                if (d < 0)
                {
                    throw Error("invalid \\u escape: expected 4 hex digits", escPos);
                }

                v = (v << 4) | d;
            }

            _pos += 4;
            return v;
        }

        private void DecodeUtf8(StringBuilder sb)
        {
            int p = _pos;
            byte b0 = _b[p];
            int need;
            int cp;
            byte lo = 0x80;
            byte hi = 0xBF;
            if (b0 >= 0xC2 && b0 <= 0xDF)
            {
                need = 1;
                cp = b0 & 0x1F;
            }
            else if (b0 >= 0xE0 && b0 <= 0xEF)
            {
                need = 2;
                cp = b0 & 0x0F;
                if (b0 == 0xE0)
                {
                    lo = 0xA0; // no overlong forms
                }
                else if (b0 == 0xED)
                {
                    hi = 0x9F; // no encoded surrogates
                }
            }
            else if (b0 >= 0xF0 && b0 <= 0xF4)
            {
                need = 3;
                cp = b0 & 0x07;
                if (b0 == 0xF0)
                {
                    lo = 0x90;
                }
                else if (b0 == 0xF4)
                {
                    hi = 0x8F; // nothing above U+10FFFF
                }
            }
            else
            {
                throw Error($"invalid UTF-8: byte 0x{b0:X2} cannot start a character", p);
            }

            for (int i = 1; i <= need; i++)
            {
                if (p + i >= _b.Length)
                {
                    throw Error("invalid UTF-8: truncated multi-byte character at end of input", p);
                }

                byte bi = _b[p + i];
                byte min = i == 1 ? lo : (byte)0x80;
                byte max = i == 1 ? hi : (byte)0xBF;
                if (bi < min || bi > max)
                {
                    throw Error($"invalid UTF-8: unexpected byte 0x{bi:X2} in a multi-byte character", p + i);
                }

                cp = (cp << 6) | (bi & 0x3F);
            }

            _pos = p + need + 1;
            if (cp >= 0x10000)
            {
                cp -= 0x10000;
                sb.Append((char)(0xD800 + (cp >> 10))).Append((char)(0xDC00 + (cp & 0x3FF)));
            }
            else
            {
                sb.Append((char)cp);
            }
        }

        private JsonNumber ParseNumber()
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
                SkipDigits();
            }
            else
            {
                throw Error($"invalid number: expected a digit but found {Describe(_pos)}", _pos);
            }

            if (_pos < _b.Length && _b[_pos] == '.')
            {
                _pos++;
                if (SkipDigits() == 0)
                {
                    throw Error("invalid number: expected a digit after the decimal point", _pos);
                }
            }

            if (_pos < _b.Length && (_b[_pos] == 'e' || _b[_pos] == 'E'))
            {
                _pos++;
                if (_pos < _b.Length && (_b[_pos] == '+' || _b[_pos] == '-'))
                {
                    _pos++;
                }

                if (SkipDigits() == 0)
                {
                    throw Error("invalid number: expected a digit in the exponent", _pos);
                }
            }

            string raw = Encoding.ASCII.GetString(_b, start, _pos - start);
            return new JsonNumber(raw);
        }

        private int SkipDigits()
        {
            int start = _pos;
            while (_pos < _b.Length && _b[_pos] >= '0' && _b[_pos] <= '9')
            {
                _pos++;
            }

            return _pos - start;
        }

        private void ExpectLiteral(string literal)
        {
            int start = _pos;
            for (int i = 0; i < literal.Length; i++)
            {
                if (_pos + i >= _b.Length)
                {
                    throw Error($"unexpected end of input inside the literal '{literal}'", _pos + i);
                }

                if (_b[_pos + i] != literal[i])
                {
                    throw Error($"invalid literal (expected '{literal}')", start);
                }
            }

            _pos += literal.Length;
        }

        private int Peek() => _pos < _b.Length ? _b[_pos] : -1;

        private void SkipWhitespace()
        {
            while (_pos < _b.Length)
            {
                byte c = _b[_pos];
                if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
                {
                    _pos++;
                }
                else
                {
                    break;
                }
            }
        }

        // Describes a byte outside strings (structural position), so echoing it leaks nothing.
        private string Describe(int pos)
        {
            if (pos >= _b.Length)
            {
                return "end of input";
            }

            byte c = _b[pos];
            if (c > 0x20 && c < 0x7F)
            {
                return $"'{(char)c}'";
            }

            return $"byte 0x{c:X2}";
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
            int line = 1;
            int lineStart = 0;
            int end = Math.Min(offset, _b.Length);
            for (int i = 0; i < end; i++)
            {
                if (_b[i] == '\n')
                {
                    line++;
                    lineStart = i + 1;
                }
            }

            return new JsonFormatException(reason, offset, line, offset - lineStart + 1);
        }
    }
}

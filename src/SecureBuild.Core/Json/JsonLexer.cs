using System.Runtime.CompilerServices;
using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Internal;

namespace SecureBuild.Core.Json;

/// <summary>
/// The one JSON tokenizer: strict RFC 8259 scanning over UTF-8 bytes, under every <see cref="JsonParser"/> entry
/// (<see cref="JsonParser.Parse(byte[])"/>, <see cref="JsonParser.ParseGenerated(byte[])"/> and the verifier's
/// <see cref="JsonParser.ParseSigned(byte[])"/>). It rejects a
/// byte order mark (unless the caller allows one), invalid UTF-8 (overlong forms, encoded surrogates, anything above
/// U+10FFFF), raw control characters in strings, invalid escapes, lone surrogates in <c>\u</c> escapes, numbers
/// outside the RFC grammar (leading zeros, a bare <c>-</c>, <c>.5</c>, <c>1.</c>, NaN, Infinity), bad literals and
/// nesting deeper than <see cref="MaxDepth"/>. Errors are <see cref="JsonFormatException"/>s with line, column and
/// byte offset, and never echo string content (strings may hold secrets).
/// <para>
/// Hand-written, not <c>System.Text.Json</c>'s <c>Utf8JsonReader</c>: Core targets netstandard2.0, where
/// System.Text.Json is a package that would have to load into Visual Studio's .NET Framework MSBuild beside the copy
/// MSBuild itself carries; and the reader would not give the strictness the in-toto and Sigstore parsers need
/// without a second pass anyway (it does not reject duplicate keys, reports an escaped lone surrogate only when the
/// string is decoded, and does not hand out the verbatim slices the canonical writer copies).
/// </para>
/// </summary>
internal abstract class JsonLexer
{
    /// <summary>Maximum nesting of arrays/objects. 256 levels parse, 257 do not.</summary>
    public const int MaxDepth = 256;

    /// <summary>The document.</summary>
    protected readonly byte[] B;

    /// <summary>The next byte to read.</summary>
    protected int Pos;

    protected JsonLexer(byte[] bytes)
    {
        B = bytes;
    }

    /// <summary>Moves past a UTF-8 byte order mark when <paramref name="allowed"/>; else a BOM is an error.</summary>
    protected void SkipByteOrderMark(bool allowed)
    {
        bool bom = B.Length >= 3 && B[0] == 0xEF && B[1] == 0xBB && B[2] == 0xBF;
        if (bom && allowed)
        {
            Pos = 3;
        }
        else if (bom)
        {
            throw Error("a UTF-8 byte order mark (BOM) is not allowed at the start of the document", 0);
        }
    }

    /// <summary>After the BOM: fails on an empty document (only whitespace).</summary>
    protected void ExpectValueAhead()
    {
        SkipWs();
        if (Pos >= B.Length)
        {
            throw Error("unexpected end of input: the document is empty, expected a JSON value", Pos);
        }
    }

    /// <summary>After the top-level value: only whitespace may follow.</summary>
    protected void ExpectEnd()
    {
        SkipWs();
        if (Pos < B.Length)
        {
            throw Error($"trailing content after the JSON value: {Describe(Pos)}", Pos);
        }
    }

    /// <summary>At '{' or '[' of nesting level <paramref name="depth"/>: fails when it is too deep.</summary>
    protected void CheckDepth(int depth)
    {
        if (depth > MaxDepth)
        {
            throw Error($"nesting is deeper than {MaxDepth} levels", Pos);
        }
    }

    /// <summary>Inside an object or array opened at <paramref name="open"/>: fails at the end of input.</summary>
    protected void ExpectMore(int open, string container)
    {
        if (Pos >= B.Length)
        {
            throw Error($"unexpected end of input: unterminated {container} (opened at byte offset {open})", Pos);
        }
    }

    /// <summary>At an object member: fails unless a string key starts here.</summary>
    protected void ExpectKey(int open)
    {
        ExpectMore(open, "object");
        if (B[Pos] != '"')
        {
            throw Error($"expected a string object key but found {Describe(Pos)}", Pos);
        }
    }

    /// <summary>After an object key (and whitespace): consumes the ':' and the whitespace after it.</summary>
    protected void ExpectColon(int open)
    {
        ExpectMore(open, "object");
        if (B[Pos] != ':')
        {
            throw Error($"expected ':' after an object key but found {Describe(Pos)}", Pos);
        }

        Pos++;
        SkipWs();
    }

    /// <summary>After a member or element (and whitespace): true at ',', false at <paramref name="close"/>, both consumed.</summary>
    protected bool NextOrClose(int open, byte close, string container)
    {
        ExpectMore(open, container);
        byte c = B[Pos];
        if (c == ',')
        {
            Pos++;
            return true;
        }

        if (c == close)
        {
            Pos++;
            return false;
        }

        throw Error($"expected ',' or '{(char)close}' in an {container} but found {Describe(Pos)}", Pos);
    }

    /// <summary>At a byte that starts no JSON value.</summary>
    protected JsonFormatException NotAValue() =>
        Pos >= B.Length
            ? Error("unexpected end of input: expected a JSON value", Pos)
            : Error($"expected a JSON value but found {Describe(Pos)}", Pos);

    protected int Peek() => Pos < B.Length ? B[Pos] : -1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected int SkipWsFrom(int p)
    {
        var b = B;
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
    protected void SkipWs() => Pos = SkipWsFrom(Pos);

    /// <summary>
    /// Validates the string at <see cref="Pos"/> (its opening quote) and moves past its closing quote.
    /// <paramref name="escaped"/>: it holds at least one escape (so its bytes are not its value).
    /// </summary>
    [MethodImpl(Jit.AggressiveOptimization)]
    protected void ScanString(out bool escaped)
    {
        int open = Pos;
        int i = Pos + 1;
        escaped = false;
        var b = B;
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
                Pos = i + 1;
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

    /// <summary>A string without escapes at <see cref="Pos"/> (validated like any); false, and no move, if there is none or it has an escape.</summary>
    protected bool RawString(out int start, out int length)
    {
        start = length = 0;
        if (Pos >= B.Length || B[Pos] != '"')
        {
            return false;
        }

        int at = Pos;
        ScanString(out bool escaped);
        if (escaped)
        {
            Pos = at;
            return false;
        }

        start = at + 1;
        length = Pos - at - 2;
        return true;
    }

    /// <summary>Validates the number at <see cref="Pos"/> and moves past it. True when it has no fraction and no exponent.</summary>
    [MethodImpl(Jit.AggressiveOptimization)]
    protected bool ScanNumber()
    {
        int start = Pos;
        if (B[Pos] == '-')
        {
            Pos++;
        }

        if (Pos >= B.Length)
        {
            throw Error("unexpected end of input inside a number", Pos);
        }

        if (B[Pos] == '0')
        {
            Pos++;
            if (Pos < B.Length && B[Pos] >= '0' && B[Pos] <= '9')
            {
                throw Error("numbers must not have leading zeros", start);
            }
        }
        else if (B[Pos] >= '1' && B[Pos] <= '9')
        {
            Digits();
        }
        else
        {
            throw Error($"invalid number: expected a digit but found {Describe(Pos)}", Pos);
        }

        bool integer = true;
        if (Pos < B.Length && B[Pos] == '.')
        {
            integer = false;
            Pos++;
            if (Digits() == 0)
            {
                throw Error("invalid number: expected a digit after the decimal point", Pos);
            }
        }

        if (Pos < B.Length && (B[Pos] == 'e' || B[Pos] == 'E'))
        {
            integer = false;
            Pos++;
            if (Pos < B.Length && (B[Pos] == '+' || B[Pos] == '-'))
            {
                Pos++;
            }

            if (Digits() == 0)
            {
                throw Error("invalid number: expected a digit in the exponent", Pos);
            }
        }

        return integer;
    }

    /// <summary>Consumes <paramref name="literal"/> (true, false, null) at <see cref="Pos"/>.</summary>
    protected void ExpectLiteral(string literal)
    {
        int start = Pos;
        for (int i = 0; i < literal.Length; i++)
        {
            if (Pos + i >= B.Length)
            {
                throw Error($"unexpected end of input inside the literal '{literal}'", Pos + i);
            }

            if (B[Pos + i] != literal[i])
            {
                throw Error($"invalid literal (expected '{literal}')", start);
            }
        }

        Pos += literal.Length;
    }

    /// <summary>The value of a scanned string's content <c>b[start..start+length)</c>.</summary>
    internal static string DecodeString(byte[] b, int start, int length, bool escaped) =>
        escaped ? DecodeEscaped(b, start, length) : Encoding.UTF8.GetString(b, start, length);

    /// <summary>The value of scanned string content that holds escapes (already validated by <see cref="ScanString"/>).</summary>
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
                default: // 'u', validated by the scan
                    sb.Append((char)Hex4(b, i));
                    i += 4;
                    break;
            }
        }

        return sb.ToString();
    }

    /// <summary>A key or other string for a message: at most 80 characters, control characters as '?'.</summary>
    protected static string Printable(string s)
    {
        var sb = new StringBuilder();
        foreach (char c in s.Length > 80 ? s.Substring(0, 80) + "..." : s)
        {
            sb.Append(c < 0x20 || c == 0x7F ? '?' : c);
        }

        return sb.ToString();
    }

    /// <summary>An error at <paramref name="offset"/>, with its line and column.</summary>
    protected JsonFormatException Error(string reason, int offset)
    {
        int line = 1;
        int lineStart = 0;
        int end = Math.Min(offset, B.Length);
        for (int i = 0; i < end; i++)
        {
            if (B[i] == '\n')
            {
                line++;
                lineStart = i + 1;
            }
        }

        return new JsonFormatException(reason, offset, line, offset - lineStart + 1);
    }

    // Describes a byte outside strings (structural position), so echoing it leaks nothing.
    private string Describe(int pos)
    {
        if (pos >= B.Length)
        {
            return "end of input";
        }

        byte c = B[pos];
        if (c > 0x20 && c < 0x7F)
        {
            return $"'{(char)c}'";
        }

        return $"byte 0x{c:X2}";
    }

    private int Digits()
    {
        int s = Pos;
        while (Pos < B.Length && B[Pos] >= '0' && B[Pos] <= '9')
        {
            Pos++;
        }

        return Pos - s;
    }

    // Validates one escape at i (the backslash); returns the index after it.
    [MethodImpl(Jit.AggressiveOptimization)]
    private int Escape(int i)
    {
        if (i + 1 >= B.Length)
        {
            throw Error("unexpected end of input inside an escape sequence", i + 1);
        }

        switch (B[i + 1])
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
                // Do not echo the character: strings may hold secrets (key files).
                throw Error("invalid escape sequence in a string (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", i);
        }

        int unit = UnicodeEscape(i);
        if (unit >= 0xD800 && unit <= 0xDBFF)
        {
            // A high surrogate must be followed by an escaped low surrogate.
            int next = i + 6;
            if (next + 1 < B.Length && B[next] == '\\' && B[next + 1] == 'u')
            {
                int low = UnicodeEscape(next);
                if (low >= 0xDC00 && low <= 0xDFFF)
                {
                    return next + 6;
                }
            }

            throw Error("lone high surrogate in a \\u escape (not followed by a low surrogate)", i);
        }

        if (unit >= 0xDC00 && unit <= 0xDFFF)
        {
            throw Error("lone low surrogate in a \\u escape (no preceding high surrogate)", i);
        }

        return i + 6;
    }

    // The code unit of the \uXXXX escape at i (the backslash).
    private int UnicodeEscape(int i)
    {
        if (i + 6 > B.Length)
        {
            throw Error("unexpected end of input inside a \\u escape", i + 2);
        }

        int unit = Hex4(B, i + 2);
        if (unit < 0)
        {
            throw Error("invalid \\u escape: expected 4 hex digits", i);
        }

        return unit;
    }

    private static int Hex4(byte[] b, int at)
    {
        int v = 0;
        for (int k = 0; k < 4; k++)
        {
            int d = Hex.ValueOf(b[at + k]);
            if (d < 0)
            {
                return -1;
            }

            v = (v << 4) | d;
        }

        return v;
    }

    // Validates one multi-byte UTF-8 character at i; returns the index after it. Overlong forms, encoded surrogates
    // and anything above U+10FFFF are invalid.
    [MethodImpl(Jit.AggressiveOptimization)]
    private int Utf8(int i)
    {
        byte b0 = B[i];
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
            throw Error($"invalid UTF-8: byte 0x{b0:X2} cannot start a character", i);
        }

        for (int k = 1; k <= need; k++)
        {
            if (i + k >= B.Length)
            {
                throw Error("invalid UTF-8: truncated multi-byte character at end of input", i);
            }

            byte bk = B[i + k];
            if (bk < (k == 1 ? lo : 0x80) || bk > (k == 1 ? hi : 0xBF))
            {
                throw Error($"invalid UTF-8: unexpected byte 0x{bk:X2} in a multi-byte character", i + k);
            }
        }

        return i + need + 1;
    }
}

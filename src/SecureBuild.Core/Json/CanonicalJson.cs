namespace SecureBuild.Core.Json;

/// <summary>
/// securesystemslib <c>encode_canonical</c> (OLPC canonical JSON), the bytes in-toto signs:
/// object keys sorted by Unicode code point, no whitespace, only <c>\</c> and <c>"</c> escaped, every other
/// character (control characters and non-ASCII included) written raw as UTF-8, integers only.
/// </summary>
public static class CanonicalJson
{
    /// <exception cref="JsonFormatException">A non-integer number, or a string with a lone surrogate.</exception>
    public static byte[] Serialize(JsonNode node)
    {
        if (node is null)
        {
            throw new ArgumentNullException(nameof(node));
        }

        var output = new MemoryStream();
        Write(node, output, "$");
        return output.ToArray();
    }

    private static void Write(JsonNode node, MemoryStream o, string path)
    {
        switch (node)
        {
            case JsonObject obj:
                o.WriteByte((byte)'{');
                bool first = true;
                foreach (var kv in obj.OrderBy(kv => kv.Key, CodePointComparer.Instance))
                {
                    if (!first)
                    {
                        o.WriteByte((byte)',');
                    }

                    first = false;
                    WriteString(kv.Key, o, path);
                    o.WriteByte((byte)':');
                    Write(kv.Value, o, path + "." + kv.Key);
                }

                o.WriteByte((byte)'}');
                break;
            case JsonArray array:
                o.WriteByte((byte)'[');
                for (int i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        o.WriteByte((byte)',');
                    }

                    Write(array[i], o, path + "[" + i + "]");
                }

                o.WriteByte((byte)']');
                break;
            case JsonString s:
                WriteString(s.Value, o, path);
                break;
            case JsonNumber n:
                if (!n.IsInteger)
                {
                    throw new JsonFormatException(
                        $"Canonical JSON allows integers only, but {path} is the non-integer number {n.RawText}.");
                }

                // Python parses "-0" to the int 0.
                string digits = n.RawText == "-0" ? "0" : n.RawText;
                foreach (char c in digits)
                {
                    o.WriteByte((byte)c);
                }

                break;
            case JsonBool b:
                WriteAscii(b.Value ? "true" : "false", o);
                break;
            case JsonNull:
                WriteAscii("null", o);
                break;
            default:
                throw new JsonFormatException($"Unknown JSON node type {node.GetType().Name} at {path}.");
        }
    }

    private static void WriteAscii(string s, MemoryStream o)
    {
        foreach (char c in s)
        {
            o.WriteByte((byte)c);
        }
    }

    private static void WriteString(string s, MemoryStream o, string path)
    {
        o.WriteByte((byte)'"');
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '"' || c == '\\')
            {
                o.WriteByte((byte)'\\');
                o.WriteByte((byte)c);
            }
            else if (c < 0x80)
            {
                o.WriteByte((byte)c);
            }
            else if (c < 0x800)
            {
                o.WriteByte((byte)(0xC0 | (c >> 6)));
                o.WriteByte((byte)(0x80 | (c & 0x3F)));
            }
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                int cp = char.ConvertToUtf32(c, s[i + 1]);
                i++;
                o.WriteByte((byte)(0xF0 | (cp >> 18)));
                o.WriteByte((byte)(0x80 | ((cp >> 12) & 0x3F)));
                o.WriteByte((byte)(0x80 | ((cp >> 6) & 0x3F)));
                o.WriteByte((byte)(0x80 | (cp & 0x3F)));
            }
            else if (char.IsSurrogate(c))
            {
                throw new JsonFormatException(
                    $"Cannot encode a string at {path}: lone surrogate U+{(int)c:X4} at character index {i}.");
            }
            else
            {
                o.WriteByte((byte)(0xE0 | (c >> 12)));
                o.WriteByte((byte)(0x80 | ((c >> 6) & 0x3F)));
                o.WriteByte((byte)(0x80 | (c & 0x3F)));
            }
        }

        o.WriteByte((byte)'"');
    }
}

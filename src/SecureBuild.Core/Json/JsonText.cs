using System.Text;
using SecureBuild.Core.Crypto;

namespace SecureBuild.Core.Json;

/// <summary>
/// Readable JSON for files, like Python's <c>json.dumps(obj, indent=1, sort_keys=True)</c>: keys sorted by code
/// point, one space per indentation level, <c>", "</c>/<c>": "</c> separators, and every character outside
/// printable ASCII escaped (<c>\n</c>, <c>\u00fc</c>, surrogate pairs for astral characters), so the output is
/// pure ASCII.
/// </summary>
public static class JsonText
{
    /// <summary>JSON text. <paramref name="indented"/> = false gives the compact form without any whitespace.</summary>
    /// <exception cref="JsonFormatException">A string contains a lone surrogate.</exception>
    public static string Write(JsonItem node, bool indented = true)
    {
        if (node is null)
        {
            throw new ArgumentNullException(nameof(node));
        }

        var sb = new StringBuilder();
        WriteNode(node, sb, indented ? 0 : -1, sortKeys: true, pythonSeparators: false, new NodePath());
        return sb.ToString();
    }

    /// <summary><see cref="Write"/> as UTF-8 bytes (ASCII in fact), no BOM, with a trailing newline.</summary>
    public static byte[] WriteUtf8(JsonItem node, bool indented = true)
    {
        string text = Write(node, indented) + "\n";
        return Encoding.ASCII.GetBytes(text);
    }

    /// <summary>
    /// Python's default <c>json.dumps(obj)</c>: insertion order, <c>", "</c> and <c>": "</c> separators, one line.
    /// That is how securesystemslib writes its JSON key files.
    /// </summary>
    internal static string WritePythonDefault(JsonItem node)
    {
        var sb = new StringBuilder();
        WriteNode(node, sb, -1, sortKeys: false, pythonSeparators: true, new NodePath());
        return sb.ToString();
    }

    /// <summary>
    /// Where the writer is ("$.predicate.materials[3]"), kept as a stack of steps and spelled out only for an error
    /// message: building the string for every node made writing a large statement several times slower.
    /// </summary>
    private sealed class NodePath
    {
        private readonly List<(string? Key, int Index)> _steps = new();

        public void Push(string key) => _steps.Add((key, -1));

        public void Push(int index) => _steps.Add((null, index));

        public void Pop() => _steps.RemoveAt(_steps.Count - 1);

        public override string ToString()
        {
            var sb = new StringBuilder("$");
            foreach (var (key, index) in _steps)
            {
                if (key is not null)
                {
                    sb.Append('.').Append(key);
                }
                else
                {
                    sb.Append('[').Append(index.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append(']');
                }
            }

            return sb.ToString();
        }
    }

    // level < 0: single line.
    private static void WriteNode(JsonItem node, StringBuilder sb, int level, bool sortKeys, bool pythonSeparators, NodePath path)
    {
        switch (node)
        {
            case JsonMap obj:
                if (obj.Count == 0)
                {
                    sb.Append("{}");
                    return;
                }

                sb.Append('{');
                IEnumerable<KeyValuePair<string, JsonItem>> members = obj;
                if (sortKeys)
                {
                    var sorted = obj.ToArray();
                    Array.Sort(sorted, (a, b) => CodePointComparer.Instance.Compare(a.Key, b.Key));
                    members = sorted;
                }

                bool first = true;
                foreach (var kv in members)
                {
                    if (!first)
                    {
                        sb.Append(',');
                        if (level < 0 && pythonSeparators)
                        {
                            sb.Append(' ');
                        }
                    }

                    first = false;
                    NewLine(sb, level + 1, level);
                    path.Push(kv.Key);
                    WriteString(kv.Key, sb, path);
                    sb.Append(level >= 0 || pythonSeparators ? ": " : ":");
                    WriteNode(kv.Value, sb, level < 0 ? -1 : level + 1, sortKeys, pythonSeparators, path);
                    path.Pop();
                }

                NewLine(sb, level, level);
                sb.Append('}');
                return;
            case JsonList array:
                if (array.Count == 0)
                {
                    sb.Append("[]");
                    return;
                }

                sb.Append('[');
                for (int i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                        if (level < 0 && pythonSeparators)
                        {
                            sb.Append(' ');
                        }
                    }

                    NewLine(sb, level + 1, level);
                    path.Push(i);
                    WriteNode(array[i], sb, level < 0 ? -1 : level + 1, sortKeys, pythonSeparators, path);
                    path.Pop();
                }

                NewLine(sb, level, level);
                sb.Append(']');
                return;
            case JsonString s:
                WriteString(s.Value, sb, path);
                return;
            case JsonNumber n:
                sb.Append(n.RawText);
                return;
            case JsonBool b:
                sb.Append(b.Value ? "true" : "false");
                return;
            case JsonNull:
                sb.Append("null");
                return;
            default:
                throw new JsonFormatException($"Unknown JSON node type {node.GetType().Name} at {path}.");
        }
    }

    private static void NewLine(StringBuilder sb, int indent, int level)
    {
        if (level < 0)
        {
            return;
        }

        sb.Append('\n').Append(' ', indent);
    }

    private static void WriteString(string s, StringBuilder sb, NodePath path)
    {
        sb.Append('"');
        int run = 0; // start of the pending run of characters written as they are
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c >= 0x20 && c < 0x7F && c != '"' && c != '\\')
            {
                continue;
            }

            sb.Append(s, run, i - run);
            run = i + 1;
            switch (c)
            {
                case '"': sb.Append("\\\""); continue;
                case '\\': sb.Append("\\\\"); continue;
                case '\n': sb.Append("\\n"); continue;
                case '\r': sb.Append("\\r"); continue;
                case '\t': sb.Append("\\t"); continue;
                case '\b': sb.Append("\\b"); continue;
                case '\f': sb.Append("\\f"); continue;
            }

            if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                AppendEscape(sb, c);
                AppendEscape(sb, s[i + 1]);
                i++;
                run = i + 1;
                continue;
            }

            if (char.IsSurrogate(c))
            {
                throw new JsonFormatException(
                    $"Cannot write a string at {path}: lone surrogate U+{(int)c:X4} at character index {i}.");
            }

            AppendEscape(sb, c);
        }

        sb.Append(s, run, s.Length - run);
        sb.Append('"');
    }

    private static void AppendEscape(StringBuilder sb, char c)
    {
        sb.Append("\\u")
            .Append(Hex.Digit(c >> 12))
            .Append(Hex.Digit(c >> 8))
            .Append(Hex.Digit(c >> 4))
            .Append(Hex.Digit(c));
    }
}

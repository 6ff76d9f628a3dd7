using SecureBuild.Core.Json;

namespace SecureBuild.Core.Pipelines;

/// <summary>
/// Edits JSON as text so a user's file keeps its layout, member order, indentation and line ends: finds the members of
/// an object and inserts or replaces one. Hand-written on purpose: the DOM (<see cref="JsonParser"/>) validates the
/// document first, but writing it back would reformat the whole file. Works only on text the strict parser accepted.
/// </summary>
internal static class JsonTextEdit
{
    /// <summary>One member of an object: its key and where its key and value stand in the text.</summary>
    internal sealed class Member
    {
        public Member(string key, int keyStart, int valueStart, int valueEnd)
        {
            Key = key;
            KeyStart = keyStart;
            ValueStart = valueStart;
            ValueEnd = valueEnd;
        }

        public string Key { get; }

        public int KeyStart { get; }

        public int ValueStart { get; }

        /// <summary>One past the value's last character.</summary>
        public int ValueEnd { get; }
    }

    /// <summary>The index of the root value's first character.</summary>
    public static int RootStart(string text) => SkipSpace(text, text.Length > 0 && text[0] == '\uFEFF' ? 1 : 0);

    /// <summary>The members of the object whose '{' is at <paramref name="open"/>, and the index of its '}'.</summary>
    public static (List<Member> Members, int Close) Members(string text, int open)
    {
        var members = new List<Member>();
        int i = SkipSpace(text, open + 1);
        while (text[i] != '}')
        {
            int keyStart = i;
            int keyEnd = SkipString(text, i);
            var key = ((JsonString)JsonParser.Parse(System.Text.Encoding.UTF8.GetBytes(text.Substring(keyStart, keyEnd - keyStart)))).Value;
            i = SkipSpace(text, keyEnd) + 1; // ':'
            int valueStart = SkipSpace(text, i);
            int valueEnd = SkipValue(text, valueStart);
            members.Add(new Member(key, keyStart, valueStart, valueEnd));
            i = SkipSpace(text, valueEnd);
            if (text[i] == ',')
            {
                i = SkipSpace(text, i + 1);
            }
        }

        return (members, i);
    }

    /// <summary>
    /// Inserts <c>"key": value</c> as the last member of the object at <paramref name="open"/>, laid out like its
    /// siblings (one per line at their indentation, or on one line when the object is written on one line).
    /// <paramref name="value"/> is given as a function of the member's indentation, the file's indentation step and the
    /// line end (" " when the object is on one line) so nested objects line up.
    /// </summary>
    public static string InsertMember(string text, int open, string key, Func<string, string, string, string> value)
    {
        var (members, close) = Members(text, open);
        string nl = text.Contains("\r\n") ? "\r\n" : "\n";
        string outer = LineIndent(text, open);
        var quotedKey = JsonText.Write(new JsonString(key), indented: false);
        if (members.Count == 0)
        {
            string inner = outer + "  ";
            return text.Substring(0, open) + "{" + nl + inner + quotedKey + ": " + value(inner, "  ", nl) + nl + outer + "}" + text.Substring(close + 1);
        }

        var last = members[members.Count - 1];
        bool oneLine = text.IndexOf('\n', open, members[0].KeyStart - open) < 0;
        if (oneLine)
        {
            return text.Substring(0, last.ValueEnd) + ", " + quotedKey + ": " + value(string.Empty, string.Empty, " ") + text.Substring(last.ValueEnd);
        }

        string indent = LineIndent(text, members[0].KeyStart);
        string step = indent.Length > outer.Length && indent.StartsWith(outer, StringComparison.Ordinal) ? indent.Substring(outer.Length) : "  ";
        return text.Substring(0, last.ValueEnd) + "," + nl + indent + quotedKey + ": " + value(indent, step, nl) + text.Substring(last.ValueEnd);
    }

    /// <summary>Replaces a member's value text.</summary>
    public static string ReplaceValue(string text, Member member, string newValue) =>
        text.Substring(0, member.ValueStart) + newValue + text.Substring(member.ValueEnd);

    /// <summary>The spaces and tabs at the start of the line holding <paramref name="index"/>.</summary>
    internal static string LineIndent(string text, int index)
    {
        int start = text.LastIndexOf('\n', Math.Max(0, index - 1)) + 1;
        int end = start;
        while (end < text.Length && (text[end] == ' ' || text[end] == '\t'))
        {
            end++;
        }

        return text.Substring(start, end - start);
    }

    private static int SkipSpace(string text, int i)
    {
        while (i < text.Length && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n'))
        {
            i++;
        }

        return i;
    }

    private static int SkipString(string text, int i)
    {
        for (i++; text[i] != '"'; i++)
        {
            if (text[i] == '\\')
            {
                i++;
            }
        }

        return i + 1;
    }

    private static int SkipValue(string text, int i)
    {
        if (text[i] == '"')
        {
            return SkipString(text, i);
        }

        if (text[i] == '{' || text[i] == '[')
        {
            int depth = 0;
            for (; ; i++)
            {
                char c = text[i];
                if (c == '"')
                {
                    i = SkipString(text, i) - 1;
                }
                else if (c == '{' || c == '[')
                {
                    depth++;
                }
                else if ((c == '}' || c == ']') && --depth == 0)
                {
                    return i + 1;
                }
            }
        }

        while (i < text.Length && ",}] \t\r\n".IndexOf(text[i]) < 0)
        {
            i++;
        }

        return i;
    }
}

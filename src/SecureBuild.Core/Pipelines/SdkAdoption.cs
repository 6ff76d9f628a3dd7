using System.Text;
using System.Xml;
using System.Xml.Linq;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Pipelines;

/// <summary>The result of editing one file: its new text (null: the file needs no change) or why it was kept.</summary>
public sealed class FileEdit
{
    private FileEdit(string? text, string? keptCode, string? keptReason)
    {
        Text = text;
        KeptCode = keptCode;
        KeptReason = keptReason;
    }

    /// <summary>The new content, or null when nothing changes.</summary>
    public string? Text { get; }

    /// <summary>Set when the file needs a change init does not make without --force.</summary>
    public string? KeptCode { get; }

    public string? KeptReason { get; }

    public static FileEdit Unchanged { get; } = new(null, null, null);

    public static FileEdit Change(string text) => new(text, null, null);

    public static FileEdit Kept(string code, string reason) => new(null, code, reason);
}

/// <summary>
/// The two edits that adopt SecureBuild.Sdk repository-wide (the documented way, src/SecureBuild.Sdk/README.md): the
/// version in global.json's msbuild-sdks, and <c>&lt;Sdk Name="SecureBuild.Sdk" /&gt;</c> as the first element of the
/// root Directory.Build.props. Both keep every other byte of the user's file.
/// </summary>
public static class SdkAdoption
{
    public const string SdkName = "SecureBuild.Sdk";

    /// <summary>global.json with msbuild-sdks.SecureBuild.Sdk = <paramref name="version"/>; null text: no global.json yet.</summary>
    /// <exception cref="PipelineException">SB5401: not strict JSON, not an object, or msbuild-sdks not an object.</exception>
    public static FileEdit PinInGlobalJson(string? text, string version, bool force)
    {
        var quoted = JsonText.Write(new JsonString(version), indented: false);
        if (text is null)
        {
            return FileEdit.Change("{\n  \"msbuild-sdks\": {\n    \"" + SdkName + "\": " + quoted + "\n  }\n}\n");
        }

        JsonItem parsed;
        try
        {
            parsed = JsonParser.Parse(Encoding.UTF8.GetBytes(text));
        }
        catch (JsonFormatException e)
        {
            throw GlobalJson($"is not strict JSON ({e.Message})");
        }

        if (parsed is not JsonMap root)
        {
            throw GlobalJson("is not a JSON object");
        }

        int open = JsonTextEdit.RootStart(text);
        var (members, _) = JsonTextEdit.Members(text, open);
        var sdks = members.FirstOrDefault(m => m.Key == "msbuild-sdks");
        if (sdks is null)
        {
            return FileEdit.Change(JsonTextEdit.InsertMember(text, open, "msbuild-sdks",
                (indent, step, nl) => nl == " " ? "{ \"" + SdkName + "\": " + quoted + " }" : "{" + nl + indent + step + "\"" + SdkName + "\": " + quoted + nl + indent + "}"));
        }

        if (root["msbuild-sdks"] is not JsonMap sdkMap)
        {
            throw GlobalJson("has \"msbuild-sdks\" that is not an object");
        }

        var (sdkMembers, _) = JsonTextEdit.Members(text, sdks.ValueStart);
        var ours = sdkMembers.FirstOrDefault(m => m.Key == SdkName);
        if (ours is null)
        {
            return FileEdit.Change(JsonTextEdit.InsertMember(text, sdks.ValueStart, SdkName, (_, _, _) => quoted));
        }

        if (sdkMap[SdkName] is JsonString current && current.Value == version)
        {
            return FileEdit.Unchanged;
        }

        if (!force)
        {
            return FileEdit.Kept(PipelineCodes.SdkVersionDiffers,
                $"global.json pins {SdkName} to {(sdkMap[SdkName] is JsonString pinned ? pinned.Value : JsonItem.Describe(sdkMap[SdkName]))}, not {version} (this tool's version); kept. " +
                $"Run init with --force to pin {version}, or run the securebuild tool of the pinned version.");
        }

        return FileEdit.Change(JsonTextEdit.ReplaceValue(text, ours, quoted));
    }

    /// <summary>Directory.Build.props with the SDK adopted; null text: no file yet.</summary>
    /// <exception cref="PipelineException">SB5403: not well-formed XML, a DTD, or a root other than Project.</exception>
    public static FileEdit AdoptInDirectoryBuildProps(string? text)
    {
        if (text is null)
        {
            return FileEdit.Change("<Project>\n  <Sdk Name=\"" + SdkName + "\" />\n  <!-- SecureBuild* settings for the whole repository go here, after the Sdk line -->\n</Project>\n");
        }

        XDocument doc;
        try
        {
            doc = XmlInput.Parse(Encoding.UTF8.GetBytes(text));
        }
        catch (XmlException e)
        {
            throw Props($"is not well-formed XML ({e.Message})");
        }

        var project = doc.Root;
        if (project is null || project.Name.LocalName != "Project")
        {
            throw Props("has no <Project> root element");
        }

        if (Adopted(project))
        {
            return FileEdit.Unchanged;
        }

        int open = ProjectStartTag(text, out bool selfClosing, out int tagEnd);
        string nl = text.Contains("\r\n") ? "\r\n" : "\n";
        string outer = JsonTextEdit.LineIndent(text, open);
        string line = "<Sdk Name=\"" + SdkName + "\" />";
        if (selfClosing)
        {
            int slash = text.LastIndexOf('/', tagEnd - 1);
            return FileEdit.Change(text.Substring(0, slash).TrimEnd() + ">" + nl + outer + "  " + line + nl + outer + "</Project>" + text.Substring(tagEnd + 1));
        }

        // Indent like the first child element when it starts on the next line; else two spaces more than <Project>.
        string indent = outer + "  ";
        int next = tagEnd + 1;
        int lineBreak = text.IndexOf('\n', next);
        if (lineBreak >= 0 && text.Substring(next, lineBreak - next).Trim().Length == 0)
        {
            int s = lineBreak + 1, e = s;
            while (e < text.Length && (text[e] == ' ' || text[e] == '\t'))
            {
                e++;
            }

            if (e > s && e < text.Length && text[e] == '<' && !text.Substring(e).StartsWith("</Project", StringComparison.Ordinal))
            {
                indent = text.Substring(s, e - s);
            }
        }

        return FileEdit.Change(text.Substring(0, tagEnd + 1) + nl + indent + line + text.Substring(tagEnd + 1));
    }

    /// <summary>Whether the project already imports SecureBuild.Sdk (an Sdk element, or the Project's Sdk attribute).</summary>
    private static bool Adopted(XElement project)
    {
        bool IsOurs(string? reference) => reference is not null && reference.Split(';')
            .Any(r => r.Trim().Split('/')[0].Trim().Equals(SdkName, StringComparison.OrdinalIgnoreCase));
        return IsOurs((string?)project.Attribute("Sdk")) ||
            project.Elements().Any(e => e.Name.LocalName == "Sdk" && IsOurs((string?)e.Attribute("Name")));
    }

    /// <summary>The index of "&lt;Project" and of the '&gt;' that ends its start tag (quotes honoured).</summary>
    private static int ProjectStartTag(string text, out bool selfClosing, out int tagEnd)
    {
        int i = 0;
        while (true)
        {
            i = text.IndexOf('<', i);
            if (text.Substring(i).StartsWith("<?", StringComparison.Ordinal))
            {
                i = text.IndexOf("?>", i, StringComparison.Ordinal) + 2;
            }
            else if (text.Substring(i).StartsWith("<!--", StringComparison.Ordinal))
            {
                i = text.IndexOf("-->", i, StringComparison.Ordinal) + 3;
            }
            else
            {
                break;
            }
        }

        int open = i;
        char quote = '\0';
        for (i = open + 1; ; i++)
        {
            char c = text[i];
            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
            }
            else if (c == '"' || c == '\'')
            {
                quote = c;
            }
            else if (c == '>')
            {
                break;
            }
        }

        tagEnd = i;
        selfClosing = text[i - 1] == '/';
        return open;
    }

    private static PipelineException GlobalJson(string what) =>
        new(PipelineCodes.GlobalJsonUnusable, $"global.json {what}; init edits it as text and only when it is strict JSON.",
            $"Fix global.json (comments and trailing commas are not accepted), or add \"msbuild-sdks\": {{ \"{SdkName}\": \"VERSION\" }} by hand.");

    private static PipelineException Props(string what) =>
        new(PipelineCodes.PropsUnusable, $"Directory.Build.props {what}.",
            $"Fix the file, or add <Sdk Name=\"{SdkName}\" /> as the first element of its <Project> by hand.");
}

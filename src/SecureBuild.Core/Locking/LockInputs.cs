using System.Text;
using System.Xml.Linq;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Locking;

/// <summary>A repository file the lock reads (global.json, the tool manifest, assets) is unusable.</summary>
public sealed class LockInputException : Exception
{
    public LockInputException(string message) : base(message)
    {
    }
}

/// <summary>global.json: the SDK pin and the msbuild-sdks section.</summary>
public static class GlobalJsonFile
{
    /// <summary>The nearest global.json at or above <paramref name="directory"/> (how the dotnet host finds it), or null.</summary>
    public static string? Find(string directory)
    {
        for (var dir = new DirectoryInfo(Path.GetFullPath(directory)); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "global.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>The pin in <paramref name="path"/>.</summary>
    public static GlobalJsonPin Read(string path)
    {
        var root = ParseObject(path);
        var pin = new GlobalJsonPin();
        if (root.TryGetValue("sdk", out var sdkNode) && sdkNode is JsonMap sdk)
        {
            pin.SdkVersion = sdk.TryGetValue("version", out var v) && v is JsonString vs ? vs.Value : null;
            pin.RollForward = sdk.TryGetValue("rollForward", out var r) && r is JsonString rs ? rs.Value : null;
            pin.AllowPrerelease = sdk.TryGetValue("allowPrerelease", out var p) && p is JsonBool pb ? pb.Value : null;
        }
        if (root.TryGetValue("msbuild-sdks", out var sdksNode) && sdksNode is JsonMap sdks)
        {
            foreach (var kv in sdks)
            {
                if (kv.Value is JsonString s)
                {
                    pin.MSBuildSdks[kv.Key] = s.Value;
                }
            }
        }
        return pin;
    }

    /// <summary>
    /// Pins the SDK in <paramref name="path"/> to exactly <paramref name="sdkVersion"/> with
    /// <c>rollForward: disable</c>, keeping every other member. Creates the file when missing.
    /// </summary>
    public static void PinSdk(string path, string sdkVersion)
    {
        var root = File.Exists(path) ? ParseObject(path) : new JsonMap();
        if (!root.TryGetValue("sdk", out var sdkNode) || sdkNode is not JsonMap sdk)
        {
            sdk = new JsonMap();
            root["sdk"] = sdk;
        }
        sdk["version"] = sdkVersion;
        sdk["rollForward"] = "disable";
        AtomicFile.WriteAllBytes(path, Encoding.UTF8.GetBytes(JsonText.Write(root, indented: true) + "\n"));
    }

    private static JsonMap ParseObject(string path)
    {
        try
        {
            return JsonParser.Parse(InputFile.ReadAllBytes(path, InputKind.Metadata)) as JsonMap ?? throw new LockInputException($"{path} is not a JSON object.");
        }
        catch (JsonFormatException e)
        {
            throw new LockInputException($"{path} cannot be read as strict JSON ({e.Message}). SecureBuild reads global.json to lock the SDK; remove comments or trailing commas.");
        }
    }
}

/// <summary>The local tool manifest (.config/dotnet-tools.json or dotnet-tools.json at the root).</summary>
public static class ToolManifestFile
{
    /// <summary>The manifest at the repository root, or null.</summary>
    public static string? Find(string rootDirectory)
    {
        foreach (var candidate in new[] { Path.Combine(rootDirectory, ".config", "dotnet-tools.json"), Path.Combine(rootDirectory, "dotnet-tools.json") })
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>The tools (lowercase id) of the manifest at <paramref name="path"/>.</summary>
    public static SortedDictionary<string, LockedTool> Read(string path)
    {
        JsonMap root;
        try
        {
            root = JsonParser.Parse(InputFile.ReadAllBytes(path, InputKind.Metadata)) as JsonMap ?? throw new LockInputException($"{path} is not a JSON object.");
        }
        catch (JsonFormatException e)
        {
            throw new LockInputException($"the tool manifest {path} is not valid JSON ({e.Message}).");
        }
        var tools = RepositoryLock.Sorted<LockedTool>();
        if (!root.TryGetValue("tools", out var toolsNode))
        {
            return tools;
        }
        if (toolsNode is not JsonMap toolsObject)
        {
            throw new LockInputException($"the tool manifest {path}: \"tools\" is not an object.");
        }
        foreach (var kv in toolsObject)
        {
            if (kv.Value is not JsonMap t || !t.TryGetValue("version", out var v) || v is not JsonString version)
            {
                throw new LockInputException($"the tool manifest {path}: tool {kv.Key} has no version.");
            }
            var tool = new LockedTool { Version = version.Value, RollForward = t.TryGetValue("rollForward", out var rf) && rf is JsonBool { Value: true } };
            if (t.TryGetValue("commands", out var c) && c is JsonList commands)
            {
                foreach (var command in commands.OfType<JsonString>())
                {
                    tool.Commands.Add(command.Value);
                }
            }
            tools[kv.Key.ToLowerInvariant()] = tool;
        }
        return tools;
    }
}

/// <summary>MSBuild SDKs a project file names with a version (<c>Sdk="Id/1.0"</c>, <c>&lt;Sdk Name Version&gt;</c>, <c>&lt;Import Sdk Version&gt;</c>).</summary>
public static class ProjectFileSdks
{
    public static IReadOnlyList<KeyValuePair<string, string>> Read(string projectFile)
    {
        var result = new List<KeyValuePair<string, string>>();
        XDocument document;
        try
        {
            document = XDocument.Load(new MemoryStream(InputFile.ReadAllBytes(projectFile, InputKind.Metadata)));
        }
        catch (Exception e) when (e is IOException || e is System.Xml.XmlException || e is UnauthorizedAccessException)
        {
            return result;
        }
        var root = document.Root;
        if (root is null)
        {
            return result;
        }
        foreach (var spec in ((string?)root.Attribute("Sdk") ?? "").Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries))
        {
            var slash = spec.IndexOf('/');
            if (slash > 0)
            {
                result.Add(new KeyValuePair<string, string>(spec.Substring(0, slash).Trim(), spec.Substring(slash + 1).Trim()));
            }
        }
        foreach (var element in root.Descendants().Where(e => e.Name.LocalName is "Sdk" or "Import"))
        {
            var name = (string?)element.Attribute(element.Name.LocalName == "Sdk" ? "Name" : "Sdk");
            var version = (string?)element.Attribute("Version");
            if (!string.IsNullOrWhiteSpace(name) && !string.IsNullOrWhiteSpace(version))
            {
                result.Add(new KeyValuePair<string, string>(name!.Trim(), version!.Trim()));
            }
        }
        return result;
    }
}

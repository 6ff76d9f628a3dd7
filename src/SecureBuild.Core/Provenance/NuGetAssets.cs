using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Provenance;

/// <summary>A NuGet package a project resolved, with NuGet's content hash (SHA-512 of the package without its signature).</summary>
public sealed class ResolvedPackage
{
    public ResolvedPackage(string id, string version, string? contentHashBase64, string? directory = null)
    {
        Id = id;
        Version = version;
        ContentHashBase64 = contentHashBase64;
        Directory = directory;
    }

    /// <summary>Where restore extracted the package (the assets file's first package folder and the library's path), when it says.</summary>
    public string? Directory { get; }

    public string Id { get; }
    public string Version { get; }

    /// <summary>NuGet's contentHash as NuGet writes it (base64 SHA-512).</summary>
    public string? ContentHashBase64 { get; }

    /// <summary>The content hash as lowercase hex, or null when the assets file had none or it was not base64.</summary>
    public string? ContentHashSha512Hex
    {
        get
        {
            if (ContentHashBase64 is null)
            {
                return null;
            }
            try
            {
                var bytes = Convert.FromBase64String(ContentHashBase64);
                return bytes.Length == 64 ? Hex.Encode(bytes) : null;
            }
            catch (FormatException)
            {
                return null;
            }
        }
    }

    /// <summary>The package URL (purl) of the package.</summary>
    public string Purl => $"pkg:nuget/{Id}@{Version}";
}

/// <summary>Reads the packages of a project.assets.json (what restore resolved).</summary>
public static class NuGetAssets
{
    /// <summary>Every package library in the assets file, sorted by id and version. Project references are left out.</summary>
    public static IReadOnlyList<ResolvedPackage> ReadPackages(string assetsFile)
    {
        if (JsonParser.ParseGenerated(InputFile.ReadAllBytes(assetsFile, InputKind.Assets)) is not JsonMap root)
        {
            throw new JsonFormatException($"{assetsFile}: the assets file is not a JSON object");
        }
        var result = new List<ResolvedPackage>();
        if (!root.TryGetValue("libraries", out var librariesNode) || librariesNode is not JsonMap libraries)
        {
            return result;
        }
        // The first package folder is the global packages folder restore extracted into; the others are fallbacks.
        var packageFolder = root.TryGetValue("packageFolders", out var folders) && folders is JsonMap folderMap ? folderMap.Select(f => f.Key).FirstOrDefault() : null;
        foreach (var library in libraries)
        {
            if (library.Value is not JsonMap details ||
                !details.TryGetValue("type", out var type) || type is not JsonString { Value: "package" })
            {
                continue;
            }
            var slash = library.Key.IndexOf('/');
            if (slash <= 0 || slash == library.Key.Length - 1)
            {
                continue;
            }
            var hash = details.TryGetValue("sha512", out var sha) && sha is JsonString s ? s.Value : null;
            var path = details.TryGetValue("path", out var p) && p is JsonString ps && ps.Value.Length > 0 && packageFolder is not null
                ? System.IO.Path.Combine(packageFolder, ps.Value)
                : null;
            result.Add(new ResolvedPackage(library.Key.Substring(0, slash), library.Key.Substring(slash + 1), hash, path));
        }
        return result.OrderBy(p => p.Id, StringComparer.OrdinalIgnoreCase).ThenBy(p => p.Version, StringComparer.Ordinal).ToList();
    }
}

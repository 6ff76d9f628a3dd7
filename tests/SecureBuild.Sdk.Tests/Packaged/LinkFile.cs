using System.Security.Cryptography;
using System.Text.Json;

namespace SecureBuild.Sdk.Tests.Packaged;

/// <summary>
/// A link's materials and products as name -> sha256, read with System.Text.Json (its signature is the other tests'
/// business): enough to ask whether a file with this name and these bytes was recorded. A file whose content names
/// this machine's paths (a generated .editorconfig, a .nuspec) is recorded by its hash with those paths mapped
/// ("sha256-pathmapped"): for it the name, relative to the root, has to match.
/// </summary>
public sealed class LinkFile
{
    private LinkFile(string path, IReadOnlyDictionary<string, string> materials, IReadOnlyDictionary<string, string> products)
    {
        Path = path;
        Materials = materials;
        Products = products;
    }

    public string Path { get; }

    public IReadOnlyDictionary<string, string> Materials { get; }

    public IReadOnlyDictionary<string, string> Products { get; }

    public static LinkFile Load(string path)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        var signed = document.RootElement.GetProperty("signed");
        return new LinkFile(path, Artifacts(path, signed.GetProperty("materials")), Artifacts(path, signed.GetProperty("products")));
    }

    /// <summary>True when <paramref name="artifacts"/> name a file called like <paramref name="file"/> with its content.</summary>
    public static bool Records(IReadOnlyDictionary<string, string> artifacts, string file)
    {
        var hash = Sha256(file);
        var name = System.IO.Path.GetFileName(file);
        var path = file.Replace('\\', '/');
        return artifacts.Any(a => a.Key.Split('/')[^1] == name &&
            (a.Value == hash || (a.Value.StartsWith(PathMapped, StringComparison.Ordinal) && path.EndsWith("/" + a.Key, StringComparison.Ordinal))));
    }

    private const string PathMapped = "pathmapped:";

    public static string Sha256(string file) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file))).ToLowerInvariant();

    private static Dictionary<string, string> Artifacts(string path, JsonElement map)
    {
        var artifacts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var artifact in map.EnumerateObject())
        {
            if (artifact.Value.TryGetProperty("sha256", out var hash))
            {
                artifacts[artifact.Name] = hash.GetString()!;
                continue;
            }
            Assert.That(artifact.Value.TryGetProperty("sha256-pathmapped", out var mapped), Is.True, $"{path}: {artifact.Name} has neither sha256 nor sha256-pathmapped ({artifact.Value})");
            artifacts[artifact.Name] = PathMapped + mapped.GetString();
        }
        return artifacts;
    }
}

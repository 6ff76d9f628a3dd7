using SecureBuild.Core.InToto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Recording;

/// <summary>Artifact maps (name -> {algorithm: hex}) to and from JSON.</summary>
internal static class ArtifactMapJson
{
    public static JsonMap ToJson(SortedDictionary<string, IReadOnlyDictionary<string, string>> map)
    {
        var result = new JsonMap();
        foreach (var artifact in map)
        {
            var digests = new JsonMap();
            foreach (var digest in artifact.Value.OrderBy(d => d.Key, StringComparer.Ordinal))
            {
                digests[digest.Key] = new JsonString(digest.Value);
            }
            result[artifact.Key] = digests;
        }
        return result;
    }

    public static SortedDictionary<string, IReadOnlyDictionary<string, string>> FromJson(JsonMap json)
    {
        var map = new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (var artifact in json)
        {
            if (artifact.Value is not JsonMap digests)
            {
                throw new InTotoFormatException($"artifact '{artifact.Key}' must map to an object of digests");
            }
            var d = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var digest in digests)
            {
                d[digest.Key] = digest.Value is JsonString s ? s.Value : throw new InTotoFormatException($"digest '{digest.Key}' of '{artifact.Key}' must be a string");
            }
            map[artifact.Key] = d;
        }
        return map;
    }
}

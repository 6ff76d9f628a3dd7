using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>
/// The "signed" part of a classic in-toto v0.9 link: exactly _type, name, command, materials, products,
/// byproducts and environment.
/// </summary>
public sealed class Link
{
    private string _name = "";
    private IReadOnlyList<string> _command = Array.Empty<string>();
    private SortedDictionary<string, IReadOnlyDictionary<string, string>> _materials = NewArtifactMap();
    private SortedDictionary<string, IReadOnlyDictionary<string, string>> _products = NewArtifactMap();
    private JsonMap _byproducts = new();
    private JsonMap _environment = new();

    public Link()
    {
    }

    public Link(string name)
    {
        Name = name;
    }

    /// <summary>Step (or inspection) name.</summary>
    public string Name
    {
        get => _name;
        set => _name = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>The command that ran (empty when nothing ran, like in-toto-run -x).</summary>
    public IReadOnlyList<string> Command
    {
        get => _command;
        set => _command = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Artifact path ("/" separated, relative) -> hash dict such as {"sha256": "&lt;hex&gt;"}.</summary>
    public SortedDictionary<string, IReadOnlyDictionary<string, string>> Materials
    {
        get => _materials;
        set => _materials = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <inheritdoc cref="Materials"/>
    public SortedDictionary<string, IReadOnlyDictionary<string, string>> Products
    {
        get => _products;
        set => _products = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Free-form; in-toto-run writes {"return-value": int, "stderr": str, "stdout": str}, or {} with -x.</summary>
    public JsonMap Byproducts
    {
        get => _byproducts;
        set => _byproducts = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>Free-form; {} from the in-toto CLI.</summary>
    public JsonMap Environment
    {
        get => _environment;
        set => _environment = value ?? throw new ArgumentNullException(nameof(value));
    }

    /// <summary>A new empty artifact map with ordinal key order.</summary>
    public static SortedDictionary<string, IReadOnlyDictionary<string, string>> NewArtifactMap() => new(StringComparer.Ordinal);

    /// <summary>The 7 link fields; none is ever dropped, even when empty. Byproducts/environment are deep-copied.</summary>
    public JsonMap ToJson() => new()
    {
        { "_type", "link" },
        { "byproducts", _byproducts.DeepClone() },
        { "command", StrictInTotoFields.ToJson(_command) },
        { "environment", _environment.DeepClone() },
        { "materials", ArtifactsToJson(_materials) },
        { "name", _name },
        { "products", ArtifactsToJson(_products) },
    };

    /// <summary>Strict: exactly the 7 fields with the right types and _type "link".</summary>
    /// <exception cref="InTotoFormatException">Wrong shape.</exception>
    public static Link FromJson(JsonMap signed)
    {
        if (signed is null)
        {
            throw new ArgumentNullException(nameof(signed));
        }

        const string path = "link";
        StrictInTotoFields.ExpectType(signed, path, "link");
        StrictInTotoFields.ExactFields(signed, path, "_type", "byproducts", "command", "environment", "materials", "name", "products");
        return new Link
        {
            Name = StrictInTotoFields.String(signed, "name", path),
            Command = StrictInTotoFields.StringList(signed, "command", path),
            Materials = ArtifactsFromJson(StrictInTotoFields.Object(signed, "materials", path), path + ".materials"),
            Products = ArtifactsFromJson(StrictInTotoFields.Object(signed, "products", path), path + ".products"),
            Byproducts = (JsonMap)StrictInTotoFields.Object(signed, "byproducts", path).DeepClone(),
            Environment = (JsonMap)StrictInTotoFields.Object(signed, "environment", path).DeepClone(),
        };
    }

    private static JsonMap ArtifactsToJson(SortedDictionary<string, IReadOnlyDictionary<string, string>> artifacts)
    {
        var result = new JsonMap();
        foreach (var artifact in artifacts)
        {
            var hashes = new JsonMap();
            foreach (var hash in artifact.Value.OrderBy(h => h.Key, StringComparer.Ordinal))
            {
                hashes.Add(hash.Key, hash.Value);
            }

            result.Add(artifact.Key, hashes);
        }

        return result;
    }

    private static SortedDictionary<string, IReadOnlyDictionary<string, string>> ArtifactsFromJson(JsonMap obj, string path)
    {
        var result = NewArtifactMap();
        foreach (var kv in obj)
        {
            result.Add(kv.Key, StrictInTotoFields.HashDict(kv.Value, $"{path}[\"{kv.Key}\"]"));
        }

        return result;
    }
}

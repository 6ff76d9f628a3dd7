using System.Globalization;
using System.Text.RegularExpressions;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>The "signed" part of a classic in-toto v0.9 layout (_type, expires, readme, keys, steps, inspect).</summary>
public sealed class Layout
{
    /// <summary>The only accepted "expires" format (in-toto rejects fractions and offsets).</summary>
    public const string ExpiresFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'";

    private static readonly Regex ExpiresPattern = new(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$", RegexOptions.CultureInvariant);

    /// <summary>Expiry, written as UTC "yyyy-MM-ddTHH:mm:ssZ" (fractions of a second are dropped).</summary>
    public DateTimeOffset Expires { get; set; } = new DateTimeOffset(DateTime.UtcNow.Date.AddYears(1), TimeSpan.Zero);

    public string Readme { get; set; } = "";

    /// <summary>Functionary keys: keyid -> public key.</summary>
    public SortedDictionary<string, PublicKey> Keys { get; set; } = new(StringComparer.Ordinal);

    public List<Step> Steps { get; set; } = new();

    /// <summary>The layout's "inspect" list.</summary>
    public List<Inspection> Inspect { get; set; } = new();

    /// <summary>Adds (or replaces) a functionary key under its keyid and returns the keyid.</summary>
    public string AddKey(PublicKey key)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        Keys[key.KeyId] = key;
        return key.KeyId;
    }

    public static string FormatExpires(DateTimeOffset value) =>
        value.ToUniversalTime().ToString(ExpiresFormat, CultureInfo.InvariantCulture);

    /// <exception cref="InTotoFormatException">Not exactly "yyyy-MM-ddTHH:mm:ssZ".</exception>
    public static DateTimeOffset ParseExpires(string text)
    {
        if (text is null || !ExpiresPattern.IsMatch(text)
            || !DateTimeOffset.TryParseExact(text, ExpiresFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            throw new InTotoFormatException($"layout.expires: \"{text}\" is not a date in the format YYYY-MM-DDTHH:MM:SSZ (UTC, no fractions, no offset).");
        }

        return value;
    }

    public JsonMap ToJson()
    {
        var keys = new JsonMap();
        foreach (var kv in Keys)
        {
            if (kv.Key != kv.Value.KeyId)
            {
                throw new InTotoFormatException($"layout.keys: entry \"{kv.Key}\" holds the key {kv.Value.KeyId}; the map key must be the keyid.");
            }

            keys.Add(kv.Key, kv.Value.ToKeyObject());
        }

        return new JsonMap
        {
            { "_type", "layout" },
            { "expires", FormatExpires(Expires) },
            { "inspect", new JsonList(Inspect.Select(i => (JsonItem)i.ToJson())) },
            { "keys", keys },
            { "readme", Readme },
            { "steps", new JsonList(Steps.Select(s => (JsonItem)s.ToJson())) },
        };
    }

    /// <summary>Strict: every field present, no extra fields, right types, keys consistent with their keyids.</summary>
    /// <exception cref="InTotoFormatException">Wrong shape.</exception>
    public static Layout FromJson(JsonMap signed)
    {
        if (signed is null)
        {
            throw new ArgumentNullException(nameof(signed));
        }

        const string path = "layout";
        StrictInTotoFields.ExpectType(signed, path, "layout");
        StrictInTotoFields.ExactFields(signed, path, "_type", "expires", "inspect", "keys", "readme", "steps");
        var layout = new Layout
        {
            Expires = ParseExpires(StrictInTotoFields.String(signed, "expires", path)),
            Readme = StrictInTotoFields.String(signed, "readme", path),
        };

        foreach (var kv in StrictInTotoFields.Object(signed, "keys", path))
        {
            if (kv.Value is not JsonMap keyObject)
            {
                throw new InTotoFormatException($"layout.keys[\"{kv.Key}\"]: expected a key object, found {StrictInTotoFields.Describe(kv.Value)}.");
            }

            // Both are optional for securesystemslib, but ToJson always writes them: require them so that
            // FromJson -> ToJson never changes the signed bytes.
            foreach (string required in new[] { "keyid", "keyid_hash_algorithms" })
            {
                if (!keyObject.ContainsKey(required))
                {
                    throw new InTotoFormatException($"layout.keys[\"{kv.Key}\"]: required field \"{required}\" is missing.");
                }
            }

            PublicKey key;
            try
            {
                key = PublicKey.FromKeyObject(keyObject);
            }
            catch (KeyFormatException e)
            {
                throw new InTotoFormatException($"layout.keys[\"{kv.Key}\"]: {e.Message}", e);
            }

            if (key.KeyId != kv.Key)
            {
                throw new InTotoFormatException($"layout.keys[\"{kv.Key}\"]: the key's keyid is {key.KeyId}; the map key must equal it.");
            }

            layout.Keys.Add(kv.Key, key);
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var steps = StrictInTotoFields.Array(signed, "steps", path);
        for (int i = 0; i < steps.Count; i++)
        {
            var step = Step.FromJson(steps[i], $"layout.steps[{i}]");
            if (!names.Add(step.Name))
            {
                throw new InTotoFormatException($"layout.steps[{i}]: the name \"{step.Name}\" is used twice (step and inspection names share one namespace).");
            }

            layout.Steps.Add(step);
        }

        var inspect = StrictInTotoFields.Array(signed, "inspect", path);
        for (int i = 0; i < inspect.Count; i++)
        {
            var inspection = Inspection.FromJson(inspect[i], $"layout.inspect[{i}]");
            if (!names.Add(inspection.Name))
            {
                throw new InTotoFormatException($"layout.inspect[{i}]: the name \"{inspection.Name}\" is used twice (step and inspection names share one namespace).");
            }

            layout.Inspect.Add(inspection);
        }

        return layout;
    }
}

/// <summary>A layout step.</summary>
public sealed class Step
{
    public Step()
    {
    }

    public Step(string name)
    {
        Name = name;
    }

    public string Name { get; set; } = "";

    /// <summary>Keyids of the functionaries authorized for this step.</summary>
    public List<string> PubKeys { get; set; } = new();

    public int Threshold { get; set; } = 1;

    public List<string> ExpectedCommand { get; set; } = new();

    /// <summary>Artifact rules, each a list of strings such as ["MATCH", "src/*", "WITH", "PRODUCTS", "FROM", "restore"].</summary>
    public List<IReadOnlyList<string>> ExpectedMaterials { get; set; } = new();

    /// <inheritdoc cref="ExpectedMaterials"/>
    public List<IReadOnlyList<string>> ExpectedProducts { get; set; } = new();

    public JsonMap ToJson() => new()
    {
        { "_type", "step" },
        { "expected_command", StrictInTotoFields.ToJson(ExpectedCommand) },
        { "expected_materials", StrictInTotoFields.ToJson(ExpectedMaterials) },
        { "expected_products", StrictInTotoFields.ToJson(ExpectedProducts) },
        { "name", Name },
        { "pubkeys", StrictInTotoFields.ToJson(PubKeys) },
        { "threshold", (long)Threshold },
    };

    public static Step FromJson(JsonMap json) => FromJson(json, "step");

    internal static Step FromJson(JsonItem node, string path)
    {
        if (node is not JsonMap json)
        {
            throw new InTotoFormatException($"{path}: expected a step object, found {StrictInTotoFields.Describe(node)}.");
        }

        StrictInTotoFields.ExpectType(json, path, "step");
        StrictInTotoFields.ExactFields(json, path, "_type", "expected_command", "expected_materials", "expected_products", "name", "pubkeys", "threshold");
        long threshold = StrictInTotoFields.Integer(json, "threshold", path);
        if (threshold < 1 || threshold > int.MaxValue)
        {
            throw new InTotoFormatException($"{path}.threshold: must be a positive integer, found {threshold}.");
        }

        return new Step
        {
            Name = StrictInTotoFields.String(json, "name", path),
            PubKeys = StrictInTotoFields.StringList(json, "pubkeys", path),
            Threshold = (int)threshold,
            ExpectedCommand = StrictInTotoFields.StringList(json, "expected_command", path),
            ExpectedMaterials = StrictInTotoFields.Rules(json, "expected_materials", path),
            ExpectedProducts = StrictInTotoFields.Rules(json, "expected_products", path),
        };
    }
}

/// <summary>A layout inspection (a command the verifier runs).</summary>
public sealed class Inspection
{
    public Inspection()
    {
    }

    public Inspection(string name)
    {
        Name = name;
    }

    public string Name { get; set; } = "";

    public List<string> Run { get; set; } = new();

    /// <inheritdoc cref="Step.ExpectedMaterials"/>
    public List<IReadOnlyList<string>> ExpectedMaterials { get; set; } = new();

    /// <inheritdoc cref="Step.ExpectedMaterials"/>
    public List<IReadOnlyList<string>> ExpectedProducts { get; set; } = new();

    public JsonMap ToJson() => new()
    {
        { "_type", "inspection" },
        { "expected_materials", StrictInTotoFields.ToJson(ExpectedMaterials) },
        { "expected_products", StrictInTotoFields.ToJson(ExpectedProducts) },
        { "name", Name },
        { "run", StrictInTotoFields.ToJson(Run) },
    };

    public static Inspection FromJson(JsonMap json) => FromJson(json, "inspection");

    internal static Inspection FromJson(JsonItem node, string path)
    {
        if (node is not JsonMap json)
        {
            throw new InTotoFormatException($"{path}: expected an inspection object, found {StrictInTotoFields.Describe(node)}.");
        }

        StrictInTotoFields.ExpectType(json, path, "inspection");
        StrictInTotoFields.ExactFields(json, path, "_type", "expected_materials", "expected_products", "name", "run");
        return new Inspection
        {
            Name = StrictInTotoFields.String(json, "name", path),
            Run = StrictInTotoFields.StringList(json, "run", path),
            ExpectedMaterials = StrictInTotoFields.Rules(json, "expected_materials", path),
            ExpectedProducts = StrictInTotoFields.Rules(json, "expected_products", path),
        };
    }
}

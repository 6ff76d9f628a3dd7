using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.Json;

namespace SecureBuild.Verification.Tests.Infrastructure;

/// <summary>Runs our LayoutVerifier the way the CLI does.</summary>
internal static class Ours
{
    /// <summary>A date at which every shared case's layout is valid except the one that expired in 2020.</summary>
    public static readonly DateTimeOffset PinnedNow = new(2030, 6, 1, 12, 0, 0, TimeSpan.Zero);

    public static VerificationResult Verify(string cwd, string layout, IReadOnlyList<string> keyFiles, string linkDir,
        DateTimeOffset? now = null, Action<LayoutVerifierOptions>? configure = null)
    {
        var keys = keyFiles.Select(f => PublicKey.Load(Path.Combine(cwd, f))).ToList();
        var options = new LayoutVerifierOptions
        {
            LinkDirectory = Path.GetFullPath(Path.Combine(cwd, linkDir)),
            WorkingDirectory = cwd,
        };
        if (now is { } n)
        {
            options.Clock = () => n;
        }

        configure?.Invoke(options);
        return new LayoutVerifier(options).Verify(Path.GetFullPath(Path.Combine(cwd, layout)), keys);
    }

    public static Verdict ToVerdict(VerificationResult result) => result.Passed
        ? new Verdict(0, "", string.Join("\n", result.Warnings))
        : new Verdict(1, result.Failures[0].Kind.ToString(), Describe(result));

    public static string Describe(VerificationResult result) =>
        string.Join("\n", result.Failures.Select(f => f + (f.Details.Count > 0 ? "\n  " + string.Join("\n  ", f.Details) : "")))
        + (result.DroppedLinks.Count > 0 ? "\n dropped: " + string.Join("\n dropped: ", result.DroppedLinks) : "");
}

/// <summary>Reads, edits, signs and writes metadata files for constructed cases.</summary>
internal static class Meta
{
    public static JsonObject Load(string path) => (JsonObject)JsonParser.Parse(File.ReadAllBytes(path));

    public static JsonObject Signed(JsonObject file) => (JsonObject)file["signed"];

    public static void Save(string path, JsonObject file) => File.WriteAllBytes(path, JsonText.WriteUtf8(file));

    /// <summary>Replaces all signatures by one signature of <paramref name="key"/> over the current "signed".</summary>
    public static void Resign(JsonObject file, params SigningKey[] keys)
    {
        var block = new Metablock(Signed(file));
        foreach (var key in keys)
        {
            block.Sign(key);
        }

        file["signatures"] = new JsonArray(block.Signatures.Select(s => (JsonNode)s.ToJson()));
    }

    public static JsonObject Block(JsonObject signed, params SigningKey[] keys)
    {
        var file = new JsonObject { { "signatures", new JsonArray() }, { "signed", signed } };
        Resign(file, keys);
        return file;
    }

    public static JsonObject Artifacts(params (string Path, string Sha256)[] items)
    {
        var o = new JsonObject();
        foreach (var (p, h) in items)
        {
            o[p] = new JsonObject { { "sha256", h } };
        }

        return o;
    }

    public static JsonObject Link(string name, JsonObject materials, JsonObject products, params string[] command) => new()
    {
        { "_type", "link" },
        { "byproducts", new JsonObject { { "return-value", 0 }, { "stderr", "" }, { "stdout", "" } } },
        { "command", new JsonArray(command.Select(c => (JsonNode)c)) },
        { "environment", new JsonObject() },
        { "materials", materials },
        { "name", name },
        { "products", products },
    };

    public static JsonArray Rules(params string[] rules) =>
        new(rules.Select(r => (JsonNode)new JsonArray(r.Split(' ').Select(p => (JsonNode)p))));

    public static JsonObject Step(string name, IEnumerable<PublicKey> keys, int threshold, JsonArray materials, JsonArray products, params string[] command) => new()
    {
        { "_type", "step" },
        { "expected_command", new JsonArray(command.Select(c => (JsonNode)c)) },
        { "expected_materials", materials },
        { "expected_products", products },
        { "name", name },
        { "pubkeys", new JsonArray(keys.Select(k => (JsonNode)k.KeyId)) },
        { "threshold", threshold },
    };

    public static JsonObject Inspection(string name, JsonArray materials, JsonArray products, params string[] run) => new()
    {
        { "_type", "inspection" },
        { "expected_materials", materials },
        { "expected_products", products },
        { "name", name },
        { "run", new JsonArray(run.Select(c => (JsonNode)c)) },
    };

    public static JsonObject Layout(IEnumerable<PublicKey> functionaries, IEnumerable<JsonObject> steps, IEnumerable<JsonObject>? inspections = null, string expires = "2035-01-01T00:00:00Z")
    {
        var keys = new JsonObject();
        foreach (var k in functionaries)
        {
            keys[k.KeyId] = k.ToKeyObject();
        }

        return new JsonObject
        {
            { "_type", "layout" },
            { "expires", expires },
            { "inspect", new JsonArray((inspections ?? Array.Empty<JsonObject>()).Select(i => (JsonNode)i)) },
            { "keys", keys },
            { "readme", "" },
            { "steps", new JsonArray(steps.Select(s => (JsonNode)s)) },
        };
    }

    public static string WriteKey(string dir, string name, SigningKey key)
    {
        string path = Path.Combine(dir, name + ".pub");
        File.WriteAllText(path, key.ExportPublic());
        return path;
    }

    public static string TypeName(SigningKey key) => key.Public.KeyTypeName;
}

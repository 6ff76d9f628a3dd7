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
    public static JsonMap Load(string path) => (JsonMap)JsonParser.Parse(File.ReadAllBytes(path));

    public static JsonMap Signed(JsonMap file) => (JsonMap)file["signed"];

    public static void Save(string path, JsonMap file) => File.WriteAllBytes(path, JsonText.WriteUtf8(file));

    /// <summary>Replaces all signatures by one signature of <paramref name="key"/> over the current "signed".</summary>
    public static void Resign(JsonMap file, params SigningKey[] keys)
    {
        var block = new Metablock(Signed(file));
        foreach (var key in keys)
        {
            block.Sign(key);
        }

        file["signatures"] = new JsonList(block.Signatures.Select(s => (JsonItem)s.ToJson()));
    }

    public static JsonMap Block(JsonMap signed, params SigningKey[] keys)
    {
        var file = new JsonMap { { "signatures", new JsonList() }, { "signed", signed } };
        Resign(file, keys);
        return file;
    }

    public static JsonMap Artifacts(params (string Path, string Sha256)[] items)
    {
        var o = new JsonMap();
        foreach (var (p, h) in items)
        {
            o[p] = new JsonMap { { "sha256", h } };
        }

        return o;
    }

    public static JsonMap Link(string name, JsonMap materials, JsonMap products, params string[] command) => new()
    {
        { "_type", "link" },
        { "byproducts", new JsonMap { { "return-value", 0 }, { "stderr", "" }, { "stdout", "" } } },
        { "command", new JsonList(command.Select(c => (JsonItem)c)) },
        { "environment", new JsonMap() },
        { "materials", materials },
        { "name", name },
        { "products", products },
    };

    public static JsonList Rules(params string[] rules) =>
        new(rules.Select(r => (JsonItem)new JsonList(r.Split(' ').Select(p => (JsonItem)p))));

    public static JsonMap Step(string name, IEnumerable<PublicKey> keys, int threshold, JsonList materials, JsonList products, params string[] command) => new()
    {
        { "_type", "step" },
        { "expected_command", new JsonList(command.Select(c => (JsonItem)c)) },
        { "expected_materials", materials },
        { "expected_products", products },
        { "name", name },
        { "pubkeys", new JsonList(keys.Select(k => (JsonItem)k.KeyId)) },
        { "threshold", threshold },
    };

    public static JsonMap Inspection(string name, JsonList materials, JsonList products, params string[] run) => new()
    {
        { "_type", "inspection" },
        { "expected_materials", materials },
        { "expected_products", products },
        { "name", name },
        { "run", new JsonList(run.Select(c => (JsonItem)c)) },
    };

    public static JsonMap Layout(IEnumerable<PublicKey> functionaries, IEnumerable<JsonMap> steps, IEnumerable<JsonMap>? inspections = null, string expires = "2035-01-01T00:00:00Z")
    {
        var keys = new JsonMap();
        foreach (var k in functionaries)
        {
            keys[k.KeyId] = k.ToKeyObject();
        }

        return new JsonMap
        {
            { "_type", "layout" },
            { "expires", expires },
            { "inspect", new JsonList((inspections ?? Array.Empty<JsonMap>()).Select(i => (JsonItem)i)) },
            { "keys", keys },
            { "readme", "" },
            { "steps", new JsonList(steps.Select(s => (JsonItem)s)) },
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

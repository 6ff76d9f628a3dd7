// Usage: VerifyBenchGen <output-dir> <artifacts-per-link>
// Writes <output-dir>/root.layout (signed by a fresh ed25519 owner key), owner.pub (securesystemslib JSON),
// links/<step>.<kid8>.link for 5 steps, and final/ (empty: the layout has no inspection). Step 1 records N source
// files; every later step consumes the previous step's products, modifies a tenth of them and creates a few. The
// rules use MATCH (with and without IN prefixes), MODIFY, CREATE, ALLOW, REQUIRE and DISALLOW, and every one of them
// has to look at all N artifacts, so the work grows linearly with N in both verifiers.
using System.Globalization;
using System.Security.Cryptography;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.Json;

if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 10)
{
    Console.Error.WriteLine("usage: VerifyBenchGen <output-dir> <artifacts-per-link (>= 10)>");
    return 2;
}

string dir = Path.GetFullPath(args[0]);
Directory.CreateDirectory(Path.Combine(dir, "links"));
Directory.CreateDirectory(Path.Combine(dir, "final"));

var owner = SigningKey.Generate(KeyType.Ed25519);
var functionaries = new[] { SigningKey.Generate(KeyType.Ed25519), SigningKey.Generate(KeyType.Ecdsa) };
File.WriteAllText(Path.Combine(dir, "owner.pub"), owner.ExportPublic());

var rng = new Random(42);
string NewHash()
{
    Span<byte> b = stackalloc byte[32];
    rng.NextBytes(b);
    return Convert.ToHexString(b).ToLowerInvariant();
}

string[] steps = { "checkout", "restore", "compile", "test", "pack" };
var current = new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
for (int i = 0; i < n; i++)
{
    current[$"src/dir{i % 97:D2}/file{i:D6}.cs"] = new Dictionary<string, string> { ["sha256"] = NewHash() };
}

var layout = new Layout { Expires = DateTimeOffset.UtcNow.AddYears(1), Readme = $"verify benchmark: 5 steps, {n} artifacts per link" };
foreach (var f in functionaries)
{
    layout.AddKey(f.Public);
}

for (int s = 0; s < steps.Length; s++)
{
    var key = functionaries[s % functionaries.Length];
    var materials = current;
    var products = new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
    int k = 0;
    foreach (var kv in materials)
    {
        products[kv.Key] = k++ % 10 == s ? new Dictionary<string, string> { ["sha256"] = NewHash() } : kv.Value;
    }

    for (int c = 0; c < 5; c++)
    {
        products[$"out/{steps[s]}/created{c}.bin"] = new Dictionary<string, string> { ["sha256"] = NewHash() };
    }

    var link = new Link(steps[s]) { Command = new[] { "run", steps[s] }, Materials = materials, Products = products };
    link.Byproducts = new JsonMap { { "return-value", 0 }, { "stderr", "" }, { "stdout", "" } };
    LinkFile.WriteSigned(link, key, Path.Combine(dir, "links"));

    string first = materials.Keys.First();
    var step = new Step(steps[s]) { PubKeys = { key.KeyId }, ExpectedCommand = { "run", steps[s] } };
    step.ExpectedMaterials.Add(new[] { "REQUIRE", first });
    if (s == 0)
    {
        step.ExpectedMaterials.Add(new[] { "ALLOW", "src/*" });
    }
    else
    {
        step.ExpectedMaterials.Add(new[] { "MATCH", "*.cs", "IN", "src", "WITH", "PRODUCTS", "IN", "src", "FROM", steps[s - 1] });
        step.ExpectedMaterials.Add(new[] { "MATCH", "*", "WITH", "PRODUCTS", "FROM", steps[s - 1] });
    }

    step.ExpectedMaterials.Add(new[] { "DISALLOW", "*" });
    step.ExpectedProducts.Add(new[] { "MATCH", "src/*", "WITH", "MATERIALS", "FROM", steps[s] });
    step.ExpectedProducts.Add(new[] { "MODIFY", "src/dir*/file*.cs" });
    step.ExpectedProducts.Add(new[] { "CREATE", $"out/{steps[s]}/*" });
    step.ExpectedProducts.Add(new[] { "ALLOW", "out/*" });
    step.ExpectedProducts.Add(new[] { "DISALLOW", "*" });
    layout.Steps.Add(step);
    current = products;
}

var block = new Metablock(layout.ToJson());
block.Sign(owner);
block.Save(Path.Combine(dir, "root.layout"));
long bytes = Directory.GetFiles(Path.Combine(dir, "links")).Sum(f => new FileInfo(f).Length);
Console.WriteLine($"{dir}: 5 steps, {n} artifacts per link, links {bytes / 1024 / 1024.0:F1} MiB, owner key ed25519");
return 0;

using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Verification.Tests.Infrastructure;

/// <summary>The keys every generated case draws from (created once per test run).</summary>
internal sealed class GeneratorKeys
{
    private GeneratorKeys()
    {
    }

    public SigningKey[] Owners { get; private set; } = Array.Empty<SigningKey>();

    public SigningKey[] Functionaries { get; private set; } = Array.Empty<SigningKey>();

    public SigningKey Mallory { get; private set; } = null!;

    public static GeneratorKeys Create() => new()
    {
        // ed25519, ecdsa and rsa owners; alice (ed25519) and bob (ecdsa) are the shared test keys.
        Owners = new[] { SigningKey.Generate(KeyType.Ed25519), SigningKey.Generate(KeyType.Ecdsa), FreshRsa() },
        Functionaries = new[] { TestData.Functionary("alice"), TestData.Functionary("bob"), SigningKey.Generate(KeyType.Ed25519), SigningKey.Generate(KeyType.Ecdsa) },
        Mallory = SigningKey.Generate(KeyType.Ed25519),
    };

    // A fresh RSA-3072 owner key from the platform (OpenSSL generates it in milliseconds; BouncyCastle's prime search,
    // which SigningKey.Generate uses, can take many seconds).
    private static SigningKey FreshRsa()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(3072);
        return SigningKey.Parse(rsa.ExportRSAPrivateKeyPem(), "fresh RSA owner key");
    }
}

/// <summary>A generated case on disk.</summary>
internal sealed class GeneratedCase
{
    public GeneratedCase(int seed, string dir)
    {
        Seed = seed;
        Dir = dir;
    }

    public int Seed { get; }

    public string Dir { get; }

    /// <summary>Layout keys as (file relative to Dir, type).</summary>
    public List<(string Path, string Type)> LayoutKeys { get; } = new();

    /// <summary>What was generated and which tamperings were applied.</summary>
    public List<string> Notes { get; } = new();

    public override string ToString() => $"seed {Seed} ({Dir}): {string.Join("; ", Notes)}";
}

/// <summary>
/// Seeded generator of small supply chains: 1-4 steps with 1-3 functionaries and thresholds 1-2, artifacts that
/// flow from step to step (kept, modified, deleted, created), rules of every kind (an honest rule set that should
/// pass, random rules, or a mix) with random patterns, prefixes and keyword case, optional inspections (run in
/// final/, which also holds files the default excludes drop), optional sublayouts, then random tamperings: hashes
/// edited after signing, links deleted, re-signed by the wrong key, expired layouts, swapped artifacts, broken or
/// missing layout signatures, junk links, disagreeing threshold links, fields added after signing, renamed links.
/// </summary>
internal sealed class ChainGenerator
{
    private static readonly string[] StepNames = { "fetch", "build", "test", "package", "sign", "lint", "compile", "a b", "ünï", "x.y", "step-7" };
    private static readonly string[] Dirs = { "src", "obj", "bin", "dist", "lib/net8.0", "a b", "ü", "[x]", ".hidden", "deep/er/st" };
    private static readonly string[] Files = { "main.c", "x.txt", "Hello.dll", "a.link", "b~", "c.pyc", "README", "q?.md", "[ab].txt", "-dash", "Grüße.txt", "*star", "data.json" };
    private static readonly string[] Extensions = { ".c", ".txt", ".dll", ".md", ".json", ".pyc", "" };
    private static readonly string[] OddPaths = { "./x", "../up", "/abs/p", "a//b", "dir/", "back\\slash", "new\nline", "trailing ", "dot/./x", "src//y", "src\\z" };
    private static readonly string[] Prefixes = { "src", "obj", "a b", "[x]", "a", "a/", "/", "./src", "src\\", "deep/er", "lib/net8.0/" };

    private readonly Random _r;
    private readonly GeneratorKeys _keys;
    private readonly Dictionary<string, byte[]> _contents = new(StringComparer.Ordinal); // sha256 -> bytes
    private readonly GeneratedCase _case;

    private ChainGenerator(int seed, string dir, GeneratorKeys keys)
    {
        _r = new Random(seed);
        _keys = keys;
        _case = new GeneratedCase(seed, dir);
    }

    private sealed class StepPlan
    {
        public string Name = "";
        public List<SigningKey> Functionaries = new();
        public int Threshold = 1;
        public Dictionary<string, string> Materials = new(StringComparer.Ordinal); // path -> sha256
        public Dictionary<string, string> Products = new(StringComparer.Ordinal);
        public JsonList MaterialRules = new();
        public JsonList ProductRules = new();
        public bool Sublayout;
    }

    public static GeneratedCase Generate(int seed, string dir, GeneratorKeys keys)
    {
        var g = new ChainGenerator(seed, dir, keys);
        g.Build();
        return g._case;
    }

    private void Note(string s) => _case.Notes.Add(s);

    private bool Chance(double p) => _r.NextDouble() < p;

    private T Pick<T>(IReadOnlyList<T> items) => items[_r.Next(items.Count)];

    private string NewContent()
    {
        byte[] bytes = Encoding.UTF8.GetBytes($"content {_r.Next(1000000)}\n");
        string hash = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
        _contents[hash] = bytes;
        return hash;
    }

    private string NewPath()
    {
        if (Chance(0.04))
        {
            return Pick(OddPaths);
        }

        string file = Chance(0.5) ? Pick(Files) : "f" + _r.Next(100) + Pick(Extensions);
        return Chance(0.2) ? file : Pick(Dirs) + "/" + file;
    }

    private void Build()
    {
        string dir = _case.Dir;
        Directory.CreateDirectory(Path.Combine(dir, "links"));
        Directory.CreateDirectory(Path.Combine(dir, "final"));

        // Steps and artifact flow.
        int stepCount = _r.Next(1, 5);
        var names = StepNames.OrderBy(_ => _r.Next()).Take(stepCount).ToList();
        var world = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0, n = _r.Next(2, 7); i < n; i++)
        {
            world[NewPath()] = NewContent();
        }

        var steps = new List<StepPlan>();
        foreach (string name in names)
        {
            var plan = new StepPlan { Name = name };
            int fcount = _r.Next(1, 4);
            plan.Functionaries = _keys.Functionaries.OrderBy(_ => _r.Next()).Take(fcount).ToList();
            plan.Threshold = fcount >= 2 && Chance(0.4) ? 2 : 1;
            foreach (var kv in world)
            {
                if (Chance(0.75))
                {
                    plan.Materials[kv.Key] = kv.Value;
                }
            }

            if (Chance(0.15))
            {
                plan.Materials[NewPath()] = NewContent(); // not produced by anyone
            }

            foreach (var kv in plan.Materials)
            {
                double x = _r.NextDouble();
                if (x < 0.55)
                {
                    plan.Products[kv.Key] = kv.Value;
                }
                else if (x < 0.8)
                {
                    plan.Products[kv.Key] = NewContent();
                }

                // else deleted
            }

            for (int i = 0, n = _r.Next(0, 4); i < n; i++)
            {
                string p = NewPath();
                if (!plan.Materials.ContainsKey(p))
                {
                    plan.Products[p] = NewContent();
                }
            }

            foreach (var m in plan.Materials.Keys.Where(k => !plan.Products.ContainsKey(k)))
            {
                world.Remove(m);
            }

            foreach (var kv in plan.Products)
            {
                world[kv.Key] = kv.Value;
            }

            steps.Add(plan);
        }

        // Rules.
        string mode = Pick(new[] { "honest", "honest", "honest", "random", "mixed" });
        Note($"{stepCount} step(s), rules {mode}");
        for (int i = 0; i < steps.Count; i++)
        {
            var s = steps[i];
            s.MaterialRules = mode == "random" ? RandomRules(steps, s) : HonestMaterialRules(steps, i, mode == "mixed");
            s.ProductRules = mode == "random" ? RandomRules(steps, s) : HonestProductRules(s, mode == "mixed");
        }

        // Inspections run in final/ on the last world.
        var inspections = new List<JsonMap>();
        if (Chance(0.3))
        {
            inspections.AddRange(MakeInspections(steps, world));
        }

        // Sublayout: one single-functionary step is delegated.
        if (Chance(0.1))
        {
            var candidates = steps.Where(s => s.Threshold == 1).ToList();
            if (candidates.Count > 0)
            {
                var s = Pick(candidates);
                s.Sublayout = true;
                s.Functionaries = s.Functionaries.Take(1).ToList();
                Note($"step '{s.Name}' is a sublayout");
            }
        }

        // Layout.
        var functionaryKeys = steps.SelectMany(s => s.Functionaries).Distinct().Select(k => k.Public).ToList();
        var stepObjects = steps.Select(s => StepObject(s)).ToList();
        string expires = "2035-06-01T00:00:00Z";
        if (Chance(0.05))
        {
            expires = "2020-01-01T00:00:00Z";
            Note("expired layout");
        }

        var layout = Meta.Layout(functionaryKeys, stepObjects, inspections, expires);
        if (Chance(0.03) && steps.Count > 0)
        {
            // A step authorizes a key that the layout's keys lack.
            var s = Pick(steps);
            ((JsonList)((JsonMap)((JsonList)layout["steps"])[steps.IndexOf(s)])["pubkeys"]).Add(_keys.Mallory.KeyId);
            Note($"step '{s.Name}' authorizes mallory, who is not in the layout keys");
        }

        var owners = _keys.Owners.OrderBy(_ => _r.Next()).Take(Chance(0.2) ? 2 : 1).ToList();
        var layoutFile = Meta.Block(layout, owners.ToArray());
        for (int i = 0; i < owners.Count; i++)
        {
            string keyFile = $"owner{i}.pub";
            File.WriteAllText(Path.Combine(dir, keyFile), owners[i].ExportPublic());
            if (i == 0 || Chance(0.7))
            {
                _case.LayoutKeys.Add((keyFile, owners[i].Public.KeyTypeName));
            }
        }

        Note($"owner key(s) {string.Join(",", owners.Select(o => o.Public.KeyTypeName))}, {_case.LayoutKeys.Count} passed");

        // Links.
        foreach (var s in steps)
        {
            var signers = Chance(0.5) ? s.Functionaries : s.Functionaries.Take(Math.Max(s.Threshold, 1)).ToList();
            foreach (var key in signers)
            {
                string file = Path.Combine(dir, "links", $"{s.Name}.{key.KeyId.Substring(0, 8)}.link");
                if (s.Sublayout)
                {
                    Meta.Save(file, Meta.Block(SubLayout(s, Path.Combine(dir, "links", $"{s.Name}.{key.KeyId.Substring(0, 8)}")), key));
                }
                else
                {
                    Meta.Save(file, Meta.Block(LinkObject(s.Name, s.Materials, s.Products), key));
                }
            }
        }

        // Final product directory.
        foreach (var kv in world)
        {
            if (Chance(0.8) && _contents.TryGetValue(kv.Value, out var bytes) && IsWritablePath(kv.Key))
            {
                string p = Path.Combine(dir, "final", kv.Key);
                Directory.CreateDirectory(Path.GetDirectoryName(p)!);
                File.WriteAllBytes(p, bytes);
            }
        }

        foreach (string junk in new[] { "junk.link", ".git/HEAD", "x.pyc", "notes~", "sub/y.link.bak" })
        {
            if (Chance(0.3))
            {
                string p = Path.Combine(dir, "final", junk);
                Directory.CreateDirectory(Path.GetDirectoryName(p)!);
                File.WriteAllText(p, "excluded by default");
            }
        }

        Meta.Save(Path.Combine(dir, "root.layout"), layoutFile);
        Tamper(steps, layoutFile, owners);
    }

    private static bool IsWritablePath(string p) =>
        !p.StartsWith("/", StringComparison.Ordinal) && !p.StartsWith("./", StringComparison.Ordinal) && !p.EndsWith("/", StringComparison.Ordinal) && !p.EndsWith(" ", StringComparison.Ordinal)
        && p.IndexOfAny(new[] { '*', '?', '\\', '\n' }) < 0 && !p.Contains("..") && !p.Contains("//") && !p.Contains("/./");

    private JsonMap StepObject(StepPlan s) =>
        Meta.Step(s.Name, s.Functionaries.Select(f => f.Public), s.Threshold, s.MaterialRules, s.ProductRules, "run", s.Name);

    private JsonMap LinkObject(string name, Dictionary<string, string> materials, Dictionary<string, string> products)
    {
        var command = Chance(0.9) ? new[] { "run", name } : new[] { "other", name };
        return Meta.Link(name, Meta.Artifacts(materials.Select(kv => (kv.Key, kv.Value)).ToArray()), Meta.Artifacts(products.Select(kv => (kv.Key, kv.Value)).ToArray()), command);
    }

    // A sublayout for a delegated step: 1-2 substeps whose first materials / last products are the step's.
    private JsonMap SubLayout(StepPlan s, string linkDir)
    {
        Directory.CreateDirectory(linkDir);
        int n = _r.Next(1, 3);
        var subFunctionaries = _keys.Functionaries.OrderBy(_ => _r.Next()).Take(n).ToList();
        var subSteps = new List<JsonMap>();
        var middle = new Dictionary<string, string>(s.Materials, StringComparer.Ordinal);
        if (n == 2)
        {
            middle["obj/intermediate.o"] = NewContent();
        }

        for (int i = 0; i < n; i++)
        {
            string name = i == 0 ? "sub-first" : "sub-last";
            var materials = i == 0 ? s.Materials : middle;
            var products = i == n - 1 ? s.Products : middle;
            var key = subFunctionaries[i];
            var rules = Chance(0.8) ? Meta.Rules("ALLOW *") : Meta.Rules("DISALLOW *");
            subSteps.Add(Meta.Step(name, new[] { key.Public }, 1, rules, Meta.Rules("ALLOW *"), "run", name));
            if (Chance(0.93))
            {
                Meta.Save(Path.Combine(linkDir, $"{name}.{key.KeyId.Substring(0, 8)}.link"), Meta.Block(LinkObject(name, materials, products), key));
            }
            else
            {
                Note($"sublayout link {name} missing");
            }
        }

        return Meta.Layout(subFunctionaries.Select(k => k.Public), subSteps, null, Chance(0.95) ? "2035-06-01T00:00:00Z" : "2021-01-01T00:00:00Z");
    }

    private string Kw(string keyword) => _r.Next(6) switch
    {
        0 => keyword.ToLowerInvariant(),
        1 => char.ToUpperInvariant(keyword[0]) + keyword.Substring(1).ToLowerInvariant(),
        _ => keyword,
    };

    private JsonList Rule(params string[] parts) => new(parts.Select(p => (JsonItem)p));

    // Rules that consume what an honest run produced, so that the untampered chain passes.
    private JsonList HonestMaterialRules(List<StepPlan> steps, int index, bool noisy)
    {
        var s = steps[index];
        var rules = new List<JsonList>();
        if (Chance(0.3) && s.Materials.Count > 0)
        {
            rules.Add(Rule(Kw("REQUIRE"), Pick(s.Materials.Keys.ToList())));
        }

        foreach (var kv in s.Materials.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            if (!s.Products.ContainsKey(kv.Key) && Chance(0.6))
            {
                rules.Add(Rule(Kw("DELETE"), Literal(kv.Key)));
                continue;
            }

            var producer = steps.Take(index).LastOrDefault(p => p.Products.TryGetValue(kv.Key, out var h) && h == kv.Value);
            if (producer is not null && Chance(0.8))
            {
                rules.Add(MatchRule(kv.Key, "PRODUCTS", producer.Name));
            }
            else
            {
                rules.Add(Rule(Kw("ALLOW"), Chance(0.7) ? Literal(kv.Key) : Generalize(kv.Key)));
            }
        }

        if (noisy)
        {
            InsertNoise(rules, steps, s);
        }

        if (Chance(0.85))
        {
            rules.Add(Rule(Kw("DISALLOW"), "*"));
        }

        return new JsonList(rules.Select(r => (JsonItem)r));
    }

    private JsonList HonestProductRules(StepPlan s, bool noisy)
    {
        var rules = new List<JsonList>();
        foreach (var kv in s.Products.OrderBy(k => k.Key, StringComparer.Ordinal))
        {
            if (!s.Materials.TryGetValue(kv.Key, out var before))
            {
                rules.Add(Rule(Kw("CREATE"), Chance(0.8) ? Literal(kv.Key) : Generalize(kv.Key)));
            }
            else if (before != kv.Value)
            {
                rules.Add(Rule(Kw("MODIFY"), Chance(0.8) ? Literal(kv.Key) : Generalize(kv.Key)));
            }
            else
            {
                rules.Add(Chance(0.6) ? MatchRule(kv.Key, "MATERIALS", s.Name) : Rule(Kw("ALLOW"), Literal(kv.Key)));
            }
        }

        if (noisy)
        {
            InsertNoise(rules, null, s);
        }

        if (Chance(0.85))
        {
            rules.Add(Rule(Kw("DISALLOW"), "*"));
        }

        return new JsonList(rules.Select(r => (JsonItem)r));
    }

    // MATCH for one path, written with or without IN prefixes and with a literal or a generalized pattern.
    private JsonList MatchRule(string path, string destType, string destName)
    {
        int slash = path.LastIndexOf('/');
        if (slash > 0 && Chance(0.4))
        {
            string dirPart = path.Substring(0, slash);
            string rest = path.Substring(slash + 1);
            string pattern = Chance(0.5) ? Literal(rest) : Generalize(rest);
            return Chance(0.5)
                ? Rule(Kw("MATCH"), pattern, Kw("IN"), dirPart + (Chance(0.3) ? "/" : ""), Kw("WITH"), Kw(destType), Kw("IN"), dirPart, Kw("FROM"), destName)
                : Rule(Kw("MATCH"), pattern, Kw("IN"), dirPart, Kw("WITH"), Kw(destType), Kw("IN"), dirPart + "/", Kw("FROM"), destName);
        }

        return Rule(Kw("MATCH"), Chance(0.7) ? Literal(path) : Generalize(path), Kw("WITH"), Kw(destType), Kw("FROM"), destName);
    }

    private static bool HasMeta(string path) => path.IndexOfAny(new[] { '*', '?', '[' }) >= 0;

    // The path as a pattern that matches exactly it ('[' -> '[[]', '*' -> '[*]', '?' -> '[?]'); sometimes left
    // unescaped, which only matches the path by accident.
    private string Literal(string path)
    {
        if (!HasMeta(path) || Chance(0.1))
        {
            return path;
        }

        var sb = new StringBuilder();
        foreach (char c in path)
        {
            sb.Append(c is '[' or '*' or '?' ? "[" + c + "]" : c.ToString());
        }

        return sb.ToString();
    }

    // A glob that still matches the path (or, sometimes, slightly more or less).
    private string Generalize(string path)
    {
        if (HasMeta(path) && Chance(0.85))
        {
            return Chance(0.5) ? Literal(path) : "*";
        }

        switch (_r.Next(12))
        {
            case 0:
                return "*";
            case 1:
                int slash = path.LastIndexOf('/');
                return slash > 0 ? path.Substring(0, slash) + "/*" : "*";
            case 2:
                int dot = path.LastIndexOf('.');
                return dot >= 0 ? "*" + path.Substring(dot) : "*" + path.Substring(Math.Max(0, path.Length - 2));
            case 3:
                return path.Length > 0 ? "?" + path.Substring(1) : "?";
            case 4:
                return path.Length > 0 ? "[" + path[0] + "]" + path.Substring(1) : "*";
            case 5:
                return path.Length > 0 ? "[!" + path[0] + "]" + path.Substring(1) : "*"; // does NOT match the path itself
            case 6:
                return path.Length > 2 ? path.Substring(0, path.Length / 2) + "*" : "*";
            case 7:
                return path.Length > 1 ? "[" + (char)(path[0] - 1) + "-" + (char)(path[0] + 1) + "]" + path.Substring(1) : "*";
            default:
                return path;
        }
    }

    private void InsertNoise(List<JsonList> rules, List<StepPlan>? steps, StepPlan s)
    {
        for (int i = 0, n = _r.Next(1, 3); i < n; i++)
        {
            rules.Insert(_r.Next(rules.Count + 1), RandomRule(steps, s));
        }
    }

    private JsonList RandomRules(List<StepPlan> steps, StepPlan s)
    {
        var rules = new List<JsonList>();
        for (int i = 0, n = _r.Next(0, 6); i < n; i++)
        {
            rules.Add(RandomRule(steps, s));
        }

        if (Chance(0.5))
        {
            rules.Add(Rule(Kw("DISALLOW"), Chance(0.8) ? "*" : RandomPattern(s)));
        }

        return new JsonList(rules.Select(r => (JsonItem)r));
    }

    private string RandomPattern(StepPlan s)
    {
        var known = s.Materials.Keys.Concat(s.Products.Keys).ToList();
        return _r.Next(6) switch
        {
            0 => "*",
            1 => known.Count > 0 ? Pick(known) : "x",
            2 => known.Count > 0 ? Generalize(Pick(known)) : "*",
            3 => Pick(new[] { "src/*", "*.dll", "[a-z]*", "[!s]*", "*[", "**", "", "obj/*/x", "?", "*~", "*.link*", "[]]*", "[z-a]*" }),
            4 => Pick(Dirs) + "/*",
            _ => NewPath(),
        };
    }

    private JsonList RandomRule(List<StepPlan>? steps, StepPlan s)
    {
        string pattern = RandomPattern(s);
        switch (_r.Next(7))
        {
            case 0: return Rule(Kw("ALLOW"), pattern);
            case 1: return Rule(Kw("DISALLOW"), pattern);
            case 2: return Rule(Kw("CREATE"), pattern);
            case 3: return Rule(Kw("DELETE"), pattern);
            case 4: return Rule(Kw("MODIFY"), pattern);
            case 5:
                var known = s.Materials.Keys.Concat(s.Products.Keys).ToList();
                return Rule(Kw("REQUIRE"), known.Count > 0 && Chance(0.7) ? Pick(known) : pattern);
            default:
                string dest = steps is not null && steps.Count > 0 && Chance(0.8) ? Pick(steps).Name : Chance(0.5) ? s.Name : "no-such-step";
                string type = Chance(0.5) ? "PRODUCTS" : "MATERIALS";
                string src = Chance(0.3) ? Pick(Prefixes) : "";
                string dst = Chance(0.3) ? Pick(Prefixes) : "";
                var parts = new List<string> { Kw("MATCH"), pattern };
                if (src.Length > 0 || Chance(0.05))
                {
                    parts.AddRange(new[] { Kw("IN"), src });
                }

                parts.AddRange(new[] { Kw("WITH"), Kw(type) });
                if (dst.Length > 0)
                {
                    parts.AddRange(new[] { Kw("IN"), dst });
                }

                parts.AddRange(new[] { Kw("FROM"), dest });
                return Rule(parts.ToArray());
        }
    }

    private IEnumerable<JsonMap> MakeInspections(List<StepPlan> steps, Dictionary<string, string> world)
    {
        var last = steps[steps.Count - 1];
        string script = _r.Next(6) switch
        {
            0 => "true",
            1 => "exit 3",
            2 => "mkdir -p out && printf made > out/made.txt && printf x > made.link",
            _ => "mkdir -p out && printf made > out/made.txt",
        };
        Note($"inspection: sh -c '{script}'");
        var materials = new List<JsonList>();
        if (Chance(0.7))
        {
            materials.Add(Rule(Kw("MATCH"), "*", Kw("WITH"), Kw("PRODUCTS"), Kw("FROM"), last.Name));
        }

        double cover = Chance(0.7) ? 0.95 : 0.3;
        foreach (var p in world.Keys.Where(k => Chance(cover)))
        {
            var producer = steps.LastOrDefault(s => s.Products.TryGetValue(p, out var h) && h == world[p]);
            materials.Insert(0, producer is not null ? MatchRule(p, "PRODUCTS", producer.Name) : Rule(Kw("ALLOW"), Literal(p)));
        }

        if (Chance(0.8))
        {
            materials.Add(Rule(Kw("DISALLOW"), "*"));
        }

        var products = new List<JsonList>
        {
            Rule(Kw("MATCH"), "*", Kw("WITH"), Kw("MATERIALS"), Kw("FROM"), "inspect-1"),
            Rule(Kw("CREATE"), Chance(0.8) ? "out/*" : "out/other"),
        };
        if (Chance(0.8))
        {
            products.Add(Rule(Kw("DISALLOW"), "*"));
        }

        yield return Meta.Inspection("inspect-1", new JsonList(materials.Select(r => (JsonItem)r)), new JsonList(products.Select(r => (JsonItem)r)), "sh", "-c", script);
        if (Chance(0.3))
        {
            Note("second inspection matching the first");
            yield return Meta.Inspection("inspect-2",
                Meta.Rules("MATCH * WITH PRODUCTS FROM inspect-1", "DISALLOW *"),
                Meta.Rules("MATCH * WITH PRODUCTS FROM inspect-1", "DISALLOW *"), "true");
        }
    }

    private void Tamper(List<StepPlan> steps, JsonMap layoutFile, List<SigningKey> owners)
    {
        string dir = _case.Dir;
        var linkFiles = Directory.GetFiles(Path.Combine(dir, "links"), "*.link").OrderBy(f => f, StringComparer.Ordinal).ToList();
        int n = Chance(0.45) ? 0 : _r.Next(1, 3);
        for (int t = 0; t < n; t++)
        {
            int kind = _r.Next(15);
            string? link = linkFiles.Count > 0 ? Pick(linkFiles) : null;
            switch (kind)
            {
                case 0 when link is not null:
                {
                    var meta = Meta.Load(link);
                    if (EditSomeHash(Meta.Signed(meta)))
                    {
                        Meta.Save(link, meta);
                        Note($"hash edited after signing in {Path.GetFileName(link)}");
                    }

                    break;
                }

                case 1 when link is not null:
                    File.Delete(link);
                    linkFiles.Remove(link);
                    Note($"deleted {Path.GetFileName(link)}");
                    break;
                case 2 when link is not null:
                {
                    var meta = Meta.Load(link);
                    Meta.Resign(meta, Chance(0.5) ? _keys.Mallory : Pick(_keys.Functionaries));
                    Meta.Save(link, meta);
                    Note($"re-signed {Path.GetFileName(link)} with another key");
                    break;
                }

                case 3 when link is not null && LinkKey(link) is { } key:
                {
                    var meta = Meta.Load(link);
                    if (Meta.Signed(meta)["_type"] is JsonString { Value: "link" } && EditSomeHash(Meta.Signed(meta)))
                    {
                        Meta.Resign(meta, key);
                        Meta.Save(link, meta);
                        Note($"swapped an artifact in {Path.GetFileName(link)} (honestly signed)");
                    }

                    break;
                }

                case 4:
                    layoutFile["signatures"] = new JsonList();
                    Meta.Save(Path.Combine(dir, "root.layout"), layoutFile);
                    Note("layout signatures removed");
                    break;
                case 5:
                    Meta.Resign(layoutFile, Pick(_keys.Owners.Except(owners).ToList()));
                    Meta.Save(Path.Combine(dir, "root.layout"), layoutFile);
                    Note("layout signed by another owner key");
                    break;
                case 6:
                    Meta.Signed(layoutFile)["readme"] = "tampered";
                    Meta.Save(Path.Combine(dir, "root.layout"), layoutFile);
                    Note("layout readme changed after signing");
                    break;
                case 7 when link is not null:
                    File.Copy(link, Path.Combine(dir, "links", "unrelated." + _keys.Mallory.KeyId.Substring(0, 8) + ".link"), overwrite: true);
                    File.WriteAllText(Path.Combine(dir, "links", "garbage.deadbeef.link"), "{ not json");
                    Note("junk link files added");
                    break;
                case 8:
                {
                    var s = steps.FirstOrDefault(x => x.Threshold == 2 && !x.Sublayout);
                    string? file = s is null ? null : linkFiles.FirstOrDefault(f => Path.GetFileName(f).StartsWith(s.Name + ".", StringComparison.Ordinal));
                    if (file is not null && LinkKey(file) is { } k2)
                    {
                        var meta = Meta.Load(file);
                        ((JsonMap)Meta.Signed(meta)["materials"])["extra/disagree.txt"] = new JsonMap { { "sha256", NewContent() } };
                        Meta.Resign(meta, k2);
                        Meta.Save(file, meta);
                        Note($"threshold link {Path.GetFileName(file)} disagrees");
                    }

                    break;
                }

                case 9 when link is not null:
                {
                    var meta = Meta.Load(link);
                    Meta.Signed(meta)["added_after_signing"] = "ignored by in-toto";
                    Meta.Save(link, meta);
                    Note($"field added after signing to {Path.GetFileName(link)}");
                    break;
                }

                case 10 when link is not null && LinkKey(link) is { } k3:
                {
                    var meta = Meta.Load(link);
                    if (Meta.Signed(meta)["_type"] is JsonString { Value: "link" })
                    {
                        Meta.Signed(meta)["name"] = "renamed";
                        Meta.Resign(meta, k3);
                        Meta.Save(link, meta);
                        Note($"{Path.GetFileName(link)} renamed and re-signed");
                    }

                    break;
                }

                case 11 when link is not null:
                {
                    var meta = Meta.Load(link);
                    Meta.Signed(meta).Remove("environment");
                    Meta.Save(link, meta);
                    Note($"empty environment removed after signing from {Path.GetFileName(link)}");
                    break;
                }

                case 13:
                {
                    // A threshold-1 step with several links: one of them reports other products (honestly signed).
                    // Only the first valid link in pubkeys order counts, so this passes or fails depending on which.
                    var s = steps.FirstOrDefault(x => x.Threshold == 1 && !x.Sublayout
                        && linkFiles.Count(f => Path.GetFileName(f).StartsWith(x.Name + ".", StringComparison.Ordinal)) >= 2);
                    string? file = s is null ? null : Pick(linkFiles.Where(f => Path.GetFileName(f).StartsWith(s.Name + ".", StringComparison.Ordinal)).ToList());
                    if (file is not null && LinkKey(file) is { } k4)
                    {
                        var meta = Meta.Load(file);
                        ((JsonMap)Meta.Signed(meta)["products"])["extra/only-here.txt"] = new JsonMap { { "sha256", NewContent() } };
                        Meta.Resign(meta, k4);
                        Meta.Save(file, meta);
                        Note($"{Path.GetFileName(file)} differs from the other links of threshold-1 step '{s!.Name}'");
                    }

                    break;
                }

                case 14 when link is not null:
                {
                    // A bogus signature with the same keyid, before or after the real one: only the first counts.
                    var meta = Meta.Load(link);
                    var sigs = (JsonList)meta["signatures"];
                    if (sigs.Count > 0)
                    {
                        var real = (JsonMap)sigs[0];
                        string hex = ((JsonString)real["sig"]).Value;
                        var bogus = new JsonMap { { "keyid", real["keyid"] }, { "sig", new string('0', hex.Length - 2) + "01" } };
                        bool first = Chance(0.5);
                        var list = first ? new JsonList(bogus, real) : new JsonList(real, bogus);
                        meta["signatures"] = list;
                        Meta.Save(link, meta);
                        Note($"bogus same-keyid signature {(first ? "before" : "after")} the real one in {Path.GetFileName(link)}");
                    }

                    break;
                }

                case 12:
                {
                    // Final product swapped: change one file of final/.
                    var files = Directory.GetFiles(Path.Combine(dir, "final"), "*", SearchOption.AllDirectories);
                    if (files.Length > 0)
                    {
                        string f = Pick(files);
                        File.AppendAllText(f, "swapped");
                        Note($"final file {Path.GetRelativePath(Path.Combine(dir, "final"), f)} changed");
                    }

                    break;
                }
            }
        }
    }

    private SigningKey? LinkKey(string linkFile)
    {
        string prefix = Path.GetFileNameWithoutExtension(linkFile);
        prefix = prefix.Substring(prefix.LastIndexOf('.') + 1);
        return _keys.Functionaries.FirstOrDefault(k => k.KeyId.StartsWith(prefix, StringComparison.Ordinal));
    }

    private bool EditSomeHash(JsonMap signed)
    {
        if (signed["_type"] is not JsonString { Value: "link" })
        {
            return false;
        }

        var sides = new[] { "materials", "products" }.Select(s => (JsonMap)signed[s]).Where(o => o.Count > 0).ToList();
        if (sides.Count == 0)
        {
            return false;
        }

        var side = Pick(sides);
        string path = Pick(side.Keys.ToList());
        side[path] = new JsonMap { { "sha256", NewContent() } };
        return true;
    }
}

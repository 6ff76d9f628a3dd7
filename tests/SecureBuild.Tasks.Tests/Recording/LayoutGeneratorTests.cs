using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;

namespace SecureBuild.Tasks.Tests.Recording;

public sealed class LayoutGeneratorTests
{
    private static readonly PublicKey Functionary = SigningKey.Generate(KeyType.Ed25519).Public;
    private static readonly PublicKey Functionary2 = SigningKey.Generate(KeyType.Ecdsa).Public;
    private static readonly DateTimeOffset Expires = new(2031, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static Dictionary<string, string> Digest(char c) => new() { ["sha256"] = new string(c, 64) };

    private static Link L(string name, IEnumerable<string>? materials = null, IEnumerable<string>? products = null)
    {
        var link = new Link(name) { Command = new[] { "dotnet", name } };
        foreach (var m in materials ?? Enumerable.Empty<string>())
        {
            link.Materials[m] = Digest('a');
        }
        foreach (var p in products ?? Enumerable.Empty<string>())
        {
            link.Products[p] = Digest('b');
        }
        return link;
    }

    private static Layout Create(params Link[] links) => LayoutGenerator.Create(links, new[] { Functionary }, 1, Expires, "readme");

    private static IEnumerable<string> Rule(IReadOnlyList<string> rule) => rule;

    [Test]
    public void Steps_are_ordered_restore_compile_pack_publish_then_others_by_name()
    {
        var names = LayoutGenerator.OrderSteps(new[]
        {
            L("zeta"), L("publish-linux-x64"), L("pack"), L("compile-net8.0"), L("alpha"), L("publish"),
            L("compile"), L("restore"), L("compile-net10.0"), L("compiler"), L("packaging"),
        }).Select(l => l.Name);

        Assert.That(names, Is.EqualTo(new[]
        {
            "restore", "compile", "compile-net10.0", "compile-net8.0", "pack", "publish", "publish-linux-x64",
            "alpha", "compiler", "packaging", "zeta",
        }));
    }

    [Test]
    public void A_step_recorded_twice_appears_once()
    {
        var first = L("compile", products: new[] { "first.dll" });
        var second = L("compile", products: new[] { "second.dll" });

        var ordered = LayoutGenerator.OrderSteps(new[] { first, second });

        Assert.That(ordered, Is.EqualTo(new[] { first }));
    }

    [Test]
    public void Each_step_matches_its_materials_with_every_earlier_step_latest_first()
    {
        var layout = Create(L("publish"), L("pack"), L("compile"), L("restore"), L("custom"));

        Assert.That(layout.Steps.Select(s => s.Name), Is.EqualTo(new[] { "restore", "compile", "pack", "publish", "custom" }));
        string[][] Matches(string step) => layout.Steps.Single(s => s.Name == step).ExpectedMaterials
            .Where(r => r[0] == "MATCH").Select(r => r.ToArray()).ToArray();

        Assert.That(Matches("restore"), Is.Empty);
        Assert.That(Matches("compile"), Is.EqualTo(new[] { new[] { "MATCH", "*", "WITH", "PRODUCTS", "FROM", "restore" } }));
        Assert.That(Matches("custom").Select(r => r[5]), Is.EqualTo(new[] { "publish", "pack", "compile", "restore" }));
        Assert.That(Matches("custom"), Has.All.Matches<string[]>(r => r.Take(5).SequenceEqual(new[] { "MATCH", "*", "WITH", "PRODUCTS", "FROM" })));
    }

    [Test]
    public void Exactly_the_consumed_earlier_products_are_disallowed_unless_matched()
    {
        var restore = L("restore", materials: new[] { "App/App.csproj" }, products: new[] { "App/obj/project.assets.json" });
        var compile = L("compile",
            materials: new[] { "App/Program.cs", "App/obj/project.assets.json", "@nuget/x/1.0.0/lib/x.dll" },
            products: new[] { "App/obj/Release/App.dll", "App/bin/Release/App.dll", "App/bin/Release/App.pdb" });
        var pack = L("pack", materials: new[] { "App/bin/Release/App.dll", "App/README.md" }, products: new[] { "App/bin/Release/App.1.0.0.nupkg" });

        var layout = Create(pack, compile, restore);
        var steps = layout.Steps.ToDictionary(s => s.Name);

        string[] Disallowed(string step) => steps[step].ExpectedMaterials.Where(r => r[0] == "DISALLOW").Select(r => r[1]).ToArray();
        Assert.That(Disallowed("restore"), Is.Empty);
        Assert.That(Disallowed("compile"), Is.EqualTo(new[] { "App/obj/project.assets.json" }));
        Assert.That(Disallowed("pack"), Is.EqualTo(new[] { "App/bin/Release/App.dll" }), "products pack does not read are not named");

        // Rule order decides the result in in-toto: MATCH first, then DISALLOW, then ALLOW everything else.
        Assert.That(steps["pack"].ExpectedMaterials.Select(r => r[0]), Is.EqualTo(new[] { "MATCH", "MATCH", "DISALLOW", "ALLOW" }));
        Assert.That(steps["pack"].ExpectedMaterials.Last(), Is.EqualTo(new[] { "ALLOW", "*" }));
        Assert.That(steps.Values.Select(s => s.ExpectedProducts), Has.All.EqualTo(new[] { new[] { "ALLOW", "*" } }));
    }

    [Test]
    public void Disallow_patterns_escape_fnmatch_metacharacters()
    {
        var compile = L("compile", products: new[] { "bin/a*b?.dll", "bin/[x].dll", "bin/plain].dll" });
        var pack = L("pack", materials: new[] { "bin/a*b?.dll", "bin/[x].dll", "bin/plain].dll" });

        var disallowed = Create(compile, pack).Steps.Single(s => s.Name == "pack").ExpectedMaterials
            .Where(r => r[0] == "DISALLOW").Select(r => r[1]);

        Assert.That(disallowed, Is.EquivalentTo(new[] { "bin/a[*]b[?].dll", "bin/[[]x].dll", "bin/plain].dll" }));
    }

    [TestCase("src/App.cs", "src/App.cs")]
    [TestCase("*", "[*]")]
    [TestCase("a?b", "a[?]b")]
    [TestCase("[abc]", "[[]abc]")]
    [TestCase("x]y!z", "x]y!z")]
    [TestCase("", "")]
    public void EscapeGlob(string name, string expected)
    {
        Assert.That(LayoutGenerator.EscapeGlob(name), Is.EqualTo(expected));
    }

    [Test]
    public void Steps_carry_the_functionaries_threshold_and_recorded_command()
    {
        var compile = L("compile");
        compile.Command = new[] { "dotnet", "msbuild", "App/App.csproj", "-t:CoreCompile" };

        var layout = LayoutGenerator.Create(new[] { compile }, new[] { Functionary, Functionary2 }, 2, Expires, "the readme");

        Assert.That(layout.Keys.Keys, Is.EquivalentTo(new[] { Functionary.KeyId, Functionary2.KeyId }));
        var step = layout.Steps.Single();
        Assert.That(step.PubKeys, Is.EquivalentTo(new[] { Functionary.KeyId, Functionary2.KeyId }));
        Assert.That(step.Threshold, Is.EqualTo(2));
        Assert.That(step.ExpectedCommand, Is.EqualTo(compile.Command));
        Assert.That(layout.Expires, Is.EqualTo(Expires));
        Assert.That(layout.Readme, Is.EqualTo("the readme"));
        Assert.That(layout.Inspect, Is.Empty);
    }

    [Test]
    public void No_functionary_is_an_error()
    {
        var e = Assert.Throws<ArgumentException>(() => LayoutGenerator.Create(new[] { L("compile") }, Array.Empty<PublicKey>(), 1, Expires, ""));
        Assert.That(e!.ParamName, Is.EqualTo("functionaries"));
    }

    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(3)]
    public void A_threshold_outside_one_to_the_number_of_functionaries_is_an_error(int threshold)
    {
        var e = Assert.Throws<ArgumentException>(() =>
            LayoutGenerator.Create(new[] { L("compile") }, new[] { Functionary, Functionary2 }, threshold, Expires, ""));
        Assert.That(e!.ParamName, Is.EqualTo("threshold"));
    }

    [Test]
    public void The_same_key_given_twice_counts_once_for_the_threshold()
    {
        // A threshold of 2 with one distinct key could never be met: in-toto counts distinct signers.
        var e = Assert.Throws<ArgumentException>(() =>
            LayoutGenerator.Create(new[] { L("compile") }, new[] { Functionary, Functionary }, 2, Expires, ""));
        Assert.That(e!.ParamName, Is.EqualTo("threshold"));

        var layout = LayoutGenerator.Create(new[] { L("compile") }, new[] { Functionary, Functionary }, 1, Expires, "");
        Assert.That(layout.Steps.Single().PubKeys, Is.EqualTo(new[] { Functionary.KeyId }));
    }
}

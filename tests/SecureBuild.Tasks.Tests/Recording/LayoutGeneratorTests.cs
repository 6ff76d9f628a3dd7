using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Tasks.Tests.Infrastructure;

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
    public void The_test_step_comes_after_compile_and_before_pack_and_must_read_exactly_compiles_outputs()
    {
        var names = LayoutGenerator.OrderSteps(new[] { L("pack"), L("test-net10.0"), L("test"), L("compile"), L("restore"), L("tests") }).Select(l => l.Name);
        Assert.That(names, Is.EqualTo(new[] { "restore", "compile", "test", "test-net10.0", "pack", "tests" }));

        var layout = Create(
            L("restore", new[] { "Tests/Tests.csproj" }, new[] { "Tests/obj/project.assets.json" }),
            L("compile", new[] { "Tests/obj/project.assets.json", "Tests/Calc.cs" }, new[] { "Tests/bin/Release/net10.0/Tests.dll" }),
            L("test", new[] { "Tests/bin/Release/net10.0/Tests.dll" }, new[] { "Tests/obj/Release/net10.0/securebuild/test.trx" }));
        var test = layout.Steps.Single(s => s.Name == "test");

        Assert.That(layout.Steps.Select(s => s.Name), Is.EqualTo(new[] { "restore", "compile", "test" }));
        Assert.That(test.ExpectedMaterials.Select(Rule), Is.EqualTo(new[]
        {
            new[] { "MATCH", "*", "WITH", "PRODUCTS", "FROM", "compile" },
            new[] { "MATCH", "*", "WITH", "PRODUCTS", "FROM", "restore" },
            new[] { "DISALLOW", "Tests/bin/Release/net10.0/Tests.dll" },
            new[] { "DISALLOW", "*" },
        }));
        Assert.That(test.ExpectedProducts.Select(Rule), Is.EqualTo(new[]
        {
            new[] { "CREATE", "Tests/obj/Release/net10.0/securebuild/*" },
            new[] { "DISALLOW", "*" },
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

        string[] Disallowed(string step) => steps[step].ExpectedMaterials.Where(r => r[0] == "DISALLOW" && !r[1].EndsWith('*')).Select(r => r[1]).ToArray();
        Assert.That(Disallowed("restore"), Is.Empty);
        Assert.That(Disallowed("compile"), Is.EqualTo(new[] { "App/obj/project.assets.json" }));
        Assert.That(Disallowed("pack"), Is.EqualTo(new[] { "App/bin/Release/App.dll" }), "products pack does not read are not named");

        // Rule order decides the result in in-toto: MATCH first, then the DISALLOW by name, ..., DISALLOW * last.
        Assert.That(steps["pack"].ExpectedMaterials.Select(r => r[0]).Take(3), Is.EqualTo(new[] { "MATCH", "MATCH", "DISALLOW" }));
        Assert.That(steps.Values.Select(s => s.ExpectedMaterials.Last()), Has.All.EqualTo(new[] { "DISALLOW", "*" }));
        Assert.That(steps.Values.Select(s => s.ExpectedProducts.Last()), Has.All.EqualTo(new[] { "DISALLOW", "*" }));
    }

    // ---- A realistic project: the policy the generator writes, and what it lets through -------------------------

    private static readonly SigningKey FunctionaryKey = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SigningKey OwnerKey = SigningKey.Generate(KeyType.Ed25519);

    private static Dictionary<string, string> H(string content) =>
        new Dictionary<string, string> { ["sha256"] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(content))).ToLowerInvariant() };

    /// <summary>A step of App/App.csproj; every artifact's digest is derived from its name, so a product and its later use agree.</summary>
    private static Link Step(string name, string[] materials, string[] products)
    {
        var link = new Link(name) { Command = new[] { "dotnet", name, "App/App.csproj", "-c", "Release" } };
        foreach (var m in materials)
        {
            link.Materials[m] = H(m);
        }
        foreach (var p in products)
        {
            link.Products[p] = H(p);
        }
        return link;
    }

    private const string Newtonsoft = "@nuget/newtonsoft.json/13.0.3/lib/net6.0/Newtonsoft.Json.dll";

    /// <summary>restore -> compile -> pack, publish of App, which references Lib (another project) and Newtonsoft.Json.</summary>
    private static Dictionary<string, Link> Build() => new()
    {
        ["restore"] = Step("restore",
            new[] { "global.json", "Directory.Build.props", "nuget.config", "App/App.csproj" },
            new[] { "App/obj/project.assets.json", "App/obj/App.csproj.nuget.g.props" }),
        ["compile"] = Step("compile",
            new[]
            {
                "App/Program.cs", "App/Util/Text.cs", "App/obj/project.assets.json",
                "App/obj/Release/net8.0/App.AssemblyInfo.cs", "App/obj/Release/net8.0/App.GlobalUsings.g.cs",
                Newtonsoft, "@dotnet/packs/Microsoft.NETCore.App.Ref/8.0.0/ref/net8.0/System.Runtime.dll",
                "Lib/obj/Release/net8.0/ref/Lib.dll", "@external/0123456789ab/Analyzer.dll", "Directory.Build.props",
            },
            new[]
            {
                "App/bin/Release/net8.0/App.dll", "App/bin/Release/net8.0/App.pdb",
                "App/obj/Release/net8.0/App.dll", "App/obj/Release/net8.0/ref/App.dll",
            }),
        ["pack"] = Step("pack",
            new[] { "App/bin/Release/net8.0/App.dll", "App/bin/Release/net8.0/App.pdb", "App/README.md" },
            new[] { "App/bin/Release/App.1.0.0.nupkg", "App/obj/Release/App.1.0.0.nuspec" }),
        ["publish"] = Step("publish",
            new[] { "App/obj/Release/net8.0/App.dll", "App/bin/Release/net8.0/App.deps.json", "Lib/bin/Release/net8.0/Lib.dll", Newtonsoft },
            new[]
            {
                "App/bin/Release/net8.0/publish/App.dll", "App/bin/Release/net8.0/publish/App.deps.json",
                "App/bin/Release/net8.0/publish/Lib.dll", "App/bin/Release/net8.0/publish/Newtonsoft.Json.dll",
            }),
    };

    private static Layout Policy(Dictionary<string, Link> build) =>
        LayoutGenerator.Create(build.Values, new[] { FunctionaryKey.Public }, 1, DateTimeOffset.UtcNow.AddDays(30), "test");

    private static VerificationResult Verify(Layout layout, IEnumerable<Link> links)
    {
        using var dir = new TempDirectory("layoutgen");
        foreach (var link in links)
        {
            LinkFile.WriteSigned(link, FunctionaryKey, dir.FullPath);
        }
        var block = new Metablock(layout.ToJson());
        block.Sign(OwnerKey);
        var layoutPath = dir.Path("root.layout");
        block.Save(layoutPath);
        return new LayoutVerifier(new LayoutVerifierOptions { LinkDirectory = dir.FullPath, WorkingDirectory = dir.FullPath })
            .Verify(layoutPath, new[] { OwnerKey.Public });
    }

    [Test]
    public void The_generated_policy_names_each_kind_of_input_and_output_and_ends_with_DISALLOW_everything_else()
    {
        var compile = Policy(Build()).Steps.Single(s => s.Name == "compile");

        Assert.That(compile.ExpectedMaterials.Select(r => string.Join(" ", r)), Is.EqualTo(new[]
        {
            "MATCH * WITH PRODUCTS FROM restore",
            "DISALLOW App/obj/project.assets.json",
            "ALLOW @dotnet/*",
            "ALLOW @external/0123456789ab/*",
            "ALLOW @nuget/*",
            "ALLOW App/obj/Release/net8.0/App.AssemblyInfo.cs",
            "ALLOW App/obj/Release/net8.0/App.GlobalUsings.g.cs",
            "DISALLOW App/bin/*",
            "DISALLOW App/obj/*",
            "ALLOW App/*",
            "ALLOW Directory.Build.props",
            "ALLOW Lib/obj/Release/net8.0/ref/Lib.dll",
            "DISALLOW *",
        }));
        Assert.That(compile.ExpectedProducts.Select(r => string.Join(" ", r)), Is.EqualTo(new[]
        {
            "CREATE App/bin/Release/net8.0/*",
            "CREATE App/obj/Release/net8.0/*",
            "DISALLOW *",
        }));
    }

    [Test]
    public void The_generated_policy_verifies_the_build_it_was_made_from()
    {
        var build = Build();

        var result = Verify(Policy(build), build.Values);

        Assert.That(result.Passed, Is.True, string.Join("\n", result.Failures));
    }

    [Test]
    public void Everyday_changes_keep_verifying_a_new_source_file_a_package_update_a_new_version_a_new_dependency()
    {
        var build = Build();
        var layout = Policy(build);
        const string updated = "@nuget/newtonsoft.json/13.0.4/lib/net6.0/Newtonsoft.Json.dll";

        var next = Build();
        foreach (var step in new[] { "compile", "publish" })
        {
            next[step].Materials.Remove(Newtonsoft);
            next[step].Materials[updated] = H(updated);
        }
        next["compile"].Materials["App/Util/NewFeature.cs"] = H("new source");
        next["pack"].Products.Remove("App/bin/Release/App.1.0.0.nupkg");
        next["pack"].Products["App/bin/Release/App.1.1.0.nupkg"] = H("1.1.0");
        next["publish"].Products["App/bin/Release/net8.0/publish/Polly.dll"] = H("a new dependency");
        next["publish"].Materials["@nuget/polly/8.0.0/lib/net6.0/Polly.dll"] = H("polly");

        var result = Verify(layout, next.Values);

        Assert.That(result.Passed, Is.True, string.Join("\n", result.Failures));
    }

    [TestCase("compile", "products", "App/Program.cs", Description = "compile rewrites a source file")]
    [TestCase("compile", "products", "App/Generated.cs", Description = "compile writes a new file into the sources")]
    [TestCase("restore", "products", "App/Directory.Build.targets", Description = "restore plants a build file")]
    [TestCase("pack", "products", "App/bin/Release/net8.0/App.dll", Description = "pack replaces an assembly compile made")]
    [TestCase("compile", "materials", "App/bin/Debug/net8.0/Evil.dll", Description = "compile reads an assembly planted in bin/")]
    [TestCase("compile", "materials", "App/obj/Release/net8.0/Injected.cs", Description = "compile reads a source planted in obj/")]
    [TestCase("compile", "materials", "Shared/Evil.cs", Description = "compile reads a file outside the project the policy does not name")]
    [TestCase("pack", "materials", "App/bin/Release/net8.0/App.dll", Description = "pack reads a compile output that was swapped")]
    public void Outputs_and_inputs_the_policy_does_not_name_fail_verification(string stepName, string side, string name)
    {
        var build = Build();
        var layout = Policy(build);
        var step = build[stepName];
        if (side == "products")
        {
            if (step.Materials.ContainsKey(name))
            {
                step.Products[name] = H("changed " + name);
            }
            else
            {
                step.Products[name] = H(name + " (in place)");
                if (build.Values.Any(l => l.Name != stepName && l.Products.ContainsKey(name)))
                {
                    step.Materials[name] = H(name); // pack rewrites what it read
                }
            }
        }
        else
        {
            step.Materials[name] = H("tampered " + name);
        }

        var result = Verify(layout, build.Values);

        Assert.That(result.Passed, Is.False, $"{stepName} {side} {name} passed");
        var failure = result.Failures.Single();
        Assert.That(failure.Kind, Is.EqualTo(FailureKind.RuleVerificationError), failure.ToString());
        Assert.That(failure.Step, Is.EqualTo(stepName), failure.ToString());
        Assert.That(failure.Artifacts, Does.Contain(name), failure.ToString());
    }

    [Test]
    public void The_permissive_policy_only_chains_the_steps_and_allows_everything_else()
    {
        var build = Build();
        var layout = LayoutGenerator.Create(build.Values, new[] { FunctionaryKey.Public }, 1, DateTimeOffset.UtcNow.AddDays(30), "test", LayoutPolicy.Permissive);
        var strict = Policy(build);
        var compile = layout.Steps.Single(s => s.Name == "compile");
        Assert.That(compile.ExpectedMaterials.Select(r => string.Join(" ", r)), Is.EqualTo(new[]
        {
            "MATCH * WITH PRODUCTS FROM restore",
            "DISALLOW App/obj/project.assets.json",
            "ALLOW *",
        }));
        Assert.That(compile.ExpectedProducts.Select(r => string.Join(" ", r)), Is.EqualTo(new[] { "ALLOW *" }));

        // What the strict policy refuses (a planted source, a rewritten source) passes; a swapped compile output does not.
        build["compile"].Materials["Shared/Evil.cs"] = H("planted");
        build["compile"].Products["App/Program.cs"] = H("rewritten");
        Assert.That(Verify(layout, build.Values).Passed, Is.True);
        Assert.That(Verify(strict, build.Values).Passed, Is.False, "the strict policy refuses the same links");
        build["pack"].Materials["App/bin/Release/net8.0/App.dll"] = H("swapped");
        var swapped = Verify(layout, build.Values);
        Assert.That(swapped.Passed, Is.False);
        Assert.That(swapped.Failures.Single().Artifacts, Does.Contain("App/bin/Release/net8.0/App.dll"));
    }

    [Test]
    public void A_lock_file_restore_creates_next_to_the_project_keeps_verifying_when_the_next_restore_reads_it()
    {
        // RestorePackagesWithLockFile: the first restore creates App/packages.lock.json, every later one reads it
        // (a material) and writes it again (unchanged, so not "created").
        var first = Build();
        first["restore"].Products["App/packages.lock.json"] = H("App/packages.lock.json");
        var layout = Policy(first);
        Assert.That(layout.Steps[0].ExpectedProducts.Select(r => string.Join(" ", r)), Is.EqualTo(new[]
        {
            "ALLOW App/packages.lock.json", "CREATE App/obj/*", "DISALLOW *",
        }));

        var next = Build();
        next["restore"].Materials["App/packages.lock.json"] = H("App/packages.lock.json");
        next["restore"].Products["App/packages.lock.json"] = H("App/packages.lock.json");
        var result = Verify(layout, next.Values);

        Assert.That(result.Passed, Is.True, string.Join("\n", result.Failures));
        Assert.That(Verify(layout, first.Values).Passed, Is.True, "the build the layout was made from");
    }

    // ---- Several projects (a solution) in one layout ---------------------------------------------------------------

    private static Link ProjectStep(string project, string name, string[] materials, string[] products)
    {
        var link = Step(name, materials, products);
        link.Command = new[] { "dotnet", name, $"{project}/{project}.csproj" };
        return link;
    }

    /// <summary>Zlib (a library, named to sort after App) and App, which compiles against Zlib's reference assembly and publishes its DLL.</summary>
    private static List<ProjectLinks> Solution(Action<Dictionary<string, Link>>? change = null)
    {
        var zlib = new Dictionary<string, Link>
        {
            ["restore"] = ProjectStep("Zlib", "restore", new[] { "Zlib/Zlib.csproj" }, new[] { "Zlib/obj/project.assets.json" }),
            ["compile"] = ProjectStep("Zlib", "compile", new[] { "Zlib/Z.cs", "Zlib/obj/project.assets.json" },
                new[] { "Zlib/bin/Release/net8.0/Zlib.dll", "Zlib/obj/Release/net8.0/ref/Zlib.dll" }),
        };
        var app = new Dictionary<string, Link>
        {
            ["restore"] = ProjectStep("App", "restore", new[] { "App/App.csproj" }, new[] { "App/obj/project.assets.json" }),
            ["compile"] = ProjectStep("App", "compile", new[] { "App/Program.cs", "App/obj/project.assets.json", "Zlib/obj/Release/net8.0/ref/Zlib.dll" },
                new[] { "App/bin/Release/net8.0/App.dll" }),
            ["publish"] = ProjectStep("App", "publish", new[] { "App/bin/Release/net8.0/App.dll", "Zlib/bin/Release/net8.0/Zlib.dll" },
                new[] { "App/bin/Release/net8.0/publish/App.dll", "App/bin/Release/net8.0/publish/Zlib.dll" }),
        };
        change?.Invoke(app);
        return new List<ProjectLinks>
        {
            new("App/bin/Release/attestations/", app.Values.ToList()),
            new("Zlib/bin/Release/attestations/", zlib.Values.ToList()),
        };
    }

    private static VerificationResult VerifySolution(Layout layout, List<ProjectLinks> projects)
    {
        using var dir = new TempDirectory("layoutgen-sln");
        foreach (var project in projects)
        {
            foreach (var link in project.Links)
            {
                LinkFile.WriteSigned(link, FunctionaryKey, dir.Path(project.Prefix));
            }
        }
        var block = new Metablock(layout.ToJson());
        block.Sign(OwnerKey);
        var layoutPath = dir.Path("solution.layout");
        block.Save(layoutPath);
        return new LayoutVerifier(new LayoutVerifierOptions { LinkDirectory = dir.FullPath, WorkingDirectory = dir.FullPath })
            .Verify(layoutPath, new[] { OwnerKey.Public });
    }

    private static Layout SolutionPolicy(List<ProjectLinks> projects) =>
        LayoutGenerator.Create(projects, new[] { FunctionaryKey.Public }, 1, DateTimeOffset.UtcNow.AddDays(30), "solution");

    [Test]
    public void A_solution_layout_names_steps_by_link_directory_and_orders_a_library_before_the_app_that_reads_it()
    {
        var layout = SolutionPolicy(Solution());

        Assert.That(layout.Steps.Select(s => s.Name), Is.EqualTo(new[]
        {
            "App/bin/Release/attestations/restore", "Zlib/bin/Release/attestations/restore",
            "Zlib/bin/Release/attestations/compile", "App/bin/Release/attestations/compile", "App/bin/Release/attestations/publish",
        }));
        var appCompile = layout.Steps.Single(s => s.Name == "App/bin/Release/attestations/compile");
        Assert.That(appCompile.ExpectedMaterials.Select(r => string.Join(" ", r)), Does.Contain("MATCH * WITH PRODUCTS FROM Zlib/bin/Release/attestations/compile")
            .And.Contain("DISALLOW Zlib/obj/Release/net8.0/ref/Zlib.dll"));
    }

    [Test]
    public void A_solution_layout_verifies_the_solution_with_links_where_the_SDK_wrote_them()
    {
        var projects = Solution();

        var result = VerifySolution(SolutionPolicy(projects), projects);

        Assert.That(result.Passed, Is.True, string.Join("\n", result.Failures));
        Assert.That(result.Warnings, Is.Empty, "a link named 'compile' used for step '.../compile' is not a mismatch");
    }

    [Test]
    public void A_library_output_swapped_before_the_app_publishes_it_fails_the_solution_layout()
    {
        var layout = SolutionPolicy(Solution());
        var swapped = Solution(app => app["publish"].Materials["Zlib/bin/Release/net8.0/Zlib.dll"] = H("swapped"));

        var result = VerifySolution(layout, swapped);

        var failure = result.Failures.Single();
        Assert.That(failure.Kind, Is.EqualTo(FailureKind.RuleVerificationError), failure.ToString());
        Assert.That(failure.Step, Is.EqualTo("App/bin/Release/attestations/publish"));
        Assert.That(failure.RuleText, Is.EqualTo("DISALLOW Zlib/bin/Release/net8.0/Zlib.dll"));
    }

    [Test]
    public void Two_projects_with_the_same_link_directory_prefix_are_refused()
    {
        var projects = new List<ProjectLinks> { new("a/", new[] { L("compile") }), new("a/", new[] { L("compile") }) };

        var e = Assert.Throws<ArgumentException>(() => SolutionPolicy(projects));

        Assert.That(e!.Message, Does.Contain("a/compile"));
    }

    [Test]
    public void Without_a_recognisable_project_file_sources_are_named_one_by_one()
    {
        var compile = L("compile", materials: new[] { "src/a.cs", "src/b.cs" }, products: new[] { "out/a.dll" });

        var step = Create(compile).Steps.Single();

        Assert.That(step.ExpectedMaterials.Select(r => string.Join(" ", r)), Is.EqualTo(new[] { "ALLOW src/a.cs", "ALLOW src/b.cs", "DISALLOW *" }));
        Assert.That(step.ExpectedProducts.Select(r => string.Join(" ", r)), Is.EqualTo(new[] { "CREATE out/*", "DISALLOW *" }));
    }

    [Test]
    public void A_product_at_the_repository_root_or_changed_in_place_is_allowed_by_name()
    {
        var step = L("custom", materials: new[] { "version.txt" });
        step.Products["version.txt"] = Digest('c');
        step.Products["sbom.json"] = Digest('d');

        var rules = Create(step).Steps.Single().ExpectedProducts.Select(r => string.Join(" ", r));

        Assert.That(rules, Is.EqualTo(new[] { "ALLOW sbom.json", "ALLOW version.txt", "DISALLOW *" }));
    }

    [Test]
    public void A_project_at_the_repository_root_allows_its_sources_but_not_its_bin_and_obj()
    {
        var compile = L("compile", materials: new[] { "App.csproj", "Program.cs", "obj/Release/net8.0/App.AssemblyInfo.cs" },
            products: new[] { "bin/Release/net8.0/App.dll" });
        compile.Command = new[] { "dotnet", "build", "App.csproj" };

        var rules = Create(compile).Steps.Single().ExpectedMaterials.Select(r => string.Join(" ", r));

        Assert.That(rules, Is.EqualTo(new[]
        {
            "ALLOW obj/Release/net8.0/App.AssemblyInfo.cs", "DISALLOW bin/*", "DISALLOW obj/*", "ALLOW *", "DISALLOW *",
        }));
    }

    [Test]
    public void Disallow_patterns_escape_fnmatch_metacharacters()
    {
        var compile = L("compile", products: new[] { "bin/a*b?.dll", "bin/[x].dll", "bin/plain].dll" });
        var pack = L("pack", materials: new[] { "bin/a*b?.dll", "bin/[x].dll", "bin/plain].dll" });

        var disallowed = Create(compile, pack).Steps.Single(s => s.Name == "pack").ExpectedMaterials
            .Where(r => r[0] == "DISALLOW" && r[1] != "*").Select(r => r[1]);

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

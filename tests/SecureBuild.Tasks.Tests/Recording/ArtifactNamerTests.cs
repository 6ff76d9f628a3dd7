using System.Security.Cryptography;
using System.Text;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks.Tests.Recording;

public sealed class ArtifactNamerTests
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "sb-namer", "repo");

    private static string Under(string baseDir, string relative) => Path.Combine(baseDir, relative.Replace('/', Path.DirectorySeparatorChar));

    [Test]
    public void Files_below_the_root_are_named_relative_to_it_with_forward_slashes()
    {
        var namer = new ArtifactNamer(Root);

        Assert.That(namer.Name(Under(Root, "src/App/Program.cs")), Is.EqualTo("src/App/Program.cs"));
        Assert.That(namer.Name(Under(Root, "README.md")), Is.EqualTo("README.md"));
    }

    [Test]
    public void The_root_may_be_given_with_or_without_a_trailing_separator()
    {
        var withSlash = new ArtifactNamer(Root + Path.DirectorySeparatorChar);
        var without = new ArtifactNamer(Root);

        Assert.That(withSlash.Name(Under(Root, "a/b.txt")), Is.EqualTo("a/b.txt"));
        Assert.That(without.Name(Under(Root, "a/b.txt")), Is.EqualTo("a/b.txt"));
    }

    [Test]
    public void The_longest_root_wins_so_a_nuget_folder_inside_the_repository_keeps_its_prefix()
    {
        var packages = Under(Root, ".nuget/packages");
        var tools = Under(Root, ".nuget/packages/tools");
        // Given shortest first on purpose: the order of declaration must not matter.
        var namer = new ArtifactNamer(Root, new[]
        {
            new KeyValuePair<string, string>(packages, "@nuget"),
            new KeyValuePair<string, string>(tools, "@tools"),
        });

        Assert.That(namer.Name(Under(packages, "newtonsoft.json/13.0.3/lib/net6.0/Newtonsoft.Json.dll")),
            Is.EqualTo("@nuget/newtonsoft.json/13.0.3/lib/net6.0/Newtonsoft.Json.dll"));
        Assert.That(namer.Name(Under(tools, "x/y.dll")), Is.EqualTo("@tools/x/y.dll"));
        Assert.That(namer.Name(Under(Root, ".nuget/other.txt")), Is.EqualTo(".nuget/other.txt"));
    }

    [Test]
    public void A_root_that_is_only_a_string_prefix_of_the_path_does_not_apply()
    {
        var namer = new ArtifactNamer(Root);

        var sibling = Root + "-sibling" + Path.DirectorySeparatorChar + "file.txt";
        Assert.That(namer.Name(sibling), Does.StartWith(ArtifactNamer.ExternalPrefix));
    }

    [Test]
    public void Named_roots_outside_the_root_get_their_prefix()
    {
        var nuget = Path.Combine(Path.GetTempPath(), "sb-namer", "home", ".nuget", "packages");
        var namer = new ArtifactNamer(Root, new[] { new KeyValuePair<string, string>(nuget, "@nuget") });

        Assert.That(namer.Name(Under(nuget, "a/1.0.0/a.nuspec")), Is.EqualTo("@nuget/a/1.0.0/a.nuspec"));
    }

    [TestCase("@tools")]
    [TestCase("@tools/")]
    [TestCase("/@tools/")]
    [TestCase("@tools\\")]
    public void Prefixes_are_normalized_to_one_trailing_slash(string prefix)
    {
        var tools = Path.Combine(Path.GetTempPath(), "sb-namer", "opt", "tools");
        var namer = new ArtifactNamer(Root, new[] { new KeyValuePair<string, string>(tools, prefix) });

        Assert.That(namer.Name(Under(tools, "bin/tool.dll")), Is.EqualTo("@tools/bin/tool.dll"));
    }

    [Test]
    public void Named_roots_with_an_empty_directory_or_prefix_are_ignored()
    {
        var namer = new ArtifactNamer(Root, new[]
        {
            new KeyValuePair<string, string>("", "@empty"),
            new KeyValuePair<string, string>(Under(Root, "src"), " "),
        });

        Assert.That(namer.Name(Under(Root, "src/a.cs")), Is.EqualTo("src/a.cs"));
    }

    [Test]
    public void Files_outside_every_root_are_named_by_a_hash_of_their_directory_and_never_reveal_the_path()
    {
        var outsideDir = Path.Combine(Path.GetTempPath(), "sb-namer", "secret-user-dir", "deep");
        var outside = Path.Combine(outsideDir, "lib.dll");
        var namer = new ArtifactNamer(Root);

        var name = namer.Name(outside);

        var normalizedDir = Path.GetFullPath(outsideDir).Replace('\\', '/');
        var expectedHex = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(normalizedDir))).ToLowerInvariant().Substring(0, 12);
        Assert.That(name, Is.EqualTo($"@external/{expectedHex}/lib.dll"));
        Assert.That(name, Does.Match("^@external/[0-9a-f]{12}/lib\\.dll$"));
        Assert.That(name, Does.Not.Contain("secret-user-dir").And.Not.Contain(Path.GetTempPath().Replace('\\', '/').TrimEnd('/')));
    }

    [Test]
    public void External_names_are_stable_and_differ_per_directory()
    {
        var namer = new ArtifactNamer(Root);
        var a = Path.Combine(Path.GetTempPath(), "sb-namer", "x", "f.txt");
        var b = Path.Combine(Path.GetTempPath(), "sb-namer", "y", "f.txt");

        Assert.That(namer.Name(a), Is.EqualTo(new ArtifactNamer(Root).Name(a)));
        Assert.That(namer.Name(a), Is.Not.EqualTo(namer.Name(b)));
    }

    [Test]
    public void Dot_dot_segments_are_resolved_before_naming()
    {
        var namer = new ArtifactNamer(Root);

        var viaDotDot = Root + "/src/App/../Lib/./Lib.cs".Replace('/', Path.DirectorySeparatorChar);
        Assert.That(namer.Name(viaDotDot), Is.EqualTo("src/Lib/Lib.cs"));

        // Leaving the root through '..' is not "below the root".
        var escaping = Root + "/src/../../elsewhere/x.txt".Replace('/', Path.DirectorySeparatorChar);
        Assert.That(namer.Name(escaping), Does.StartWith(ArtifactNamer.ExternalPrefix).And.EndWith("/x.txt"));
    }

    [Test]
    public void Case_sensitivity_follows_the_option()
    {
        var sensitive = new ArtifactNamer(Root, ignoreCase: false);
        var insensitive = new ArtifactNamer(Root, ignoreCase: true);
        var upper = Root.ToUpperInvariant() + Path.DirectorySeparatorChar + "a.txt";

        Assert.That(insensitive.Name(upper), Is.EqualTo("a.txt"));
        Assert.That(sensitive.Name(upper), Does.StartWith(ArtifactNamer.ExternalPrefix));
    }

    [Test]
    public void Path_tokens_map_the_root_to_at_root_and_named_roots_to_their_prefix()
    {
        var nuget = Path.Combine(Path.GetTempPath(), "sb-namer", "nuget");
        var namer = new ArtifactNamer(Root, new[] { new KeyValuePair<string, string>(nuget, "@nuget/") });

        var tokens = namer.PathTokens.ToDictionary(t => t.Key, t => t.Value);

        Assert.That(tokens, Has.Count.EqualTo(2));
        Assert.That(tokens[Path.GetFullPath(Root).Replace('\\', '/') + "/"], Is.EqualTo("@root"));
        Assert.That(tokens[Path.GetFullPath(nuget).Replace('\\', '/') + "/"], Is.EqualTo("@nuget"));
    }

    [Test]
    public void An_output_folder_outside_the_repository_names_its_files_relative_to_it_on_every_clone()
    {
        // `dotnet pack -o ../out` from two clones at different paths: the same names, no machine path.
        string NameIn(string clone) => new ArtifactNamer(Under(clone, "repo"), null,
            new[] { new KeyValuePair<string, string>(Under(clone, "out"), "@pack-output") }).Name(Under(clone, "out/App.1.0.0.nupkg"));
        var first = Path.Combine(Path.GetTempPath(), "sb-namer", "one");
        var second = Path.Combine(Path.GetTempPath(), "sb-namer", "two", "deeper");
        Assert.That(NameIn(first), Is.EqualTo("@pack-output/App.1.0.0.nupkg"));
        Assert.That(NameIn(second), Is.EqualTo(NameIn(first)));
        Assert.That(ArtifactNamer.IsMachineSpecific(NameIn(first)), Is.False);
        var namer = new ArtifactNamer(Under(first, "repo"), null, new[] { new KeyValuePair<string, string>(Under(first, "out"), "@pack-output") });
        Assert.That(namer.NamePathsIn(Under(first, "out") + "/"), Is.EqualTo("@pack-output"), "a property naming the folder itself (PackageOutputPath)");
        Assert.That(namer.NamePathsIn(Under(first, "out")), Is.EqualTo("@pack-output"));
        Assert.That(ArtifactNamer.IsMachineSpecific(new ArtifactNamer(Under(first, "repo")).Name(Under(first, "out/App.1.0.0.nupkg"))), Is.True, "without the output folder");
    }

    [Test]
    public void An_output_folder_inside_the_repository_or_a_named_root_changes_no_name()
    {
        var packages = Under(Root, ".packages");
        var namer = new ArtifactNamer(Root, new[] { new KeyValuePair<string, string>(packages, "@nuget") }, new[]
        {
            new KeyValuePair<string, string>(Under(Root, "App/bin/Release"), "@pack-output"),
            new KeyValuePair<string, string>(Under(packages, "x"), "@output"),
        });
        Assert.That(namer.Name(Under(Root, "App/bin/Release/App.1.0.0.nupkg")), Is.EqualTo("App/bin/Release/App.1.0.0.nupkg"));
        Assert.That(namer.Name(Under(packages, "x/y.dll")), Is.EqualTo("@nuget/x/y.dll"));
        Assert.That(namer.PathTokens.Select(t => t.Value), Does.Not.Contain("@pack-output").And.Not.Contain("@output"), "nor any path-mapped digest");
    }
}

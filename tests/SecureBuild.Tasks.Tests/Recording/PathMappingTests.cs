using System.Text;
using SecureBuild.Core.Recording;

namespace SecureBuild.Tasks.Tests.Recording;

public sealed class PathMappingTests
{
    private const string Repo = "/home/ci/build/repo";
    private const string Nuget = "/home/ci/.nuget/packages";

    private static string Map(PathMapping mapping, string text) => Encoding.UTF8.GetString(mapping.Map(Encoding.UTF8.GetBytes(text)));

    private static PathMapping RepoAndNuget() => new(new[]
    {
        new KeyValuePair<string, string>(Repo, "@root"),
        new KeyValuePair<string, string>(Nuget, "@nuget"),
    });

    [Test]
    public void Replaces_the_forward_slash_form()
    {
        Assert.That(Map(RepoAndNuget(), "\"projectPath\": \"/home/ci/build/repo/src/App/App.csproj\""),
            Is.EqualTo("\"projectPath\": \"@root/src/App/App.csproj\""));
    }

    [Test]
    public void Replaces_the_backslash_form()
    {
        Assert.That(Map(RepoAndNuget(), @"<Import Project=""\home\ci\.nuget\packages\x\1.0\build\x.props"" />"),
            Is.EqualTo(@"<Import Project=""@nuget/x\1.0\build\x.props"" />"));
    }

    [Test]
    public void Replaces_the_json_escaped_backslash_form()
    {
        Assert.That(Map(RepoAndNuget(), @"""path"": ""\\home\\ci\\build\\repo\\src\\a.cs"""),
            Is.EqualTo(@"""path"": ""@root/src\\a.cs"""));
    }

    [Test]
    public void The_longest_root_is_replaced_first()
    {
        // The NuGet folder lives inside the repository: its files must become @nuget/..., not @root/.nuget/...
        var inner = Repo + "/.nuget/packages";
        var mapping = new PathMapping(new[]
        {
            new KeyValuePair<string, string>(Repo, "@root"),
            new KeyValuePair<string, string>(inner, "@nuget"),
        });

        Assert.That(Map(mapping, "/home/ci/build/repo/.nuget/packages/a/1.0/a.dll;/home/ci/build/repo/src/b.cs"),
            Is.EqualTo("@nuget/a/1.0/a.dll;@root/src/b.cs"));
    }

    [Test]
    public void Only_whole_directories_are_replaced()
    {
        Assert.That(Map(RepoAndNuget(), "/home/ci/build/repository/x and /home/ci/build/repo"),
            Is.EqualTo("/home/ci/build/repository/x and /home/ci/build/repo"));
    }

    [Test]
    public void Content_without_roots_is_unchanged_byte_for_byte()
    {
        var bytes = new byte[] { 0, 1, 2, 0xff, 0xfe, (byte)'/', (byte)'h' };
        Assert.That(RepoAndNuget().Map(bytes), Is.EqualTo(bytes));
        Assert.That(RepoAndNuget().Map(Array.Empty<byte>()), Is.Empty);
    }

    [TestCase("/")]
    [TestCase("//")]
    public void A_file_system_root_is_never_mapped(string root)
    {
        var mapping = new PathMapping(new[] { new KeyValuePair<string, string>(root, "@root") });

        Assert.That(Map(mapping, "/usr/lib/x.so /home/a/b"), Is.EqualTo("/usr/lib/x.so /home/a/b"));
        Assert.That(mapping.Fingerprint, Is.Empty);
    }

    [Test]
    public void Empty_roots_are_skipped()
    {
        var mapping = new PathMapping(new[] { new KeyValuePair<string, string>("", "@x"), new KeyValuePair<string, string>(" ", "@y") });
        Assert.That(mapping.Fingerprint, Is.Empty);
    }

    [Test]
    public void A_trailing_slash_on_the_token_or_the_root_makes_no_difference()
    {
        var a = new PathMapping(new[] { new KeyValuePair<string, string>(Repo + "/", "@root/") });
        var b = new PathMapping(new[] { new KeyValuePair<string, string>(Repo, "@root") });

        Assert.That(a.Fingerprint, Is.EqualTo(b.Fingerprint));
        Assert.That(Map(a, Repo + "/x"), Is.EqualTo("@root/x"));
    }

    [Test]
    public void The_fingerprint_changes_with_the_roots_and_not_with_their_order()
    {
        var one = RepoAndNuget();
        var reversed = new PathMapping(new[]
        {
            new KeyValuePair<string, string>(Nuget, "@nuget"),
            new KeyValuePair<string, string>(Repo, "@root"),
        });
        var other = new PathMapping(new[] { new KeyValuePair<string, string>("/home/ci/build/other", "@root") });

        Assert.That(reversed.Fingerprint, Is.EqualTo(one.Fingerprint));
        Assert.That(other.Fingerprint, Is.Not.EqualTo(one.Fingerprint));
    }

    [TestCase("/r/obj/project.assets.json", true)]
    [TestCase("/r/obj/App.csproj.nuget.g.props", true)]
    [TestCase("/r/obj/App.csproj.nuget.g.targets", true)]
    [TestCase("/r/obj/App.csproj.nuget.dgspec.json", true)]
    [TestCase("/r/obj/Release/net10.0/App.GeneratedMSBuildEditorConfig.editorconfig", true)]
    [TestCase("/r/obj/Release/net10.0/App.sourcelink.json", true)]
    [TestCase(@"C:\r\obj\project.assets.json", true)]
    [TestCase("/r/obj/PROJECT.ASSETS.JSON", true)]
    [TestCase("/r/obj/myproject.assets.json", false)]
    [TestCase("/r/src/appsettings.json", false)]
    [TestCase("/r/.editorconfig", false)]
    [TestCase("/r/bin/App.dll", false)]
    [TestCase("/r/obj/project.assets.json.bak", false)]
    [TestCase("/r/nuget.config", false)]
    public void Only_the_listed_generated_files_are_machine_local(string path, bool expected)
    {
        Assert.That(PathMapping.IsMachineLocal(path), Is.EqualTo(expected));
    }

    [TestCase("/home/u/repo/App/obj/Release/App.1.0.0.nuspec", true)]
    [TestCase("/home/u/repo/artifacts/obj/App/release/App.1.0.0.nuspec", true)]
    [TestCase("/home/u/repo/App/App.nuspec", false)]
    [TestCase("/home/u/repo/App/obj/project.assets.json", true)]
    [TestCase("/home/u/repo/App/Program.cs", false)]
    public void The_nuspec_that_pack_generates_under_obj_is_hashed_path_mapped_and_a_source_nuspec_is_not(string path, bool mapped) =>
        Assert.That(PathMapping.IsMachineLocal(path), Is.EqualTo(mapped));

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(7)]
    [TestCase(19)]
    public void A_root_across_the_streaming_window_boundary_is_still_replaced(int before)
    {
        // The file is mapped in 64 KiB windows; a root that starts just before a window's end must still match.
        var head = new string('a', (1 << 16) - before);
        var text = head + Repo + "/src/a.cs " + new string('b', 70_000) + Nuget + "/x/1.0/x.props";
        var expected = head + "@root/src/a.cs " + new string('b', 70_000) + "@nuget/x/1.0/x.props";
        var output = new MemoryStream();
        RepoAndNuget().Map(new MemoryStream(Encoding.UTF8.GetBytes(text)), output.Write);
        Assert.That(Encoding.UTF8.GetString(output.ToArray()), Is.EqualTo(expected));
    }
}

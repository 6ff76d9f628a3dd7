using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>`securebuild layout new`: one project, several projects (a solution), and every refusal with its code.</summary>
[TestFixture]
[NonParallelizable] // Cli.Run changes the process's current directory
public class LayoutCliTests
{
    private static readonly SigningKey Functionary = SigningKey.Generate(KeyType.Ed25519);
    private static readonly SigningKey Owner = SigningKey.Generate(KeyType.Ed25519);
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = TestData.NewTempDir("layout-cli");
        File.WriteAllText(Path.Combine(_dir, "build.pub"), Functionary.ExportPublic());
        File.WriteAllText(Path.Combine(_dir, "owner.key"), Owner.ExportPrivate());
        File.WriteAllText(Path.Combine(_dir, "owner.pub"), Owner.ExportPublic());
        WriteLinks("Lib", "Lib/bin/Release/attestations", consumes: null);
        WriteLinks("App", "App/bin/Release/attestations", consumes: "Lib/bin/Release/net8.0/Lib.dll");
    }

    [TearDown]
    public void TearDown() => TestData.DeleteDirectory(_dir);

    private static Dictionary<string, string> Digest(string name) => new() { ["sha256"] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(name))).ToLowerInvariant() };

    private void WriteLinks(string project, string linkDir, string? consumes)
    {
        var restore = new Link("restore") { Command = new[] { "dotnet", "restore", $"{project}/{project}.csproj" } };
        restore.Materials[$"{project}/{project}.csproj"] = Digest($"{project}/{project}.csproj");
        restore.Products[$"{project}/obj/project.assets.json"] = Digest($"{project}/obj/project.assets.json");
        var compile = new Link("compile") { Command = new[] { "dotnet", "msbuild", $"{project}/{project}.csproj", "-t:CoreCompile" } };
        compile.Materials[$"{project}/obj/project.assets.json"] = Digest($"{project}/obj/project.assets.json");
        compile.Materials[$"{project}/Code.cs"] = Digest($"{project}/Code.cs");
        if (consumes is not null)
        {
            compile.Materials[consumes] = Digest(consumes);
        }
        compile.Products[$"{project}/bin/Release/net8.0/{project}.dll"] = Digest($"{project}/bin/Release/net8.0/{project}.dll");
        LinkFile.WriteSigned(restore, Functionary, Path.Combine(_dir, linkDir));
        LinkFile.WriteSigned(compile, Functionary, Path.Combine(_dir, linkDir));
    }

    private (int Code, string Stdout, string Stderr) Run(params string[] args) => Cli.Run(_dir, args);

    private (int Code, string Stdout, string Stderr) New(params string[] args) =>
        Run(new[] { "layout", "new", "--functionary", "build.pub", "--sign", "owner.key" }.Concat(args).ToArray());

    [Test]
    public void One_link_directory_gives_a_layout_with_the_recorded_step_names_that_verifies()
    {
        var (code, stdout, stderr) = New("--link-dir", "App/bin/Release/attestations", "-o", "app.layout");

        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("layout with 2 steps (restore, compile), 1 signature(s)"));
        var verified = Run("verify", "-l", "app.layout", "-k", "owner.pub", "-t", "ed25519", "-d", "App/bin/Release/attestations");
        Assert.That(verified.Code, Is.EqualTo(0), verified.Stdout + verified.Stderr);
    }

    [Test]
    public void Several_link_directories_give_one_chained_layout_verified_from_the_link_root()
    {
        var (code, stdout, stderr) = New("--link-dir", "App/bin/Release/attestations", "Lib/bin/Release/attestations", "-o", "sln.layout");

        Assert.That(code, Is.EqualTo(0), stderr);
        Assert.That(stdout, Does.Contain("layout with 4 steps").And.Contain("Lib/bin/Release/attestations/compile, App/bin/Release/attestations/compile"));
        Assert.That(stdout, Does.Contain("verify with the link directory " + _dir));
        var verified = Run("verify", "-l", "sln.layout", "-k", "owner.pub", "-t", "ed25519", "-d", ".");
        Assert.That(verified.Code, Is.EqualTo(0), verified.Stdout + verified.Stderr);

        // The app's compile now reads a Lib.dll that Lib's compile did not produce.
        WriteLinks("App", "App/bin/Release/attestations", consumes: "Lib/bin/Release/net8.0/Lib.dll");
        var app = Metablock.Load(Path.Combine(_dir, "App/bin/Release/attestations", LinkFile.FileName("compile", Functionary.Public.KeyId)));
        var compile = Link.FromJson(app.Signed);
        compile.Materials["Lib/bin/Release/net8.0/Lib.dll"] = Digest("swapped");
        LinkFile.WriteSigned(compile, Functionary, Path.Combine(_dir, "App/bin/Release/attestations"));
        var swapped = Run("verify", "-l", "sln.layout", "-k", "owner.pub", "-t", "ed25519", "-d", ".");
        Assert.That(swapped.Code, Is.EqualTo(1), swapped.Stdout + swapped.Stderr);
        Assert.That(swapped.Stdout + swapped.Stderr, Does.Contain("DISALLOW Lib/bin/Release/net8.0/Lib.dll"));
    }

    [Test]
    public void A_link_root_other_than_the_current_directory_prefixes_step_names_relative_to_it()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "elsewhere"));
        var (code, _, stderr) = Cli.Run(Path.Combine(_dir, "elsewhere"), "layout", "new", "--functionary", "../build.pub", "--sign", "../owner.key",
            "--link-dir", "../App/bin/Release/attestations", "../Lib/bin/Release/attestations", "--link-root", "..", "-o", "../root.layout");

        Assert.That(code, Is.EqualTo(0), stderr);
        var layout = Layout.FromJson(Metablock.Load(Path.Combine(_dir, "root.layout")).Signed);
        Assert.That(layout.Steps.Select(s => s.Name), Does.Contain("App/bin/Release/attestations/restore"));
    }

    [TestCase("SB3010", "--link-dir", "Missing/attestations", Description = "a link directory that does not exist")]
    [TestCase("SB3011", "--link-dir", "Empty", Description = "no links in it")]
    [TestCase("SB3012", "--link-dir", "App/bin/Release/attestations", "Lib/bin/Release/attestations", "--link-root", "App", Description = "a link directory outside the link root")]
    [TestCase("SB3013", "--link-dir", "App/bin/Release/attestations", "App/bin/Release/attestations/", Description = "the same directory twice")]
    public void Refusals_exit_2_with_a_code_and_write_no_layout(string code, params string[] args)
    {
        Directory.CreateDirectory(Path.Combine(_dir, "Empty"));

        var result = New(args.Concat(new[] { "-o", "out.layout" }).ToArray());

        Assert.That(result.Code, Is.EqualTo(2), result.Stdout + result.Stderr);
        Assert.That(result.Stderr, Does.Contain(code));
        Assert.That(File.Exists(Path.Combine(_dir, "out.layout")), Is.False);
    }

    [Test]
    public void A_file_that_is_not_a_link_is_refused_with_SB3014_naming_it()
    {
        var bad = Path.Combine(_dir, "App/bin/Release/attestations/package.12345678.link");
        File.WriteAllText(bad, "{\"signed\": {\"_type\": \"layout\"}, \"signatures\": []}");

        var result = New("--link-dir", "App/bin/Release/attestations", "-o", "out.layout");

        Assert.That(result.Code, Is.EqualTo(2), result.Stdout + result.Stderr);
        Assert.That(result.Stderr, Does.Contain("SB3014").And.Contain("package.12345678.link"));
        Assert.That(File.Exists(Path.Combine(_dir, "out.layout")), Is.False);
    }

    [Test]
    public void A_link_changed_after_signing_is_refused_with_SB3015_so_no_policy_describes_the_change()
    {
        var path = Path.Combine(_dir, "App/bin/Release/attestations", LinkFile.FileName("compile", Functionary.Public.KeyId));
        File.WriteAllText(path, File.ReadAllText(path).Replace("App/Code.cs", "App/Backdoor.cs"));

        var result = New("--link-dir", "App/bin/Release/attestations", "-o", "out.layout");

        Assert.That(result.Code, Is.EqualTo(2), result.Stdout + result.Stderr);
        Assert.That(result.Stderr, Does.Contain("SB3015").And.Contain(Functionary.Public.KeyId));
        Assert.That(File.Exists(Path.Combine(_dir, "out.layout")), Is.False);
    }

    [Test]
    public void Links_signed_by_a_key_that_is_not_a_functionary_give_warning_SB3016_and_a_layout()
    {
        // A developer's links (development key) used to write the policy for CI's key: allowed, but said.
        var result = Run("layout", "new", "--functionary", "owner.pub", "--link-dir", "App/bin/Release/attestations", "-o", "out.layout");

        Assert.That(result.Code, Is.EqualTo(0), result.Stderr);
        Assert.That(result.Stderr, Does.Contain("warning SB3016").And.Contain(Functionary.Public.KeyId.Substring(0, 8)));
        Assert.That(File.Exists(Path.Combine(_dir, "out.layout")), Is.True);
    }

    [Test]
    public void Links_naming_files_by_this_machines_directories_give_warning_SB3472_and_portable_ones_do_not()
    {
        var quiet = New("--link-dir", "App/bin/Release/attestations", "-o", "portable.layout");
        Assert.That(quiet.Code, Is.EqualTo(0), quiet.Stderr);
        Assert.That(quiet.Stderr, Does.Not.Contain("SB3472"));

        // What `dotnet pack -o ../out` recorded before output folders were named: "@external/<hash>/App.1.0.0.nupkg".
        var pack = new Link("pack") { Command = new[] { "dotnet", "pack", "App/App.csproj" } };
        pack.Materials["App/bin/Release/net8.0/App.dll"] = Digest("App/bin/Release/net8.0/App.dll");
        pack.Products["@external/3f2a9c01b7de/App.1.0.0.nupkg"] = Digest("nupkg");
        LinkFile.WriteSigned(pack, Functionary, Path.Combine(_dir, "App/bin/Release/attestations"));
        var warned = New("--link-dir", "App/bin/Release/attestations", "-o", "local.layout");
        Assert.That(warned.Code, Is.EqualTo(0), warned.Stderr);
        Assert.That(warned.Stderr, Does.Contain("warning SB3472").And.Contain("@external/3f2a9c01b7de/App.1.0.0.nupkg").And.Contain("SecureBuildArtifactRoot"));
    }
}

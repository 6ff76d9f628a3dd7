using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>A fake project on disk (root/App/App.csproj) and helpers to run the recording tasks on it.</summary>
public abstract class TaskTestBase
{
    protected TempDirectory Dir { get; private set; } = null!;

    protected string Root => Dir.Path("repo");
    protected string ProjectDir => Dir.Path("repo/App");
    protected string ProjectFile => Dir.Path("repo/App/App.csproj");
    protected string LinkDir => Dir.Path("repo/App/bin/Release/attestations");
    protected string StateDir => Dir.Path("repo/App/obj/securebuild");

    /// <summary>An ed25519 key pair written as key files: repo-outside/keys/build.key(.pub).</summary>
    protected (string PrivatePath, string PublicPath, SigningKey Key) BuildKey { get; private set; }

    [SetUp]
    public void CreateProject()
    {
        Dir = new TempDirectory(GetType().Name);
        Dir.CreateDirectory("repo/.git");
        Dir.Write("repo/App/App.csproj", "<Project Sdk=\"SecureBuild.Sdk\" />");
        var key = SigningKey.Generate(KeyType.Ed25519);
        var privatePath = Dir.Write("keys/build.key", key.ExportPrivate());
        var publicPath = Dir.Write("keys/build.key.pub", key.ExportPublic());
        BuildKey = (privatePath, publicPath, key);
    }

    [TearDown]
    public void DeleteProject() => Dir.Dispose();

    protected static ITaskItem[] Items(params string[] paths) => paths.Select(p => (ITaskItem)new TaskItem(p)).ToArray();

    /// <summary>One of the signing settings the targets pass as <c>SigningSettings</c> (ItemSpec = name, metadata Value).</summary>
    protected static ITaskItem Setting(string name, string value)
    {
        var item = new TaskItem(name);
        item.SetMetadata("Value", value);
        return item;
    }

    /// <summary>The compile step of the fake project with its materials recorded, writing provenance signed per <paramref name="settings"/>.</summary>
    protected RecordStepProducts SignedCompileStep(FakeBuildEngine engine, params ITaskItem[] settings)
    {
        var source = Dir.Write("repo/App/Program.cs", "class P {}");
        Assert.That(Materials(engine, "compile", source, ProjectFile).Execute(), Is.True, engine.Log);
        var dll = Dir.Write("repo/App/bin/Release/App.dll", "assembly");
        var step = Products(engine, "compile", dll);
        step.WriteProvenance = true;
        step.SigningSettings = settings;
        return step;
    }

    protected RecordStepMaterials Materials(IBuildEngine engine, string step, params string[] files) => new()
    {
        BuildEngine = engine,
        StepName = step,
        MaterialsFile = Path.Combine(StateDir, step + ".materials.json"),
        Materials = Items(files),
        ProjectDirectory = ProjectDir,
        RootDirectory = Root,
        ExcludeDirectories = new[] { LinkDir },
    };

    protected RecordStepProducts Products(IBuildEngine engine, string step, params string[] files) => new()
    {
        BuildEngine = engine,
        StepName = step,
        MaterialsFile = Path.Combine(StateDir, step + ".materials.json"),
        Products = Items(files),
        Command = new[] { "dotnet", "msbuild", "{project}", "-t:CoreCompile", "-p:Configuration=Release" },
        ProjectFile = ProjectFile,
        SigningKey = BuildKey.PrivatePath,
        LinkDirectory = LinkDir,
        ProjectDirectory = ProjectDir,
        RootDirectory = Root,
        ExcludeDirectories = new[] { LinkDir },
    };

    /// <summary>Runs git in the repository root; fails the test when git does.</summary>
    protected void Git(params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo("git") { WorkingDirectory = Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var error = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.That(process.ExitCode, Is.EqualTo(0), error.Result);
    }

    protected static Link LoadLink(string path, PublicKey key)
    {
        Assert.That(File.Exists(path), Is.True, $"expected the link {path}");
        var block = Metablock.Load(path);
        Assert.That(block.Signatures, Has.Count.EqualTo(1));
        Assert.That(block.VerifySignature(key), Is.True, $"{path} is not validly signed by {key.KeyId}");
        return Link.FromJson(block.Signed);
    }

    protected static string LinkName(string step, PublicKey key) => $"{step}.{key.KeyId.Substring(0, 8)}.link";

    protected static string Sha256(string path) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();

    protected string[] FilesIn(string directory) =>
        Directory.Exists(directory) ? Directory.GetFiles(directory, "*", SearchOption.AllDirectories) : Array.Empty<string>();
}

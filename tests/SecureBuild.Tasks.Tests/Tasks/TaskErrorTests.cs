using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>Every misconfiguration is one MSBuild error with its SB code, the task fails, and nothing is left in the link directory.</summary>
public sealed class TaskErrorTests : TaskTestBase
{
    private void AssertFailedWith(Microsoft.Build.Utilities.Task task, FakeBuildEngine engine, string code)
    {
        var result = task.Execute();

        Assert.That(result, Is.False, engine.Log);
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { code }), engine.Log);
        Assert.That(engine.Errors.Single().Message, Is.Not.Empty);
        Assert.That(FilesIn(LinkDir), Is.Empty, "no link or temporary file may be left in the link directory");
    }

    private RecordStepProducts ProductsOfADll(FakeBuildEngine engine)
    {
        var task = Products(engine, "compile", Dir.Write("repo/App/bin/App.dll", "a"));
        task.FallbackMaterials = Items(ProjectFile);
        return task;
    }

    [Test]
    public void SB1001_the_signing_key_file_does_not_exist()
    {
        var engine = new FakeBuildEngine();
        var task = ProductsOfADll(engine);
        task.SigningKey = Dir.Path("keys/no-such.key");

        AssertFailedWith(task, engine, "SB1001");
        Assert.That(engine.Errors.Single().Message, Does.Contain("no-such.key"));
    }

    [Test]
    public void SB1003_a_public_key_where_the_private_key_is_needed()
    {
        var engine = new FakeBuildEngine();
        var task = ProductsOfADll(engine);
        task.SigningKey = BuildKey.PublicPath;

        AssertFailedWith(task, engine, "SB1003");
    }

    [Test]
    public void SB1007_no_signing_key_when_one_is_required()
    {
        var engine = new FakeBuildEngine();
        var task = ProductsOfADll(engine);
        task.SigningKey = "  ";
        task.RequireSigningKey = true;
        task.DevelopmentKeyFile = Dir.Path("devkey/development-key");

        AssertFailedWith(task, engine, "SB1007");
        Assert.That(File.Exists(task.DevelopmentKeyFile), Is.False, "no development key may be created when a real key is required");
        Assert.That(engine.Warnings, Is.Empty);
    }

    [TestCase("md5")]
    [TestCase("sha256;sha1")]
    public void SB1012_an_unknown_hash_algorithm_in_the_products_task(string algorithms)
    {
        var engine = new FakeBuildEngine();
        var task = ProductsOfADll(engine);
        task.HashAlgorithms = algorithms;

        AssertFailedWith(task, engine, "SB1012");
    }

    [Test]
    public void SB1012_an_unknown_hash_algorithm_in_the_materials_task()
    {
        var engine = new FakeBuildEngine();
        var task = Materials(engine, "compile", ProjectFile);
        task.HashAlgorithms = "sha3-256";

        AssertFailedWith(task, engine, "SB1012");
        Assert.That(File.Exists(task.MaterialsFile), Is.False);
    }

    [Test]
    public void SB1013_an_artifact_root_without_a_prefix()
    {
        var engine = new FakeBuildEngine();
        var task = ProductsOfADll(engine);
        var good = new TaskItem(Dir.Path("tools-a"));
        good.SetMetadata("Prefix", "@a");
        task.ArtifactRoots = new ITaskItem[] { good, new TaskItem(Dir.Path("tools-b")) };

        AssertFailedWith(task, engine, "SB1013");
        Assert.That(engine.Errors.Single().Message, Does.Contain("tools-b"));
    }

    [Test]
    public void SB1013_in_the_materials_task()
    {
        var engine = new FakeBuildEngine();
        var task = Materials(engine, "compile", ProjectFile);
        var root = new TaskItem(Dir.Path("tools"));
        root.SetMetadata("Prefix", " ");
        task.ArtifactRoots = new ITaskItem[] { root };

        AssertFailedWith(task, engine, "SB1013");
        Assert.That(File.Exists(task.MaterialsFile), Is.False);
    }
}

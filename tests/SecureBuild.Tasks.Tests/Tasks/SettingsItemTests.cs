using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
using SecureBuild.Core.Recording;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>
/// The one settings item (the SDK's _SecureBuildSettings, resolved once per project) the recording tasks take instead
/// of ~18 repeated parameters: it records the same link as the parameters, a parameter given on its own wins, and a
/// task with neither fails with its SB code.
/// </summary>
public sealed class SettingsItemTests : TaskTestBase
{
    private TaskItem SettingsFor(string? signingKey = null, string requireSigningKey = "false")
    {
        var item = new TaskItem("SecureBuild");
        item.SetMetadata("ProjectDirectory", ProjectDir);
        item.SetMetadata("ProjectFile", ProjectFile);
        item.SetMetadata("RootDirectory", Root);
        item.SetMetadata("LinkDirectory", LinkDir);
        item.SetMetadata("ExcludeDirectories", LinkDir);
        item.SetMetadata("HashAlgorithms", "sha256");
        item.SetMetadata("SigningKey", signingKey ?? BuildKey.PrivatePath);
        item.SetMetadata("RequireSigningKey", requireSigningKey);
        item.SetMetadata("Signing", "key");
        return item;
    }

    private RecordStepProducts ProductsWithSettingsOnly(IBuildEngine engine, ITaskItem settings, string dll) => new()
    {
        BuildEngine = engine,
        StepName = "compile",
        MaterialsFile = Path.Combine(StateDir, "compile.materials.json"),
        Products = Items(dll),
        FallbackMaterials = Items(ProjectFile),
        Command = new[] { "dotnet", "msbuild", "{project}", "-t:CoreCompile", "-p:Configuration=Release" },
        Settings = settings,
    };

    [Test]
    public void The_settings_item_alone_records_the_link_the_separate_parameters_record()
    {
        var dll = Dir.Write("repo/App/bin/App.dll", "a");
        var engine = new FakeBuildEngine();
        var materials = new RecordStepMaterials
        {
            BuildEngine = engine, StepName = "compile", MaterialsFile = Path.Combine(StateDir, "compile.materials.json"), Materials = Items(ProjectFile), Settings = SettingsFor(),
        };
        Assert.That(materials.Execute(), Is.True, engine.Log);
        var products = ProductsWithSettingsOnly(engine, SettingsFor(), dll);
        Assert.That(products.Execute(), Is.True, engine.Log);
        var fromSettings = File.ReadAllBytes(products.LinkFile!);
        Assert.That(products.LinkFile, Is.EqualTo(Path.Combine(LinkDir, LinkName("compile", BuildKey.Key.Public))));

        File.Delete(products.LinkFile!);
        var byParameters = Products(new FakeBuildEngine(), "compile", dll);
        Assert.That(Materials(engine, "compile", ProjectFile).Execute(), Is.True, engine.Log);
        Assert.That(byParameters.Execute(), Is.True);
        var link = LoadLink(byParameters.LinkFile!, BuildKey.Key.Public);
        Assert.That(byParameters.LinkFile, Is.EqualTo(products.LinkFile));
        Assert.That(link.Products.Keys, Is.EqualTo(new[] { "App/bin/App.dll" }));
        Assert.That(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(byParameters.LinkFile!))),
            Is.EqualTo(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(fromSettings))), "the same link, byte for byte");
    }

    [Test]
    public void A_parameter_given_on_its_own_wins_over_the_settings_item()
    {
        var dll = Dir.Write("repo/App/bin/App.dll", "a");
        var engine = new FakeBuildEngine();
        var task = ProductsWithSettingsOnly(engine, SettingsFor(signingKey: Dir.Path("keys/no-such.key")), dll);
        task.SigningKey = BuildKey.PrivatePath;
        var elsewhere = Dir.Path("repo/App/links");
        task.LinkDirectory = elsewhere;

        Assert.That(task.Execute(), Is.True, engine.Log);
        Assert.That(task.LinkFile, Is.EqualTo(Path.Combine(elsewhere, LinkName("compile", BuildKey.Key.Public))));
    }

    [Test]
    public void SB1600_a_recording_task_without_the_settings_item_or_the_parameter()
    {
        var engine = new FakeBuildEngine();
        var task = new RecordStepMaterials { BuildEngine = engine, StepName = "compile", MaterialsFile = Path.Combine(StateDir, "compile.materials.json"), Materials = Items(ProjectFile) };

        Assert.That(task.Execute(), Is.False);
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { RecordingSettingsException.Missing }), engine.Log);
        Assert.That(engine.Errors.Single().Message, Does.Contain("ProjectDirectory").And.Contain("_SecureBuildSettings"));
    }

    [Test]
    public void SB1600_products_without_a_link_directory()
    {
        var engine = new FakeBuildEngine();
        var settings = SettingsFor();
        settings.SetMetadata("LinkDirectory", "");
        var task = ProductsWithSettingsOnly(engine, settings, Dir.Write("repo/App/bin/App.dll", "a"));

        Assert.That(task.Execute(), Is.False);
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { RecordingSettingsException.Missing }), engine.Log);
        Assert.That(engine.Errors.Single().Message, Does.Contain("LinkDirectory"));
        Assert.That(FilesIn(LinkDir), Is.Empty);
    }

    [Test]
    public void SB1601_a_yes_no_setting_that_is_neither()
    {
        var engine = new FakeBuildEngine();
        var task = ProductsWithSettingsOnly(engine, SettingsFor(requireSigningKey: "yes please"), Dir.Write("repo/App/bin/App.dll", "a"));

        Assert.That(task.Execute(), Is.False);
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { RecordingSettingsException.NotYesNo }), engine.Log);
        Assert.That(engine.Errors.Single().Message, Does.Contain("SecureBuildRequireSigningKey").And.Contain("yes please"));
        Assert.That(FilesIn(LinkDir), Is.Empty);
    }

    [Test]
    public void Verify_dependencies_takes_the_project_file_from_the_settings_item_and_fails_with_SB1600_without_it()
    {
        var engine = new FakeBuildEngine();
        var withSettings = new VerifyDependencies { BuildEngine = engine, Settings = SettingsFor(), ProjectAssetsFile = Dir.Path("repo/App/obj/no-such.assets.json") };
        Assert.That(withSettings.Execute(), Is.True, engine.Log);
        Assert.That(withSettings.ProjectFile, Is.EqualTo(ProjectFile));
        Assert.That(withSettings.SigningKey, Is.EqualTo(BuildKey.PrivatePath));

        var bare = new FakeBuildEngine();
        Assert.That(new VerifyDependencies { BuildEngine = bare, ProjectAssetsFile = Dir.Path("repo/App/obj/no-such.assets.json") }.Execute(), Is.False);
        Assert.That(bare.ErrorCodes, Is.EqualTo(new[] { RecordingSettingsException.Missing }), bare.Log);
    }

    [Test]
    public void Inspect_package_takes_the_attestations_folder_the_key_and_the_policy_folder_from_the_settings_item_and_fails_with_SB1600_without_them()
    {
        var engine = new FakeBuildEngine();
        var withSettings = new InspectPackage { BuildEngine = engine, Settings = SettingsFor() };
        Assert.That(withSettings.Execute(), Is.False, "no package to inspect");
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { Core.Inspection.InspectionCodes.NoPackageToInspect }), engine.Log);
        Assert.That((withSettings.LinkDirectory, withSettings.SigningKey, withSettings.PolicyBaseDirectory), Is.EqualTo((LinkDir, BuildKey.PrivatePath, ProjectDir)));

        var own = new InspectPackage { BuildEngine = new FakeBuildEngine(), Settings = SettingsFor(), LinkDirectory = Dir.Path("elsewhere"), PolicyBaseDirectory = Root };
        own.Execute();
        Assert.That((own.LinkDirectory, own.PolicyBaseDirectory), Is.EqualTo((Dir.Path("elsewhere"), Root)), "a parameter given on its own wins");

        var bare = new FakeBuildEngine();
        Assert.That(new InspectPackage { BuildEngine = bare }.Execute(), Is.False);
        Assert.That(bare.ErrorCodes, Is.EqualTo(new[] { RecordingSettingsException.Missing }), bare.Log);
        Assert.That(bare.Errors.Single().Message, Does.Contain("LinkDirectory"));
    }

    [Test]
    public void Check_reproducible_takes_the_project_root_and_signing_settings_from_the_settings_item_and_fails_with_SB1600_without_a_project()
    {
        var engine = new FakeBuildEngine();
        var withSettings = new CheckReproducible { BuildEngine = engine, Settings = SettingsFor(), ReportDirectory = Dir.Path("report"), Variations = "no-such-variation" };
        Assert.That(withSettings.Execute(), Is.False, "the variation is unknown");
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { "SB1502" }), engine.Log);
        Assert.That((withSettings.Project, withSettings.RootDirectory, withSettings.SigningKey), Is.EqualTo((ProjectFile, Root, BuildKey.PrivatePath)));

        var required = new FakeBuildEngine();
        var settings = SettingsFor(signingKey: "");
        settings.SetMetadata("RequireSigningKey", "true");
        Assert.That(new CheckReproducible { BuildEngine = required, Settings = settings, ReportDirectory = Dir.Path("report") }.Execute(), Is.False);
        Assert.That(required.ErrorCodes, Is.EqualTo(new[] { Core.Crypto.SigningKeyResolver.SigningKeyRequired }), "RequireSigningKey comes from the item too: " + required.Log);

        var bare = new FakeBuildEngine();
        Assert.That(new CheckReproducible { BuildEngine = bare, ReportDirectory = Dir.Path("report") }.Execute(), Is.False);
        Assert.That(bare.ErrorCodes, Is.EqualTo(new[] { RecordingSettingsException.Missing }), bare.Log);
        Assert.That(bare.Errors.Single().Message, Does.Contain("Project"));
    }
}

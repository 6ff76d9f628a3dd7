namespace SecureBuild.Sdk.Tests.Evaluation;

/// <summary>
/// Where links go and what steps are called: settings SecureBuild.Sdk resolves in a target (after the project body),
/// checked by running only that target in-process. These used to take a full `dotnet build` per configuration.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ResolvedSettingsTests
{
    private const string ResolveSettings = "_SecureBuildResolveSettings";

    private static string Normalize(string path) => path.Replace('\\', '/');

    [Test]
    public void Debug_and_Release_keep_their_own_links_and_recording_state()
    {
        var seen = new List<(string Attestations, string FlavorState)>();
        foreach (var configuration in new[] { "Debug", "Release" })
        {
            using var evaluation = SdkEvaluation.Evaluate(globalProperties: new Dictionary<string, string> { ["Configuration"] = configuration });
            var instance = evaluation.Run(ResolveSettings);
            var project = Normalize(Path.Combine(evaluation.Directory, "App")) + "/";
            Assert.That(Normalize(instance.GetPropertyValue("SecureBuildAttestationDir")), Is.EqualTo($"{project}bin/{configuration}/attestations/"));
            Assert.That(Normalize(instance.GetPropertyValue("_SecureBuildFlavorStateDir")), Is.EqualTo($"{project}obj/{configuration}/net10.0/securebuild/"));
            Assert.That(instance.GetPropertyValue("SecureBuildCompileStepName"), Is.EqualTo("compile"));
            seen.Add((Path.GetRelativePath(evaluation.Directory, instance.GetPropertyValue("SecureBuildAttestationDir")),
                Path.GetRelativePath(evaluation.Directory, instance.GetPropertyValue("_SecureBuildFlavorStateDir"))));
        }
        Assert.That(seen[0].Attestations, Is.Not.EqualTo(seen[1].Attestations));
        Assert.That(seen[0].FlavorState, Is.Not.EqualTo(seen[1].FlavorState));
    }

    [Test]
    public void A_multi_targeted_project_names_one_compile_and_publish_step_per_framework_and_one_pack()
    {
        using var evaluation = SdkEvaluation.Evaluate("<TargetFrameworks>net8.0;net10.0</TargetFrameworks>",
            new Dictionary<string, string> { ["TargetFramework"] = "net8.0" });
        var instance = evaluation.Run(ResolveSettings);
        Assert.That(instance.GetPropertyValue("SecureBuildRestoreStepName"), Is.EqualTo("restore"));
        Assert.That(instance.GetPropertyValue("SecureBuildCompileStepName"), Is.EqualTo("compile-net8.0"));
        Assert.That(instance.GetPropertyValue("SecureBuildPublishStepName"), Is.EqualTo("publish-net8.0"));
        Assert.That(instance.GetPropertyValue("SecureBuildPackStepName"), Is.EqualTo("pack"));
    }

    [Test]
    public void A_runtime_identifier_is_part_of_the_compile_publish_and_pack_step_names()
    {
        using var evaluation = SdkEvaluation.Evaluate(globalProperties: new Dictionary<string, string> { ["RuntimeIdentifier"] = "linux-x64" });
        var instance = evaluation.Run(ResolveSettings);
        Assert.That(instance.GetPropertyValue("SecureBuildCompileStepName"), Is.EqualTo("compile-linux-x64"));
        Assert.That(instance.GetPropertyValue("SecureBuildPublishStepName"), Is.EqualTo("publish-linux-x64"));
        Assert.That(instance.GetPropertyValue("SecureBuildPackStepName"), Is.EqualTo("pack-linux-x64"));
    }

    [Test]
    public void Step_names_and_the_attestation_folder_the_project_sets_are_kept()
    {
        using var evaluation = SdkEvaluation.Evaluate(
            "<SecureBuildCompileStepName>build</SecureBuildCompileStepName><SecureBuildAttestationDir>../links</SecureBuildAttestationDir>");
        var instance = evaluation.Run(ResolveSettings);
        Assert.That(instance.GetPropertyValue("SecureBuildCompileStepName"), Is.EqualTo("build"));
        Assert.That(Normalize(instance.GetPropertyValue("SecureBuildAttestationDir")), Is.EqualTo(Normalize(evaluation.Directory) + "/links/"),
            "a relative attestation folder is relative to the project");
    }

    [Test]
    public void A_relative_signing_key_is_relative_to_the_project_whatever_the_current_directory()
    {
        using var evaluation = SdkEvaluation.Evaluate("<SecureBuildSigningKey> ../keys/build.key </SecureBuildSigningKey>");
        var instance = evaluation.Run(ResolveSettings);
        Assert.That(Normalize(instance.GetPropertyValue("_SecureBuildSigningKeyPath")), Is.EqualTo(Normalize(evaluation.Directory) + "/keys/build.key"));
    }

    [Test]
    public void The_shared_settings_are_one_item_whose_metadata_are_what_the_tasks_read()
    {
        using var evaluation = SdkEvaluation.Evaluate("<SecureBuildSigningKey>../keys/build.key</SecureBuildSigningKey><SecureBuildSigning>keyless</SecureBuildSigning>");
        var instance = evaluation.Run(ResolveSettings);
        var settings = instance.GetItems("_SecureBuildSettings").ToList();
        Assert.That(settings, Has.Count.EqualTo(1), "resolved once per project, passed as one item");
        var item = settings[0];
        var custom = item.Metadata.Select(m => m.Name).ToList();
        Assert.That(custom, Is.EquivalentTo(SecureBuild.Core.Recording.RecordingSettings.Names), "the targets and RecordingSettings name the same settings");
        Assert.That(item.GetMetadataValue("LinkDirectory"), Is.EqualTo(instance.GetPropertyValue("SecureBuildAttestationDir")));
        Assert.That(Normalize(item.GetMetadataValue("SigningKey")), Is.EqualTo(Normalize(evaluation.Directory) + "/keys/build.key"));
        Assert.That(item.GetMetadataValue("Signing"), Is.EqualTo("keyless"));
        Assert.That(item.GetMetadataValue("ProjectFile"), Is.EqualTo(instance.FullPath));
        Assert.That(item.GetMetadataValue("RequireSigningKey"), Is.EqualTo("false"));
        Assert.That(item.GetMetadataValue("ProjectDirectory"), Is.EqualTo(instance.GetPropertyValue("MSBuildProjectDirectory")));
        Assert.That(item.GetMetadataValue("RootDirectory"), Is.EqualTo(instance.GetPropertyValue("SecureBuildRootDir")));
        Assert.That(item.GetMetadataValue("DevelopmentKeyFile"), Is.EqualTo(instance.GetPropertyValue("_SecureBuildDevelopmentKeyPath")));
    }

    [Test]
    public void The_reproducibility_check_and_the_package_inspection_take_the_settings_item_instead_of_their_key_parameters_one_by_one()
    {
        using var evaluation = SdkEvaluation.Evaluate();
        var calls = new[] { ("SecureBuildCheckReproducible", "CheckReproducible"), ("SecureBuildInspectPackage", "InspectPackage"), ("SecureBuildInspectPublish", "InspectPackage") };
        foreach (var (targetName, taskName) in calls)
        {
            var target = evaluation.Project.Targets[targetName];
            var task = target.Tasks.Single(t => t.Name == taskName);
            Assert.That(target.DependsOnTargets, Does.Contain(ResolveSettings), targetName);
            Assert.That(task.Parameters["Settings"], Is.EqualTo("@(_SecureBuildSettings)"), targetName);
            Assert.That(task.Parameters.Keys, Has.None.AnyOf("Project", "RootDirectory", "LinkDirectory", "SigningKey", "DevelopmentKeyFile", "RequireSigningKey", "PolicyBaseDirectory"),
                $"{targetName}: what the settings item carries is not passed again");
        }
    }

    [Test]
    public void Clean_removes_the_links_attestations_and_recording_state_and_nothing_else()
    {
        // SecureBuildClean runs after Clean (see SdkImportTests); here it runs alone, in-process: it only deletes files.
        using var evaluation = SdkEvaluation.Evaluate();
        var project = Path.Combine(evaluation.Directory, "App");
        string Touch(string relative)
        {
            var path = Path.Combine(project, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, relative);
            return path;
        }
        var removed = new[]
        {
            Touch("bin/Debug/attestations/compile.0123abcd.link"), Touch("bin/Debug/attestations/compile.0123abcd.intoto.jsonl"),
            Touch("bin/Debug/attestations/compile.provenance.sigstore.json"), Touch("obj/Debug/net10.0/securebuild/compile.materials.json"),
            Touch("obj/securebuild/Debug/pack.materials.json"),
        };
        var kept = new[]
        {
            Touch("bin/Debug/attestations/root.layout"), Touch("bin/Release/attestations/compile.0123abcd.link"),
            Touch("obj/securebuild/hashes.cache"),
        };
        evaluation.Run("SecureBuildClean");
        Assert.That(removed.Where(File.Exists), Is.Empty, "left after clean");
        Assert.That(kept.Where(f => !File.Exists(f)), Is.Empty, "clean removed what is not this configuration's links and state");
    }
}

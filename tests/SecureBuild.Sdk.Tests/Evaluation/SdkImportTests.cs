namespace SecureBuild.Sdk.Tests.Evaluation;

/// <summary>How SecureBuild.Sdk composes with Microsoft.NET.Sdk and with the hooks a repository may set.</summary>
[Parallelizable(ParallelScope.All)]
public sealed class SdkImportTests
{
    [Test]
    public void Alone_it_imports_Microsoft_NET_Sdk_once_around_the_project()
    {
        using var evaluation = SdkEvaluation.Evaluate();
        Assert.That(evaluation.Property("UsingMicrosoftNETSdk"), Is.EqualTo("true"));
        Assert.That(evaluation.ImportsEndingWith("Microsoft.NET.Sdk/Sdk/Sdk.props"), Has.Count.EqualTo(1));
        Assert.That(evaluation.ImportsEndingWith("Microsoft.NET.Sdk/Sdk/Sdk.targets"), Has.Count.EqualTo(1));
        Assert.That(evaluation.ImportsEndingWith("build/SecureBuild.Sdk.targets"), Has.Count.EqualTo(1));
    }

    [Test]
    public void Next_to_Microsoft_NET_Sdk_it_adds_its_targets_without_importing_the_NET_SDK_again()
    {
        var sdk = SdkEvaluation.SdkFolder;
        using var evaluation = SdkEvaluation.EvaluateXml($$"""
            <Project>
              <Import Project="Sdk.props" Sdk="Microsoft.NET.Sdk" />
              <Import Project="{{sdk}}/Sdk.props" />
              <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
              <Import Project="Sdk.targets" Sdk="Microsoft.NET.Sdk" />
              <Import Project="{{sdk}}/Sdk.targets" />
            </Project>
            """);
        Assert.That(evaluation.Property("UsingSecureBuildSdk"), Is.EqualTo("true"));
        Assert.That(evaluation.Property("_SecureBuildImportsMicrosoftNETSdk"), Is.Empty);
        Assert.That(evaluation.ImportsEndingWith("Microsoft.NET.Sdk/Sdk/Sdk.props"), Has.Count.EqualTo(1));
        Assert.That(evaluation.ImportsEndingWith("Microsoft.NET.Sdk/Sdk/Sdk.targets"), Has.Count.EqualTo(1));
        Assert.That(evaluation.Project.Targets.Keys, Does.Contain("SecureBuildRecordCompileMaterials"));
    }

    [Test]
    public void The_Custom_before_and_after_hooks_are_imported_in_order_and_a_missing_one_is_ignored()
    {
        var sdk = SdkEvaluation.SdkFolder;
        static string Hook(string name) => $"<Project><PropertyGroup><HookOrder>$(HookOrder);{name}</HookOrder><{name}Saw>$(SecureBuildEnabled)</{name}Saw></PropertyGroup></Project>";
        using var evaluation = SdkEvaluation.EvaluateXml($$"""
            <Project>
              <PropertyGroup>
                <CustomBeforeSecureBuildSdkProps>$(MSBuildThisFileDirectory)../before.props</CustomBeforeSecureBuildSdkProps>
                <CustomAfterSecureBuildSdkProps>$(MSBuildThisFileDirectory)../after.props</CustomAfterSecureBuildSdkProps>
                <CustomBeforeSecureBuildSdkTargets>$(MSBuildThisFileDirectory)../before.targets</CustomBeforeSecureBuildSdkTargets>
                <CustomAfterSecureBuildSdkTargets>$(MSBuildThisFileDirectory)../missing.targets</CustomAfterSecureBuildSdkTargets>
              </PropertyGroup>
              <Import Project="{{sdk}}/Sdk.props" />
              <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
              <Import Project="{{sdk}}/Sdk.targets" />
            </Project>
            """, files: new Dictionary<string, string>
        {
            ["before.props"] = Hook("BeforeProps"),
            ["after.props"] = Hook("AfterProps"),
            ["before.targets"] = Hook("BeforeTargets"),
        });
        Assert.That(evaluation.Property("HookOrder"), Is.EqualTo(";BeforeProps;AfterProps;BeforeTargets"));
        Assert.That(evaluation.Property("BeforePropsSaw"), Is.Empty, "CustomBefore…Props runs before the SDK's defaults");
        Assert.That(evaluation.Property("AfterPropsSaw"), Is.EqualTo("true"), "CustomAfter…Props sees them");
    }

    [Test]
    public void Every_SDK_target_SecureBuild_hooks_onto_or_depends_on_exists_in_the_NET_SDK_it_runs_with()
    {
        // A .NET SDK that renames CoreCompile, GenerateNuspec, CopyFilesToPublishDirectory, _CalculateInputsOutputsForPack,
        // ... would silently stop a SecureBuild target from ever running: no link, no error. This names the dangling ones.
        using var evaluation = SdkEvaluation.Evaluate();
        var targets = evaluation.Project.Targets;
        var ours = targets.Values.Where(t => t.Name.Contains("SecureBuild", StringComparison.Ordinal)).ToList();
        Assert.That(ours.Select(t => t.Name), Is.SupersetOf(new[]
        {
            "SecureBuildRecordCompileMaterials", "SecureBuildRecordCompile", "SecureBuildRecordPackMaterials", "SecureBuildRecordPack",
            "SecureBuildRecordPublishMaterials", "SecureBuildRecordPublish", "SecureBuildVerifyLayout", "SecureBuildClean",
        }));
        var dangling = ours
            .SelectMany(t => new[] { t.BeforeTargets, t.AfterTargets, t.DependsOnTargets }
                .SelectMany(list => list.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                .Where(name => !name.Contains("$(", StringComparison.Ordinal) && !targets.ContainsKey(name))
                .Select(name => $"{t.Name} -> {name}"))
            .ToList();
        Assert.That(dangling, Is.Empty);
    }

    [TestCase("SecureBuildRecordCompileMaterials", "CoreCompile", true)]
    [TestCase("SecureBuildRecordCompile", "CopyFilesToOutputDirectory", false)]
    [TestCase("SecureBuildRecordPackMaterials", "GenerateNuspec", true)]
    [TestCase("SecureBuildRecordPack", "GenerateNuspec", false)]
    [TestCase("SecureBuildRecordPublishMaterials", "CopyFilesToPublishDirectory", true)]
    [TestCase("SecureBuildRecordPublish", "Publish", false)]
    [TestCase("SecureBuildVerifyDependencies", "ResolveAssemblyReferences", true)]
    [TestCase("SecureBuildClean", "Clean", false)]
    public void Each_recording_target_runs_right_before_or_after_the_step_it_records(string target, string step, bool before)
    {
        using var evaluation = SdkEvaluation.Evaluate();
        var instance = evaluation.Project.Targets[target];
        var hooks = (before ? instance.BeforeTargets : instance.AfterTargets).Split(';', StringSplitOptions.TrimEntries);
        Assert.That(hooks, Does.Contain(step), $"{target} {(before ? "BeforeTargets" : "AfterTargets")}");
    }
}

namespace SecureBuild.Sdk.Tests.Evaluation;

/// <summary>
/// The defaults SecureBuild.Sdk's props and targets give a project, and that a project's own value always wins: what
/// the README's property table promises, checked by evaluation instead of a build.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class PropertyDefaultTests
{
    /// <summary>Every default the README documents for a project that sets nothing.</summary>
    private static readonly (string Name, string Value)[] Defaults =
    {
        ("UsingSecureBuildSdk", "true"),
        ("SecureBuildEnabled", "true"),
        ("SecureBuildDeterministic", "true"),
        ("Deterministic", "true"),
        ("SecureBuildHashAlgorithms", "sha256"),
        ("SecureBuildHashCache", "true"),
        ("SecureBuildSkipUnchanged", "true"),
        ("SecureBuildRequireSigningKey", "false"),
        ("SecureBuildRecordRestore", "true"),
        ("SecureBuildRecordCompile", "true"),
        ("SecureBuildRecordPack", "true"),
        ("SecureBuildRecordPublish", "true"),
        ("SecureBuildUseTaskHost", "false"),
        ("SecureBuildProvenance", "true"),
        ("SecureBuildInspectionTimeout", "10"),
        ("SecureBuildInspect", "false"),
        ("SecureBuildInspectWarnOnly", "false"),
        ("SecureBuildLockMode", "warn"),
        ("SecureBuildRequireLock", "false"),
        ("SecureBuildLockUpdate", "false"),
        ("SecureBuildVerifyPackageCache", "true"),
        ("SecureBuildVerifyPackageSignatures", "true"),
        ("SecureBuildRequireSignedPackages", "false"),
        ("SecureBuildRecordDependencies", "true"),
        ("SecureBuildLockDownloads", "true"),
        ("SecureBuildDeterministicTimestamp", "true"),
        ("SecureBuildReproducibleCommand", "pack"),
        ("SecureBuildReproducibleVariations", "all"),
        ("SecureBuildReproducibleKeep", "false"),
        ("SecureBuildTrace", "off"),
        ("SecureBuildHermetic", "false"),
    };

    [Test]
    public void A_project_that_sets_nothing_gets_the_documented_defaults()
    {
        using var evaluation = SdkEvaluation.Evaluate();
        Assert.Multiple(() =>
        {
            foreach (var (name, value) in Defaults)
            {
                Assert.That(evaluation.Property(name), Is.EqualTo(value), name);
            }
            Assert.That(evaluation.Property("ContinuousIntegrationBuild"), Is.Empty, "a local Debug build keeps full source paths for the debugger");
        });
    }

    [Test]
    public void A_value_the_project_sets_wins_over_every_default()
    {
        // One value unlike each default (booleans flipped, others replaced), set in the project body.
        var overrides = Defaults.Where(d => d.Name != "UsingSecureBuildSdk")
            .Select(d => (d.Name, Value: d.Value switch { "true" => "false", "false" => "true", _ => "x" + d.Value }))
            .ToList();
        var body = string.Concat(overrides.Select(o => $"<{o.Name}>{o.Value}</{o.Name}>"));
        using var evaluation = SdkEvaluation.Evaluate(body);
        Assert.Multiple(() =>
        {
            foreach (var (name, value) in overrides)
            {
                Assert.That(evaluation.Property(name), Is.EqualTo(value), name);
            }
        });
    }

    [TestCase("Release", null, null, "true")]
    [TestCase("Debug", "CI", "true", "true")]
    [TestCase("Debug", "GITHUB_ACTIONS", "true", "true")]
    [TestCase("Debug", "TF_BUILD", "true", "true")]
    [TestCase("Debug", "JENKINS_URL", "http://ci.example/", "true")]
    [TestCase("Debug", "SOURCE_DATE_EPOCH", "1700000000", "true")]
    [TestCase("Debug", "CI", "false", "")]
    [TestCase("Debug", null, null, "")]
    public void ContinuousIntegrationBuild_is_on_for_Release_in_CI_and_with_SOURCE_DATE_EPOCH(string configuration, string? variable, string? value, string expected)
    {
        var global = new Dictionary<string, string> { ["Configuration"] = configuration };
        if (variable is not null)
        {
            global[variable] = value!;
        }
        using var evaluation = SdkEvaluation.Evaluate(globalProperties: global);
        Assert.That(evaluation.Property("ContinuousIntegrationBuild"), Is.EqualTo(expected));
    }

    [Test]
    public void SecureBuildDeterministic_false_from_the_command_line_leaves_the_compiler_settings_to_the_project_and_the_NET_SDK()
    {
        // From -p: or Directory.Build.props, evaluated before the SDK's props.
        using var evaluation = SdkEvaluation.Evaluate(globalProperties:
            new Dictionary<string, string> { ["Configuration"] = "Release", ["CI"] = "true", ["SecureBuildDeterministic"] = "false" });
        Assert.That(evaluation.Property("ContinuousIntegrationBuild"), Is.Empty);
    }

    [Test]
    public void SecureBuildDeterministic_false_in_the_project_body_takes_back_ContinuousIntegrationBuild_before_the_NET_SDK_reads_it()
    {
        // SecureBuild.Sdk wraps Microsoft.NET.Sdk: its Sdk.targets runs before the .NET SDK's targets and can undo the props.
        using var evaluation = SdkEvaluation.Evaluate("<SecureBuildDeterministic>false</SecureBuildDeterministic>",
            new Dictionary<string, string> { ["Configuration"] = "Release" });
        Assert.Multiple(() =>
        {
            Assert.That(evaluation.Property("ContinuousIntegrationBuild"), Is.Empty);
            Assert.That(evaluation.Property("DeterministicSourcePaths"), Is.Not.EqualTo("true"), "Roslyn's targets map source paths only in CI builds");
        });
    }

    [Test]
    public void SecureBuildDeterministic_false_in_the_body_of_a_project_with_SecureBuild_as_an_extra_Sdk_is_a_warning_SB2503()
    {
        // As <Sdk Name="SecureBuild.Sdk" /> next to Microsoft.NET.Sdk, the .NET SDK's targets are imported first and
        // have read ContinuousIntegrationBuild: the SDK cannot take it back, so it says so.
        var sdk = SdkEvaluation.SdkFolder;
        using var evaluation = SdkEvaluation.EvaluateXml($$"""
            <Project>
              <Import Project="Sdk.props" Sdk="Microsoft.NET.Sdk" />
              <Import Project="{{sdk}}/Sdk.props" />
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <SecureBuildDeterministic>false</SecureBuildDeterministic>
              </PropertyGroup>
              <Import Project="Sdk.targets" Sdk="Microsoft.NET.Sdk" />
              <Import Project="{{sdk}}/Sdk.targets" />
            </Project>
            """, new Dictionary<string, string> { ["Configuration"] = "Release" });
        evaluation.Run(out var log, "_SecureBuildCheckDeterminismOff");
        Assert.That(log, Does.Contain("warning SB2503"));

        using var fromCommandLine = SdkEvaluation.EvaluateXml(evaluation.Project.Xml.RawXml,
            new Dictionary<string, string> { ["Configuration"] = "Release", ["SecureBuildDeterministic"] = "false" });
        fromCommandLine.Run(out var quiet, "_SecureBuildCheckDeterminismOff");
        Assert.That(quiet, Does.Not.Contain("SB2503"), "from -p: the props never turned ContinuousIntegrationBuild on");
    }

    [Test]
    public void A_project_that_turns_ContinuousIntegrationBuild_off_in_Release_keeps_it_off()
    {
        using var evaluation = SdkEvaluation.Evaluate("<ContinuousIntegrationBuild>false</ContinuousIntegrationBuild>",
            new Dictionary<string, string> { ["Configuration"] = "Release" });
        Assert.That(evaluation.Property("ContinuousIntegrationBuild"), Is.EqualTo("false"));
    }
}

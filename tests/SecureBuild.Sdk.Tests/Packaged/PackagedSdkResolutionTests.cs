using SecureBuild.Sdk.Tests.Evaluation;

namespace SecureBuild.Sdk.Tests.Packaged;

/// <summary>
/// The packed SecureBuild.Sdk resolves as an MSBuild SDK from a feed (NuGet's SDK resolver, in-process) in the three
/// forms the README shows. Evaluation is enough: that a resolved SDK records links is what the fixture build shows.
/// </summary>
public sealed class PackagedSdkResolutionTests
{
    [TestCase("<Project Sdk=\"SecureBuild.Sdk\">", "")]
    [TestCase("<Project Sdk=\"SecureBuild.Sdk/{version}\">", "")]
    [TestCase("<Project Sdk=\"Microsoft.NET.Sdk\">", "<Sdk Name=\"SecureBuild.Sdk\" />")]
    public void The_package_resolves_as_the_project_SDK_pinned_in_the_attribute_and_as_an_extra_Sdk_element(string opening, string sdkElement)
    {
        var feed = PackagedSdk.Feed;
        using var evaluation = SdkEvaluation.EvaluateXml($$"""
            {{opening.Replace("{version}", feed.Version)}}
              {{sdkElement}}
              <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
            </Project>
            """, prepare: feed.WriteConsumerConfiguration);
        var ours = evaluation.ImportsEndingWith("/Sdk/Sdk.props").Where(p => p.Contains("/securebuild.sdk/" + feed.Version.ToLowerInvariant() + "/", StringComparison.OrdinalIgnoreCase));
        Assert.That(ours, Has.Exactly(1).Items, "Sdk.props of the packed SecureBuild.Sdk " + feed.Version);
        Assert.That(evaluation.Property("UsingSecureBuildSdk"), Is.EqualTo("true"));
        Assert.That(evaluation.ImportsEndingWith("Microsoft.NET.Sdk/Sdk/Sdk.props"), Has.Count.EqualTo(1));
        Assert.That(evaluation.Project.Targets["SecureBuildRecordCompileMaterials"].BeforeTargets, Does.Contain("CoreCompile"));
    }
}

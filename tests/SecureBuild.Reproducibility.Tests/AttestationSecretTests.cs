using SecureBuild.Core.Json;
using SecureBuild.Core.Reproducibility;

namespace SecureBuild.Reproducibility.Tests;

/// <summary>Issue #16 for the reproducibility attestation: `securebuild rebuild -p:FeedPass=…` signs no secret.</summary>
public sealed class AttestationSecretTests
{
    [Test]
    public void The_signed_command_withholds_the_values_of_properties_not_on_the_allow_list()
    {
        var result = new RebuildResult
        {
            Command = new[] { "dotnet", "build", "-c", "Release", "-nologo", "-p:FeedPass=cnry-secret", "-p:Version=1.2.3", "-p:MyFeed=https://cnry-token@feed.example/v3/index.json" },
        };
        result.A.OutputDigests["App/bin/Release/App.dll"] = new string('a', 64);
        var predicate = ReproducibilityAttestation.CreateStatement(result, "1.0.0").Predicate!;
        var command = ((JsonList)predicate["command"]).Select(c => ((JsonString)c).Value);
        Assert.That(command, Is.EqualTo(new[] { "dotnet", "build", "-c", "Release", "-nologo", "-p:FeedPass=REDACTED", "-p:Version=1.2.3", "-p:MyFeed=REDACTED" }));
    }
}

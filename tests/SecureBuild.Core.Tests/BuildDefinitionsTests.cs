using SecureBuild.Core.Diagnostics;
using SecureBuild.Core.Provenance;

namespace SecureBuild.Core.Tests;

/// <summary>The pipeline-state rule a recording step applies before it writes provenance (SB5410), without MSBuild or git.</summary>
public sealed class BuildDefinitionsTests
{
    private static readonly CiContext GitHub = CiContext.Detect(new Dictionary<string, string> { ["GITHUB_ACTIONS"] = "true" });
    private static readonly CiContext Local = CiContext.Detect(new Dictionary<string, string>());

    private static IReadOnlyList<BuildDefinitionFile> Files(bool? committed) => new[]
    {
        new BuildDefinitionFile("global.json", BuildDefinitions.BuildKind, "00", true),
        new BuildDefinitionFile(".github/workflows/ci.yml", BuildDefinitions.PipelineKind, "11", committed),
    };

    [Test]
    public void A_CI_build_with_an_uncommitted_definition_is_SB5410_naming_the_file()
    {
        var found = BuildDefinitions.UncommittedInCi(GitHub, () => Files(committed: false));
        Assert.That((found?.Code, found?.Level), Is.EqualTo(((string?)"SB5410", (DiagnosticLevel?)DiagnosticLevel.Error)));
        Assert.That(found!.Text, Does.Contain("github-actions").And.Contain(".github/workflows/ci.yml").And.Not.Contain("global.json"));
    }

    [Test]
    public void Committed_or_unknown_definitions_a_checkout_without_git_and_local_builds_pass()
    {
        Assert.That(BuildDefinitions.UncommittedInCi(GitHub, () => Files(committed: true)), Is.Null);
        Assert.That(BuildDefinitions.UncommittedInCi(GitHub, () => Files(committed: null)), Is.Null, "git could not say");
        Assert.That(BuildDefinitions.UncommittedInCi(GitHub, () => null), Is.Null, "not a git work tree");
        Assert.That(BuildDefinitions.UncommittedInCi(Local, () => throw new AssertionException("a local build does not ask git")), Is.Null);
    }
}

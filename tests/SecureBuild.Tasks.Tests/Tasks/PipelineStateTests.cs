using SecureBuild.Core.Attestation;
using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>
/// Issue #14, pipeline state: provenance records every build and pipeline definition file with its digest and whether
/// it is committed; a CI build with an uncommitted one fails with SB5410, a local one records it and goes on.
/// </summary>
public sealed class PipelineStateTests : TaskTestBase
{
    [Test]
    public void Provenance_records_each_definition_file_with_its_digest_and_that_it_is_committed()
    {
        var (engine, dll) = CommittedRepository();
        var products = Provenance(engine, dll, new Dictionary<string, string> { ["GITHUB_ACTIONS"] = "true", ["RUNNER_ENVIRONMENT"] = "self-hosted" });
        Assert.That(products.Execute(), Is.True, engine.Log);
        var worker = (JsonMap)((JsonMap)((JsonMap)((JsonMap)Statement()["predicate"])["buildDefinition"])["internalParameters"])["worker"];
        Assert.That(((JsonString)worker["runner"]).Value, Is.EqualTo("self-hosted"), "the worker kind is recorded");

        var definitions = Definitions();
        Assert.That(definitions.Keys, Is.EqualTo(new[] { ".github/workflows/securebuild.yml", ".tekton/securebuild.yaml", "Directory.Build.props", "NuGet.Config", "azure-pipelines.yml", "global.json", "securebuild/policy.json" }));
        Assert.That(definitions["global.json"].Sha256, Is.EqualTo(Sha256(Path.Combine(Root, "global.json"))));
        Assert.That(definitions["global.json"].Kind, Is.EqualTo("build-definition"));
        Assert.That(definitions[".tekton/securebuild.yaml"].Kind, Is.EqualTo("pipeline-definition"));
        Assert.That(definitions.Values.All(d => d.Committed == true), string.Join(", ", definitions.Select(d => $"{d.Key}={d.Value.Committed}")));
    }

    [TestCase("global.json", "{ \"sdk\": { \"version\": \"9.0.100\" } }\n", "a changed build definition")]
    [TestCase(".github/workflows/other.yml", "on: push\njobs: {}\n", "an untracked workflow")]
    public void A_CI_build_with_an_uncommitted_definition_fails_with_SB5410_and_a_local_build_records_it(string file, string text, string why)
    {
        var (engine, dll) = CommittedRepository();
        Dir.Write("repo/" + file, text);

        var ci = Provenance(engine, dll, new Dictionary<string, string> { ["CI"] = "true" });
        Assert.That(ci.Execute(), Is.False, why);
        Assert.That(engine.ErrorCodes, Does.Contain("SB5410"), engine.Log);
        Assert.That(engine.Log, Does.Contain(file).And.Contain("through source control"));
        Assert.That(File.Exists(Path.Combine(LinkDir, "compile.provenance.intoto.jsonl")), Is.False, "nothing is attested for a build of a commit that is not what was built");

        var localEngine = new FakeBuildEngine();
        var local = Provenance(localEngine, dll, new Dictionary<string, string>());
        Assert.That(local.Execute(), Is.True, localEngine.Log);
        Assert.That(Definitions()[file].Committed, Is.False, "a local build records the uncommitted file");
    }

    [Test]
    public void The_state_is_read_relative_to_a_root_below_the_top_of_the_work_tree()
    {
        var (_, _) = CommittedRepository();
        Dir.Write("repo/App/global.json", "{}\n");
        Git("add", "App/global.json");
        Git("-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "app");
        Assert.That(BuildDefinitions.Describe(ProjectDir, inGitWorkTree: true).Single().Committed, Is.True);
        Dir.Write("repo/App/global.json", "{ }\n");
        Assert.That(BuildDefinitions.Describe(ProjectDir, inGitWorkTree: true).Single().Committed, Is.False, "git names it App/global.json; the prefix is stripped");
        Assert.That(BuildDefinitions.Describe(ProjectDir, inGitWorkTree: false).Single().Committed, Is.Null);
    }

    [Test]
    public void A_build_over_an_earlier_builds_obj_folder_is_flagged_as_a_reused_workspace_and_a_first_one_is_not()
    {
        var (engine, dll) = CommittedRepository();
        Assert.That(Provenance(engine, dll, new Dictionary<string, string> { ["CI"] = "true" }).Execute(), Is.True, engine.Log);
        var first = Freshness();
        Assert.That(((JsonString)first["workspace"]).Value, Is.EqualTo("fresh"), "obj/ holds only what this build wrote");
        Assert.That(first.ContainsKey("leftoverProcesses"), Is.True, "the machine's MSBuild nodes and compiler servers are looked at");

        // What an earlier build left: a file in obj/ older than the running build (this test's process).
        var leftover = Dir.Write("repo/App/obj/App.AssemblyInfoInputs.cache", "earlier");
        File.SetLastWriteTimeUtc(leftover, DateTime.UtcNow.AddDays(-1));
        File.Delete(Path.Combine(LinkDir, "compile.provenance.intoto.jsonl"));
        var again = new FakeBuildEngine();
        Assert.That(Materials(again, "compile", Dir.Path("repo/App/Program.cs")).Execute(), Is.True, again.Log);
        Assert.That(Provenance(again, dll, new Dictionary<string, string> { ["CI"] = "true" }).Execute(), Is.True, again.Log);
        var second = Freshness();
        Assert.That(((JsonString)second["workspace"]).Value, Is.EqualTo("reused"));
        var worker = (JsonMap)((JsonMap)((JsonMap)((JsonMap)Statement()["predicate"])["buildDefinition"])["internalParameters"])["worker"];
        Assert.That(((JsonBool)worker["fresh"]).Value, Is.False);
    }

    private JsonMap Freshness() =>
        (JsonMap)((JsonMap)((JsonMap)((JsonMap)((JsonMap)Statement()["predicate"])["buildDefinition"])["internalParameters"])["worker"])["freshness"];

    /// <summary>A committed git repository with every kind of definition file; the engine and a compiled output.</summary>
    private (FakeBuildEngine Engine, string Dll) CommittedRepository()
    {
        Directory.Delete(Dir.Path("repo/.git"), recursive: true);
        Dir.Write("repo/global.json", "{ \"sdk\": { \"version\": \"10.0.100\" } }\n");
        Dir.Write("repo/Directory.Build.props", "<Project />\n");
        Dir.Write("repo/NuGet.Config", "<configuration />\n");
        Dir.Write("repo/securebuild/policy.json", "{}\n");
        Dir.Write("repo/.github/workflows/securebuild.yml", "on: push\njobs: {}\n");
        Dir.Write("repo/.tekton/securebuild.yaml", "apiVersion: tekton.dev/v1\n");
        Dir.Write("repo/azure-pipelines.yml", "steps: []\n");
        Dir.Write("repo/.gitignore", "bin/\nobj/\n");
        Dir.WriteOld("repo/App/Program.cs", "class P {}");
        Git("init", "-q", ".");
        Git("add", "-A");
        Git("-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init");
        var engine = new FakeBuildEngine();
        Assert.That(Materials(engine, "compile", Dir.Path("repo/App/Program.cs")).Execute(), Is.True, engine.Log);
        return (engine, Dir.WriteOld("repo/App/bin/Release/App.dll", "assembly"));
    }

    private RecordStepProducts Provenance(FakeBuildEngine engine, string dll, Dictionary<string, string> environment)
    {
        var products = Products(engine, "compile", dll);
        products.WriteProvenance = true;
        products.EnvironmentSource = () => environment;
        return products;
    }

    private JsonMap Statement() =>
        (JsonMap)JsonParser.Parse(DsseEnvelope.Parse(File.ReadAllText(Path.Combine(LinkDir, "compile.provenance.intoto.jsonl")).Trim()).Payload);

    /// <summary>The definition files the compile provenance names: path to (kind, sha256, committed).</summary>
    private Dictionary<string, (string Kind, string Sha256, bool? Committed)> Definitions()
    {
        var dependencies = (JsonList)((JsonMap)((JsonMap)Statement()["predicate"])["buildDefinition"])["resolvedDependencies"];
        return dependencies.Cast<JsonMap>()
            .Where(d => d.TryGetValue("annotations", out var a) && ((JsonMap)a).TryGetValue("kind", out var k) && ((JsonString)k).Value.EndsWith("-definition", StringComparison.Ordinal))
            .ToDictionary(d => ((JsonString)d["name"]).Value, d =>
            {
                var annotations = (JsonMap)d["annotations"];
                return (((JsonString)annotations["kind"]).Value, ((JsonString)((JsonMap)d["digest"])["sha256"]).Value,
                    annotations.TryGetValue("committed", out var c) ? ((JsonBool)c).Value : (bool?)null);
            }, StringComparer.Ordinal);
    }
}

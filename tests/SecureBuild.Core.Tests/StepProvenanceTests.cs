using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Recording;
using SecureBuild.TestSupport;

namespace SecureBuild.Core.Tests;

/// <summary>
/// The provenance statement of a recorded step, built by the Core service from plain inputs (the MSBuild task only
/// gathers them): which invocation id wins, which parameters are recorded where, and which dependencies are listed.
/// </summary>
public sealed class StepProvenanceTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = ScratchDirectory.Create("sb-step-provenance");

    [TearDown]
    public void TearDown() => ScratchDirectory.TryDelete(_dir);

    private StepProvenanceInputs Inputs(string step = "compile") => new(step, new ArtifactNamer(_dir))
    {
        FinishedOn = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
        SdkPackageVersion = "1.2.3",
    };

    private static JsonMap External(ProvenanceStatement statement) => statement.ExternalParameters;

    private static List<string> DependencyUris(ProvenanceStatement statement) =>
        statement.ResolvedDependencies.Cast<JsonMap>().Select(d => d.TryGetValue("uri", out var u) ? ((JsonString)u).Value : "").ToList();

    [Test]
    public void A_ci_invocation_id_wins_then_the_configured_one_and_the_build_id_is_asked_for_only_when_neither_is_there()
    {
        int asked = 0;
        var inputs = Inputs();
        inputs.BuildInvocationId = () => { asked++; return "urn:uuid:build"; };

        Assert.That(StepProvenance.Create(inputs).InvocationId, Is.EqualTo("urn:uuid:build"));
        Assert.That(asked, Is.EqualTo(1));

        inputs.InvocationId = "configured";
        Assert.That(StepProvenance.Create(inputs).InvocationId, Is.EqualTo("configured"));

        inputs.Environment = new Dictionary<string, string>
        {
            ["GITHUB_ACTIONS"] = "true", ["GITHUB_SERVER_URL"] = "https://github.com", ["GITHUB_REPOSITORY"] = "acme/app", ["GITHUB_RUN_ID"] = "7",
        };
        var statement = StepProvenance.Create(inputs);
        Assert.That(statement.InvocationId, Does.Contain("7"));
        Assert.That(statement.InvocationId, Is.Not.EqualTo("configured"));
        Assert.That(asked, Is.EqualTo(1), "the build's own id is not made when it is not used");
    }

    [Test]
    public void External_parameters_name_the_project_and_step_and_record_allow_listed_build_properties_only()
    {
        var inputs = Inputs("pack");
        inputs.ProjectFile = Path.Combine(_dir, "App", "App.csproj");
        inputs.BuildProperties = new[]
        {
            new KeyValuePair<string, string>("Configuration", "Release"),
            new KeyValuePair<string, string>("TargetFramework", "net10.0"),
            new KeyValuePair<string, string>("RuntimeIdentifier", ""),
            new KeyValuePair<string, string>("Version", "2.0.0"),
            new KeyValuePair<string, string>("FileVersion", "3.0.0"),
        };
        inputs.GlobalProperties = new Dictionary<string, string> { ["Configuration"] = "Release", ["SolutionDir"] = "/x/", ["FileVersion"] = "3.0.0", ["MyFlavor"] = "blue" };
        inputs.Environment = new Dictionary<string, string> { ["Version"] = "2.0.0", ["FileVersion"] = "3.0.0" };

        var external = External(StepProvenance.Create(inputs));

        Assert.That(((JsonString)external["project"]).Value, Is.EqualTo("App/App.csproj"));
        Assert.That(((JsonString)external["step"]).Value, Is.EqualTo("pack"));
        Assert.That(((JsonString)external["configuration"]).Value, Is.EqualTo("Release"));
        Assert.That(((JsonString)external["targetFramework"]).Value, Is.EqualTo("net10.0"));
        Assert.That(external.ContainsKey("runtimeIdentifier"), Is.False, "an empty property is not recorded");
        var global = (JsonMap)external["globalProperties"];
        var withheldGlobal = ((JsonList)external["withheldGlobalProperties"]).Select(n => ((JsonString)n).Value).ToList();
        Assert.That(global.ContainsKey("Configuration") || withheldGlobal.Contains("Configuration"), Is.False, "properties the SDK dispatches with are parameters of their own");
        Assert.That(global.ContainsKey("SolutionDir") || withheldGlobal.Contains("SolutionDir"), Is.False);
        Assert.That(withheldGlobal, Does.Contain("MyFlavor"), "a name that is not allow-listed is said without its value");
        var fromEnvironment = (JsonMap)external["environmentProperties"];
        Assert.That(((JsonString)fromEnvironment["Version"]).Value, Is.EqualTo("2.0.0"), "a property whose value came from the environment");
        Assert.That(fromEnvironment.ContainsKey("FileVersion"), Is.False, "a global property is not also an environment property");
        Assert.That(external.ContainsKey("source"), Is.False, "no commit, no source");
    }

    [Test]
    public void A_recorded_property_name_makes_its_value_recorded_unless_it_looks_like_a_credential()
    {
        var inputs = Inputs();
        inputs.RecordProperties = new[] { "MyFlavor", "FeedToken", "feedtoken" };
        inputs.GlobalProperties = new Dictionary<string, string> { ["MyFlavor"] = "blue", ["FeedToken"] = "s3cr3t" };

        var external = External(StepProvenance.Create(inputs));

        Assert.That(((JsonString)((JsonMap)external["globalProperties"])["MyFlavor"]).Value, Is.EqualTo("blue"));
        Assert.That(external.ToString(), Does.Not.Contain("s3cr3t"));
        Assert.That(StepProvenance.UnrecordableNames(inputs.RecordProperties), Is.EqualTo(new[] { "FeedToken" }), "once per name, whatever its case");
    }

    [Test]
    public void The_git_source_is_the_first_dependency_and_packages_and_packs_follow_the_sdks()
    {
        var contentHash = Enumerable.Range(0, 64).Select(i => (byte)i).ToArray();
        var assets = Path.Combine(_dir, "project.assets.json");
        File.WriteAllText(assets, $$$"""
            {"version": 3, "libraries": {
              "Zeta/1.0.0": {"type": "package", "sha512": "{{{Convert.ToBase64String(contentHash)}}}"},
              "Alpha/2.0.0": {"type": "package"},
              "Lib/1.0.0": {"type": "project"}
            }}
            """);
        var inputs = Inputs();
        inputs.Git = new GitSource("https://example.com/acme/app", "0123456789abcdef0123456789abcdef01234567", dirty: true);
        inputs.SdkVersion = "10.0.100";
        inputs.ProjectAssetsFile = assets;
        inputs.Packs = new[]
        {
            new PackReference("Microsoft.NETCore.App.Ref", "10.0.0", ""),
            new PackReference("Microsoft.NETCore.App.Ref", "10.0.0", ""),
            new PackReference("Microsoft.AspNetCore.App.Ref", "10.0.0", "targeting"),
            new PackReference("", "1.0.0", "pack"),
        };

        var statement = StepProvenance.Create(inputs);

        Assert.That(DependencyUris(statement), Is.EqualTo(new[]
        {
            "https://example.com/acme/app",
            "pkg:generic/dotnet-sdk@10.0.100",
            "pkg:nuget/SecureBuild.Sdk@1.2.3",
            "pkg:nuget/Alpha@2.0.0",
            "pkg:nuget/Zeta@1.0.0",
            "pkg:nuget/Microsoft.AspNetCore.App.Ref@10.0.0",
            "pkg:nuget/Microsoft.NETCore.App.Ref@10.0.0",
        }));
        var deps = statement.ResolvedDependencies.Cast<JsonMap>().ToList();
        Assert.That(((JsonMap)deps[0]["annotations"])["dirty"], Is.SameAs(JsonBool.True));
        Assert.That(((JsonString)((JsonMap)deps[4]["digest"])["sha512"]).Value, Is.EqualTo(Convert.ToHexString(contentHash).ToLowerInvariant()));
        Assert.That(deps[3].ContainsKey("digest"), Is.False, "a package without a content hash has no digest");
        Assert.That(((JsonString)((JsonMap)deps[5]["annotations"])["kind"]).Value, Is.EqualTo("targeting"));
        Assert.That(((JsonString)((JsonMap)deps[6]["annotations"])["kind"]).Value, Is.EqualTo("pack"), "a pack of no stated kind");
        Assert.That(((JsonString)((JsonMap)External(statement)["source"])["uri"]).Value, Is.EqualTo("https://example.com/acme/app"));
        Assert.That(((JsonString)statement.BuilderVersion["dotnet-sdk"]).Value, Is.EqualTo("10.0.100"));
    }

    [Test]
    public void Without_an_sdk_version_or_assets_only_securebuild_itself_is_a_dependency()
    {
        var inputs = Inputs();
        inputs.ProjectAssetsFile = Path.Combine(_dir, "missing.assets.json");

        var statement = StepProvenance.Create(inputs);

        Assert.That(DependencyUris(statement), Is.EqualTo(new[] { "pkg:nuget/SecureBuild.Sdk@1.2.3" }));
        Assert.That(((JsonString)statement.InternalParameters["sdkVersion"]).Value, Is.EqualTo(""));
        Assert.That(statement.BuilderVersion.ContainsKey("dotnet-sdk"), Is.False);
    }

    [Test]
    public void A_nupkg_subject_gets_the_sha512_of_its_bytes_and_nugets_content_hash_and_other_subjects_keep_their_digests()
    {
        var package = Path.Combine(_dir, "out", "App.1.0.0.nupkg");
        Directory.CreateDirectory(Path.GetDirectoryName(package)!);
        var bytes = new byte[] { 0x50, 0x4b, 0x03, 0x04, 1, 2, 3 };
        File.WriteAllBytes(package, bytes);
        var expected = System.Security.Cryptography.SHA512.HashData(bytes);
        var recorded = new Dictionary<string, string> { ["sha256"] = "aa" };

        var subject = StepProvenance.SubjectOf("out/App.1.0.0.nupkg", recorded, new[] { Path.Combine(_dir, "other.dll"), package });

        Assert.That(subject.Digest, Is.EqualTo(new Dictionary<string, string> { ["sha256"] = "aa", ["sha512"] = Convert.ToHexString(expected).ToLowerInvariant() }));
        Assert.That(((JsonString)subject.Annotations!["nugetContentHash"]).Value, Is.EqualTo(Convert.ToBase64String(expected)));
        Assert.That(recorded.Count, Is.EqualTo(1), "the recorded digests are not changed");

        var dll = StepProvenance.SubjectOf("out/App.dll", recorded, new[] { package });
        Assert.That(dll.Digest, Is.SameAs(recorded));
        Assert.That(dll.Annotations, Is.Null);
        var absent = StepProvenance.SubjectOf("out/Gone.1.0.0.nupkg", recorded, new[] { Path.Combine(_dir, "out", "Gone.1.0.0.nupkg") });
        Assert.That(absent.Digest, Is.SameAs(recorded), "a package that is not there keeps the recorded digests");
        Assert.That(absent.Annotations, Is.Null);
        var otherName = StepProvenance.SubjectOf("out/MyApp.1.0.0.nupkg", recorded, new[] { package });
        Assert.That(otherName.Annotations, Is.Null, "a file is matched by its whole name, not a suffix of it");
    }

    [Test]
    public void Subjects_are_every_product_without_named_outputs_else_only_the_named_ones()
    {
        var namer = new ArtifactNamer(_dir);
        var package = Path.Combine(_dir, "App.1.0.0.nupkg");
        File.WriteAllBytes(package, new byte[] { 1 });
        var nuspec = Path.Combine(_dir, "App.nuspec");
        var products = new SortedDictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal)
        {
            ["App.1.0.0.nupkg"] = new Dictionary<string, string> { ["sha256"] = "01" },
            ["App.nuspec"] = new Dictionary<string, string> { ["sha256"] = "02" },
        };

        var all = StepProvenance.Subjects(products, Array.Empty<string>(), new[] { package, nuspec }, namer);
        var named = StepProvenance.Subjects(products, new[] { package }, new[] { package, nuspec }, namer);

        Assert.That(all.Select(s => s.Name), Is.EqualTo(new[] { "App.1.0.0.nupkg", "App.nuspec" }));
        Assert.That(all[0].Digest.ContainsKey("sha512"), Is.True, "a product package is read from the product files");
        Assert.That(named.Select(s => s.Name), Is.EqualTo(new[] { "App.1.0.0.nupkg" }));
        Assert.That(named[0].Digest.ContainsKey("sha512"), Is.True);
    }
}

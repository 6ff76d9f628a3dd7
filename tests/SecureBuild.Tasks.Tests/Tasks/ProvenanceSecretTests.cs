using Microsoft.Build.Utilities;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Json;
using SecureBuild.Tasks.Tests.Infrastructure;
using SecureBuild.Tests.Shared;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>
/// Issue #16 at the task: a canary in global properties, environment variables, a git remote, CI URLs and the
/// step's command reaches no file the recording tasks write, signed payloads included, while provenance
/// still names every parameter and records the allow-listed ones.
/// </summary>
public sealed class ProvenanceSecretTests : TaskTestBase
{
    [Test]
    public void No_canary_reaches_any_file_the_recording_tasks_write_and_every_parameter_is_still_named()
    {
        var canary = SecretCanaries.NewCanary();
        Directory.Delete(Dir.Path("repo/.git"), recursive: true);
        var program = Dir.WriteOld("repo/App/Program.cs", "class P {}");
        Git("init", "-q", ".");
        Git("add", "-A");
        Git("-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init");
        Git("remote", "add", "origin", $"https://builder:{canary}@example.com/acme/app.git");
        var dll = Dir.WriteOld("repo/App/bin/Release/App.dll", "assembly");

        var engine = new FakeBuildEngine();
        foreach (var pair in SecretCanaries.Parameters(canary))
        {
            engine.GlobalProperties[pair.Key] = pair.Value;
        }
        engine.GlobalProperties["Configuration"] = "Release";
        engine.GlobalProperties["RestoreSources"] = $"https://me:{canary}@pkgs.example/v3/index.json;https://feed.example/?sig={canary}";
        engine.GlobalProperties["RepositoryUrl"] = $"https://{canary}@github.com/acme/app";
        engine.GlobalProperties["MyFlavor"] = "blue";
        var environment = SecretCanaries.Parameters(canary, offset: 3);
        environment["GITHUB_ACTIONS"] = "true";
        environment["GITHUB_SERVER_URL"] = $"https://x-access-token:{canary}@github.com";
        environment["GITHUB_REPOSITORY"] = "acme/app";
        environment["GITHUB_RUN_ID"] = "7";
        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["NUGET_PACKAGES"] = Dir.Path("home/.nuget/packages");
        environment["Version"] = "2.0.0";
        environment["FileVersion"] = $"https://t:{canary}@x.example";
        environment["FeedSigning"] = canary;

        Assert.That(Materials(engine, "compile", program).Execute(), Is.True, engine.Log);
        var products = Products(engine, "compile", dll);
        products.WriteProvenance = true;
        products.Command = products.Command.Append($"-p:RestoreSources=https://u:{canary}@pkgs.example/v3/index.json").ToArray();
        products.BuildProperties = new[]
        {
            Property("Configuration", "Release"), Property("Version", "2.0.0"), Property("FileVersion", environment["FileVersion"]),
            Property("NuGetPat", environment["NuGetPat"]), Property("FeedSigning", canary),
        };
        products.RecordProperties = new[] { new TaskItem("MyFlavor") };
        products.EnvironmentSource = () => environment;
        Assert.That(products.Execute(), Is.True, engine.Log);

        SecretCanaries.AssertAbsent(Dir.FullPath, canary);

        var provenance = (JsonMap)JsonParser.Parse(DsseEnvelope.Parse(File.ReadAllText(Path.Combine(LinkDir, "compile.provenance.intoto.jsonl")).Trim()).Payload);
        var predicate = (JsonMap)provenance["predicate"];
        var external = (JsonMap)((JsonMap)predicate["buildDefinition"])["externalParameters"];
        var global = (JsonMap)external["globalProperties"];
        Assert.That(Str(global, "RestoreSources"), Is.EqualTo("https://pkgs.example/v3/index.json;https://feed.example/?sig=REDACTED"));
        Assert.That(Str(global, "RepositoryUrl"), Is.EqualTo("https://github.com/acme/app"));
        Assert.That(Str(global, "MyFlavor"), Is.EqualTo("blue"), "SecureBuildRecordProperty adds a name to the list");
        Assert.That(Names(external, "withheldGlobalProperties"), Is.EquivalentTo(SecretCanaries.Names()));
        Assert.That(Str((JsonMap)external["environmentProperties"], "Version"), Is.EqualTo("2.0.0"));
        Assert.That(Str((JsonMap)external["environmentProperties"], "FileVersion"), Is.EqualTo("https://x.example"));
        Assert.That(Names(external, "withheldEnvironmentProperties"), Is.EquivalentTo(new[] { "FeedSigning" }), "a global property is not said to come from the environment");
        Assert.That(Str((JsonMap)external["source"], "uri"), Is.EqualTo("git+https://example.com/acme/app.git"));

        var internalParameters = (JsonMap)((JsonMap)predicate["buildDefinition"])["internalParameters"];
        var recordedEnvironment = (JsonMap)internalParameters["environment"];
        Assert.That(Str(recordedEnvironment, "DOTNET_CLI_TELEMETRY_OPTOUT"), Is.EqualTo("1"));
        Assert.That(Str(recordedEnvironment, "GITHUB_SERVER_URL"), Is.EqualTo("https://github.com"));
        Assert.That(Str(recordedEnvironment, "NUGET_PACKAGES"), Does.StartWith("@external/").And.EndWith("/packages"), "a home path is named, not written");
        Assert.That(Names(internalParameters, "withheldEnvironment"), Is.SupersetOf(SecretCanaries.Names()));
        var builder = (JsonMap)((JsonMap)predicate["runDetails"])["builder"];
        Assert.That(Str(builder, "id"), Is.EqualTo("https://github.com/actions/runner/self-hosted"), "the CI server URL lost its token");
    }

    [Test]
    public void Listing_a_secret_named_property_warns_SB2600_once_and_still_records_no_value()
    {
        var program = Dir.WriteOld("repo/App/Program.cs", "class P {}");
        var dll = Dir.WriteOld("repo/App/bin/Release/App.dll", "assembly");
        var engine = new FakeBuildEngine();
        engine.GlobalProperties["FeedApiKey"] = "cnry-value-of-a-listed-key";
        foreach (var step in new[] { "compile", "compile-again" })
        {
            Assert.That(Materials(engine, step, program).Execute(), Is.True, engine.Log);
            var products = Products(engine, step, dll);
            products.WriteProvenance = true;
            products.RecordProperties = new[] { new TaskItem("FeedApiKey"), new TaskItem("feedapikey") };
            products.EnvironmentSource = () => new Dictionary<string, string>();
            Assert.That(products.Execute(), Is.True, engine.Log);
        }
        Assert.That(engine.WarningCodes.Count(c => c == "SB2600"), Is.EqualTo(1), engine.Log);
        Assert.That(engine.Warnings.Single(w => w.Code == "SB2600").Message, Does.Contain("'FeedApiKey'"));
        SecretCanaries.AssertAbsent(Dir.FullPath, "cnry-value-of-a-listed-key");
    }

    private static TaskItem Property(string name, string value) => new(name, new Dictionary<string, string> { ["Value"] = value });

    private static string Str(JsonMap json, string key) => ((JsonString)json[key]).Value;

    private static IEnumerable<string> Names(JsonMap json, string key) => ((JsonList)json[key]).Select(n => ((JsonString)n).Value);
}

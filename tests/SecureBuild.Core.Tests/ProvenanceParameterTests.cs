using SecureBuild.Core.Json;
using SecureBuild.Core.Locking;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Recording;
using SecureBuild.Tests.Shared;

namespace SecureBuild.Core.Tests;

/// <summary>
/// What provenance may say about global properties and environment variables: allow-listed names with
/// cleaned values, every other name without its value, and no URL credential anywhere.
/// </summary>
public sealed class ProvenanceParameterTests
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "sb-params", "repo");
    private static readonly string Packages = Path.Combine(Path.GetTempPath(), "sb-params", "home", ".nuget", "packages");

    private static ArtifactNamer Namer() => new(Root, new[] { new KeyValuePair<string, string>(Packages, "@nuget") }, ignoreCase: false);

    private static string Json(RecordedParameters recorded)
    {
        var values = new JsonMap();
        foreach (var pair in recorded.Values)
        {
            values[pair.Key] = pair.Value;
        }
        return new JsonMap { ["values"] = values, ["withheld"] = new JsonList(recorded.Withheld.Select(n => (JsonItem)n)) }.ToString();
    }

    [Test]
    public void A_canary_in_any_unlisted_property_or_variable_in_any_shape_is_never_recorded_only_its_name()
    {
        var canary = SecretCanaries.NewCanary();
        var names = SecretCanaries.Names();
        Assert.That(names, Has.Count.EqualTo(29));
        foreach (var list in new[] { ParameterAllowList.ForProperties(null, Namer().NamePathsIn), ParameterAllowList.ForEnvironment(null, Namer().NamePathsIn) })
        {
            foreach (var shape in SecretCanaries.Shapes(canary))
            {
                var recorded = list.Record(names.Select(n => new KeyValuePair<string, string>(n, shape)));
                var json = Json(recorded);
                Assert.That(json, Does.Not.Contain(canary), shape);
                Assert.That(recorded.Withheld, Is.EquivalentTo(names), "every name is still said");
                Assert.That(recorded.Values, Is.Empty);
            }
        }
    }

    [Test]
    public void Allow_listed_values_are_recorded_with_url_credentials_removed_and_machine_paths_named()
    {
        var canary = SecretCanaries.NewCanary();
        var properties = ParameterAllowList.ForProperties(null, Namer().NamePathsIn).Record(new Dictionary<string, string>
        {
            ["Configuration"] = "Release",
            ["version"] = "1.2.3",
            ["DefineConstants"] = "DEBUG;TRACE",
            ["RestoreSources"] = $"https://me:{canary}@pkgs.example/v3/index.json;https://feed.example/x?sig={canary}&api-version=2;{Root}/feeds/local",
            ["RepositoryUrl"] = $"https://{canary}@github.com/acme/app",
            ["PathMap"] = $"{Root}=/_/",
        });
        Assert.That(properties.Values["Configuration"], Is.EqualTo("Release"));
        Assert.That(properties.Values["version"], Is.EqualTo("1.2.3"), "names compare like MSBuild's: case-insensitively");
        Assert.That(properties.Values["DefineConstants"], Is.EqualTo("DEBUG;TRACE"));
        Assert.That(properties.Values["RestoreSources"],
            Is.EqualTo("https://pkgs.example/v3/index.json;https://feed.example/x?sig=REDACTED&api-version=2;feeds/local"));
        Assert.That(properties.Values["RepositoryUrl"], Is.EqualTo("https://github.com/acme/app"));
        Assert.That(properties.Values["PathMap"], Does.StartWith(".=@external/"), "the root is named, the target is not a path of this machine but is named too");
        Assert.That(properties.Withheld, Is.Empty);

        var environment = ParameterAllowList.ForEnvironment(null, Namer().NamePathsIn).Record(new Dictionary<string, string>
        {
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["NUGET_PACKAGES"] = Packages,
            ["GITHUB_SERVER_URL"] = $"https://x-access-token:{canary}@github.com",
            ["HOME"] = Path.GetDirectoryName(Path.GetDirectoryName(Packages))!,
            ["GITHUB_TOKEN"] = canary,
        });
        Assert.That(environment.Values["DOTNET_CLI_TELEMETRY_OPTOUT"], Is.EqualTo("1"));
        Assert.That(environment.Values["NUGET_PACKAGES"], Is.EqualTo("@nuget"));
        Assert.That(environment.Values["GITHUB_SERVER_URL"], Is.EqualTo("https://github.com"));
        Assert.That(environment.Withheld, Is.EquivalentTo(new[] { "HOME", "GITHUB_TOKEN" }));
        Assert.That(Json(environment), Does.Not.Contain(canary).And.Not.Contain(Path.GetTempPath().TrimEnd('/')));
    }

    [Test]
    public void An_allow_listed_value_that_looks_like_a_secret_is_withheld_and_so_is_a_listed_name_that_says_secret()
    {
        var list = new ParameterAllowList(new[] { "Version", "FeedApiKey", "Note" }, Namer().NamePathsIn);
        var recorded = list.Record(new Dictionary<string, string>
        {
            ["Version"] = "ghp_CANARYcanary0123456789abcdefABCDEF01",
            ["FeedApiKey"] = "plain",
            ["Note"] = "Server=db;Password=hunter2",
        });
        Assert.That(recorded.Values, Is.Empty);
        Assert.That(recorded.Withheld, Is.EquivalentTo(new[] { "Version", "FeedApiKey", "Note" }));
    }

    [Test]
    public void The_user_extends_the_list_by_name()
    {
        var recorded = ParameterAllowList.ForProperties(new[] { "MyFlavor", " " }, Namer().NamePathsIn).Record(new Dictionary<string, string>
        {
            ["MyFlavor"] = "blue",
            ["Other"] = "red",
        });
        Assert.That(recorded.Values, Is.EquivalentTo(new Dictionary<string, string> { ["MyFlavor"] = "blue" }));
        Assert.That(recorded.Withheld, Is.EquivalentTo(new[] { "Other" }));
    }

    [Test]
    public void A_name_that_is_itself_a_credential_is_not_even_named()
    {
        var recorded = ParameterAllowList.ForEnvironment(null, Namer().NamePathsIn).Record(new Dictionary<string, string>
        {
            ["ghp_CANARYcanary0123456789abcdefABCDEF01"] = "1",
            ["https://u:p@host"] = "1",
            ["Fine"] = "1",
        });
        Assert.That(recorded.Withheld, Is.EquivalentTo(new[] { "Fine" }));
    }

    [Test]
    public void The_sdk_readme_lists_every_name_recorded_with_its_value()
    {
        var directory = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "SecureBuild.Sdk.sln")))
        {
            directory = directory.Parent;
        }
        Assert.That(directory, Is.Not.Null, "the test runs inside the repository");
        var readme = File.ReadAllText(Path.Combine(directory!.FullName, "src", "SecureBuild.Sdk", "README.md"));
        foreach (var name in ParameterAllowList.DefaultProperties.Concat(ParameterAllowList.DefaultEnvironment))
        {
            Assert.That(readme, Does.Contain($"`{name}`"), $"{name} is recorded with its value but the README does not say so");
        }
    }

    [Test]
    public void A_command_line_keeps_allow_listed_property_values_and_withholds_every_other()
    {
        var canary = SecretCanaries.NewCanary();
        var command = ParameterAllowList.ForProperties(new[] { "MyFlavor" }, Namer().NamePathsIn).RedactCommand(new[]
        {
            "dotnet", "build", "-c", "Release", "-p:Configuration=Release", $"-p:Pat={canary}", $"/p:FeedPass={canary};Version=1.2.3",
            $"--property:MyFeed=https://{canary}@h.example", "-p", $"NUGET_CREDS={canary}", "--source", $"https://u:{canary}@feed.example/v3/index.json",
            "-property:DefineConstants=A;B", "-p:TargetFrameworks=\"net8.0;net10.0\"", "-P:MyFlavor=blue", $"-p:{canary}", "-t:CoreCompile",
            $"-p:PathMap={Root}=/_/",
        });
        Assert.That(command, Is.EqualTo(new[]
        {
            "dotnet", "build", "-c", "Release", "-p:Configuration=Release", "-p:Pat=REDACTED", "/p:FeedPass=REDACTED;Version=1.2.3",
            "--property:MyFeed=REDACTED", "-p", "NUGET_CREDS=REDACTED", "--source", "https://feed.example/v3/index.json",
            "-property:DefineConstants=A;B", "-p:TargetFrameworks=\"net8.0;net10.0\"", "-P:MyFlavor=blue", "-p:REDACTED", "-t:CoreCompile",
            command[^1],
        }));
        Assert.That(command[^1], Does.StartWith("-p:PathMap=.=@external/"), "a machine path in an allow-listed value is named");
    }

    [TestCase("https://user:pass@host.example/path", "https://host.example/path")]
    [TestCase("https://TOKEN@host.example", "https://host.example")]
    [TestCase("https://a@b@host.example:8443/p?q", "https://host.example:8443/p?REDACTED")]
    [TestCase("https://acct.blob.example/c/f.zip?sv=2022-11-02&se=2030&sig=abc%2Bdef", "https://acct.blob.example/c/f.zip?sv=2022-11-02&se=2030&sig=REDACTED")]
    [TestCase("https://h/cb?code=xyz&state=s&access_token=t&id_token=i", "https://h/cb?code=REDACTED&state=s&access_token=REDACTED&id_token=REDACTED")]
    [TestCase("https://h/s3?X-Amz-Credential=a&X-Amz-Signature=b&X-Amz-Security-Token=c&X-Amz-Date=d", "https://h/s3?X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&X-Amz-Security-Token=REDACTED&X-Amz-Date=d")]
    [TestCase("https://h/p?ApiKey=1&password=2&pwd=3&client_secret=4&pat=5&foo=bar", "https://h/p?ApiKey=REDACTED&password=REDACTED&pwd=REDACTED&client_secret=REDACTED&pat=REDACTED&foo=bar")]
    [TestCase("https://h/p?foo=ghp_CANARYcanary0123456789abcdefABCDEF01", "https://h/p?foo=REDACTED")]
    [TestCase("https://h/ghp_CANARYcanary0123456789abcdefABCDEF01/feed", "https://h/REDACTED/feed")]
    [TestCase("https://h/#access_token=t&token_type=bearer", "https://h/#access_token=REDACTED&token_type=REDACTED")]
    [TestCase("https://dev.azure.com/org/proj/_build/results?buildId=42", "https://dev.azure.com/org/proj/_build/results?buildId=42")]
    [TestCase("git+https://github.com/acme/app.git", "git+https://github.com/acme/app.git")]
    [TestCase("ssh://git@github.com/acme/app.git", "ssh://github.com/acme/app.git")]
    [TestCase("pkg:nuget/Newtonsoft.Json@13.0.3", "pkg:nuget/Newtonsoft.Json@13.0.3")]
    [TestCase("not a url", "not a url")]
    [TestCase("", "")]
    public void A_url_loses_its_credentials_and_keeps_the_rest(string url, string expected) =>
        Assert.That(UrlRedaction.Redact(url), Is.EqualTo(expected));

    [Test]
    public void Every_url_in_a_text_is_redacted()
    {
        Assert.That(UrlRedaction.RedactAll("a https://u:p@h/x;b,http://t@h2/?token=1 \"ftp://me:pw@f/\""),
            Is.EqualTo("a https://h/x;b,http://h2/?token=REDACTED \"ftp://f/\""));
    }

    [Test]
    public void Every_string_of_a_statement_is_redacted_values_and_names_alike()
    {
        var canary = SecretCanaries.NewCanary();
        var statement = new JsonMap
        {
            ["a"] = new JsonList(new JsonString($"https://{canary}@h/x"), 1, true),
            ["b"] = new JsonMap { [$"https://x:{canary}@h"] = $"https://h/?sig={canary}" },
            ["c"] = "plain",
        };
        var text = UrlRedaction.RedactAll(statement).ToString().TrimEnd();
        Assert.That(text, Does.Not.Contain(canary));
        Assert.That(text, Is.EqualTo("{\"a\":[\"https://h/x\",1,true],\"b\":{\"https://h\":\"https://h/?sig=REDACTED\"},\"c\":\"plain\"}"));
    }

    [Test]
    public void A_git_remote_becomes_a_source_uri_without_any_credential()
    {
        var canary = SecretCanaries.NewCanary();
        foreach (var remote in new[]
        {
            $"https://builder:{canary}@example.com/acme/app.git",
            $"https://{canary}@example.com/acme/app.git",
            $"https://example.com/acme/app.git?token={canary}",
            $"ssh://git:{canary}@example.com/acme/app.git",
            $"oops@{canary}@example.com:acme/app.git",
        })
        {
            var uri = GitSource.NormalizeRemote(remote);
            Assert.That(uri, Does.Not.Contain(canary), remote);
            Assert.That(uri, Does.EndWith("example.com/acme/app.git"), remote);
        }
    }

    [Test]
    public void The_lock_names_a_download_url_without_credentials_and_its_digest_does_not_depend_on_them()
    {
        var first = PackageSources.PortableUrl("https://u:p1@files.example/tool.zip?sv=1&sig=first");
        var second = PackageSources.PortableUrl("https://files.example/tool.zip?sv=1&sig=rotated");
        Assert.That(first, Is.EqualTo(second), "a rotated SAS signature is not a different download");
        Assert.That(first, Does.StartWith("https://files.example/tool.zip?sha256:"));
        Assert.That(PackageSources.PortableUrl("https://files.example/tool.zip?sv=2&sig=x"), Is.Not.EqualTo(first), "other parameters still count");
    }

    [Test]
    public void Absolute_paths_in_a_value_are_named_like_artifacts()
    {
        var namer = Namer();
        var home = Path.Combine(Path.GetTempPath(), "sb-params", "home");
        Assert.That(namer.NamePathsIn("DEBUG;TRACE"), Is.EqualTo("DEBUG;TRACE"));
        Assert.That(namer.NamePathsIn("1.2.3"), Is.EqualTo("1.2.3"));
        Assert.That(namer.NamePathsIn("https://host.example/a/b"), Is.EqualTo("https://host.example/a/b"));
        Assert.That(namer.NamePathsIn(Root), Is.EqualTo("."));
        Assert.That(namer.NamePathsIn(Path.Combine(Root, "src", "App")), Is.EqualTo("src/App"));
        Assert.That(namer.NamePathsIn(Packages + "/"), Is.EqualTo("@nuget"));
        Assert.That(namer.NamePathsIn(Path.Combine(Packages, "newtonsoft.json")), Is.EqualTo("@nuget/newtonsoft.json"));
        Assert.That(namer.NamePathsIn($"{Path.Combine(home, "feed")};file://{Path.Combine(home, "other")}"),
            Does.Match("^@external/[0-9a-f]{12}/feed;file://@external/[0-9a-f]{12}/other$"));
        Assert.That(namer.NamePathsIn($"x={home}/.dotnet/tools"), Does.Not.Contain(home));
    }
}

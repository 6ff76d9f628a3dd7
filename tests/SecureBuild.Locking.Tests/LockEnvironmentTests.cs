using SecureBuild.Core.Diagnostics;
using SecureBuild.Core.Locking;

namespace SecureBuild.Locking.Tests;

/// <summary>What every lock check starts from (<see cref="LockEnvironment"/>): the lock as loaded, and the environment as observed.</summary>
public sealed class LockEnvironmentTests
{
    private string _root = "";

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("sb-lockenv-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private string LockPath => Path.Combine(_root, RepositoryLock.DefaultFileName);

    [Test]
    public void No_lock_is_a_message_and_with_a_required_lock_SB1403()
    {
        var optional = LockEnvironment.Load(LockPath, RepositoryLock.DefaultFileName, _root, requireLock: false);
        Assert.That((optional.Lock, optional.Finding?.Level), Is.EqualTo(((RepositoryLock?)null, (DiagnosticLevel?)DiagnosticLevel.Message)));
        Assert.That(optional.Finding!.Text, Does.Contain("securebuild lock"));

        var required = LockEnvironment.Load(LockPath, RepositoryLock.DefaultFileName, _root, requireLock: true);
        Assert.That((required.Lock, required.Finding?.Code, required.Finding?.Level), Is.EqualTo(((RepositoryLock?)null, "SB1403", (DiagnosticLevel?)DiagnosticLevel.Error)));
    }

    [Test]
    public void A_lock_of_another_repository_is_SB1402_and_this_repository_s_lock_is_loaded()
    {
        var foreign = new RepositoryLock();
        foreign.Projects["Elsewhere/Elsewhere.csproj"] = new LockedProject();
        LockFile.Save(foreign, LockPath);
        var loaded = LockEnvironment.Load(LockPath, RepositoryLock.DefaultFileName, _root, requireLock: false);
        Assert.That((loaded.Lock, loaded.Finding?.Code), Is.EqualTo(((RepositoryLock?)null, "SB1402")));
        Assert.That(loaded.Finding!.Text, Does.Contain("Elsewhere/Elsewhere.csproj"));

        Directory.CreateDirectory(Path.Combine(_root, "Elsewhere"));
        File.WriteAllText(Path.Combine(_root, "Elsewhere", "Elsewhere.csproj"), "<Project />");
        var ours = LockEnvironment.Load(LockPath, RepositoryLock.DefaultFileName, _root, requireLock: true);
        Assert.That((ours.Finding, ours.Lock?.Projects.Keys.Single()), Is.EqualTo(((CodedDiagnostic?)null, "Elsewhere/Elsewhere.csproj")));
    }

    [Test]
    public void The_environment_is_the_sdk_global_json_the_MSBuild_SDK_packages_found_with_their_content_hash_and_the_tools()
    {
        var project = Path.Combine(_root, "App", "App.csproj");
        Directory.CreateDirectory(Path.GetDirectoryName(project)!);
        File.WriteAllText(project, """<Project Sdk="My.Sdk/2.0.0" />""");
        File.WriteAllText(Path.Combine(_root, "global.json"), """{ "sdk": { "version": "10.0.100" }, "msbuild-sdks": { "Other.Sdk": "1.0.0", "Gone.Sdk": "3.0.0" } }""");
        Directory.CreateDirectory(Path.Combine(_root, ".config"));
        File.WriteAllText(Path.Combine(_root, ".config", "dotnet-tools.json"), """{ "version": 1, "isRoot": true, "tools": { "demo.tool": { "version": "1.2.3", "commands": [ "demo" ] } } }""");
        var packages = Path.Combine(_root, "packages");
        foreach (var (id, hash) in new[] { ("my.sdk/2.0.0", "AAAA"), ("other.sdk/1.0.0", "BBBB") })
        {
            Directory.CreateDirectory(Path.Combine(packages, id));
            File.WriteAllText(Path.Combine(packages, id, ".nupkg.metadata"), $$"""{ "version": 2, "contentHash": "{{hash}}" }""");
        }

        var observed = LockEnvironment.Observe(project, _root, "10.0.100", packages, sdkPackageDirectory: null);

        Assert.That((observed.SdkVersion, observed.GlobalJsonObserved, observed.GlobalJson?.SdkVersion), Is.EqualTo(("10.0.100", true, "10.0.100")));
        Assert.That(observed.MSBuildSdks!.ToDictionary(kv => kv.Key, kv => kv.Value.ContentHash),
            Is.EqualTo(new Dictionary<string, string> { ["my.sdk/2.0.0"] = "AAAA", ["other.sdk/1.0.0"] = "BBBB" }), "a package not in the folder is left out");
        Assert.That(observed.Tools!.Keys, Is.EqualTo(new[] { "demo.tool" }));
        Assert.That(LockEnvironment.Observe(project, _root, "", packages, null).SdkVersion, Is.Null, "no SDK version: not observed");
    }
}

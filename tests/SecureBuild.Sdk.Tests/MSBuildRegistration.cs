using Microsoft.Build.Locator;

/// <summary>
/// Outside any namespace, so NUnit runs it once before every test of the assembly: registers the MSBuild of the .NET
/// SDK the repository's global.json pins (the one `dotnet build` would use), before any Microsoft.Build type loads.
/// </summary>
[SetUpFixture]
public sealed class MSBuildRegistration
{
    [OneTimeSetUp]
    public void Register()
    {
        // Evaluation reads environment variables as properties: a test that wants CI (or SOURCE_DATE_EPOCH) says so with
        // a global property, so this test host's own CI=true (.ci/run) must not decide a default behind the test's back.
        foreach (var name in Run.CiVariables.Append("SOURCE_DATE_EPOCH").Append("SecureBuildSigningKey"))
        {
            Environment.SetEnvironmentVariable(name, null);
        }
        if (MSBuildLocator.IsRegistered)
        {
            return;
        }
        var pinned = new Version(RepositoryRoot.PinnedSdkVersion());
        var instances = MSBuildLocator.QueryVisualStudioInstances(new VisualStudioInstanceQueryOptions
        {
            DiscoveryTypes = DiscoveryType.DotNetSdk,
            WorkingDirectory = RepositoryRoot.Path,
        }).ToList();
        // global.json rolls forward to the latest patch of the pinned feature band.
        var sdk = instances.Where(i => i.Version.Major == pinned.Major && i.Version.Minor == pinned.Minor && i.Version.Build / 100 == pinned.Build / 100)
            .OrderByDescending(i => i.Version).FirstOrDefault();
        Assert.That(sdk, Is.Not.Null, $"no .NET SDK {pinned.Major}.{pinned.Minor}.{pinned.Build / 100}xx among: " +
            string.Join(", ", instances.Select(i => $"{i.Version} ({i.MSBuildPath})")));
        MSBuildLocator.RegisterInstance(sdk!);
    }
}

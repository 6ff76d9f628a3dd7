using SecureBuild.IntegrationTests.Infrastructure;

/// <summary>Outside any namespace, so NUnit runs it once around every test of the assembly.</summary>
[SetUpFixture]
public sealed class AssemblySetup
{
    [OneTimeSetUp]
    public void SetUp() => SdkFeed.PackOnce();

    [OneTimeTearDown]
    public void TearDown() => SdkFeed.CleanUp();
}

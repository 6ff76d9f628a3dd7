using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>Stops the shared reference servers (and deletes their scratch folders) once every test of the assembly ran.</summary>
[SetUpFixture]
public sealed class ReferenceServerCleanUp
{
    [OneTimeTearDown]
    public void StopServers() => ReferenceServer.Shared.Dispose();
}

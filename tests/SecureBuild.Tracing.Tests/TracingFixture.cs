namespace SecureBuild.Tracing.Tests;

/// <summary>What every tracer test needs: Linux (elsewhere the tests are ignored) and a fresh directory, removed after.</summary>
[NonParallelizable]
public abstract class TracingFixture
{
    /// <summary>The test's own directory.</summary>
    protected string Dir { get; private set; } = "";

    [SetUp]
    public void CreateDirectory()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("The tracer is Linux only.");
        }

        Dir = Tracer.TempDirectory();
    }

    [TearDown]
    public void RemoveDirectory() => Tracer.Cleanup(Dir);
}

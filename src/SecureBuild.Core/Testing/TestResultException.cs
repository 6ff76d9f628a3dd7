using SecureBuild.Core.Diagnostics;

namespace SecureBuild.Core.Testing;

/// <summary>The test step could not be attested (SB5460–SB5499): the results file is missing, unreadable or not a test run.</summary>
public sealed class TestResultException : CodedException
{
    /// <summary>No results file where the test run was to write it.</summary>
    public const string ResultsMissing = "SB5460";

    /// <summary>The results file is not a readable TRX test run.</summary>
    public const string ResultsUnreadable = "SB5461";

    /// <summary>The results file names a test assembly the step did not record as a material.</summary>
    public const string ForeignAssembly = "SB5463";

    /// <summary>A referenced project's assembly next to the test assembly differs from the output the step records.</summary>
    public const string CopyDiffers = "SB5465";

    public TestResultException(string code, string message, string fix, Exception? innerException = null)
        : base(code, message, fix, innerException)
    {
    }
}

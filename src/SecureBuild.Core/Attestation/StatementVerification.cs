namespace SecureBuild.Core.Attestation;

/// <summary>
/// The outcome of checking a signed statement about an artifact (SLSA provenance, an inspection attestation): passed,
/// or every reason it did not.
/// </summary>
public sealed class StatementVerification
{
    public StatementVerification(IReadOnlyList<string> failures, InTotoStatement? statement)
    {
        Failures = failures;
        Statement = statement;
    }

    public bool Passed => Failures.Count == 0;

    public IReadOnlyList<string> Failures { get; }

    /// <summary>The statement whose signature verified (null when none did).</summary>
    public InTotoStatement? Statement { get; }
}

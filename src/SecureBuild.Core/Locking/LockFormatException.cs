namespace SecureBuild.Core.Locking;

/// <summary>
/// A lock file that cannot be used: not JSON, not the schema this version writes, edited by hand (its
/// digest no longer matches), or holding a machine path. The message names the file and the place.
/// </summary>
public sealed class LockFormatException : Exception
{
    public LockFormatException(LockFormatProblem problem, string message) : base(message) => Problem = problem;

    public LockFormatProblem Problem { get; }
}

/// <summary>Why a lock file was rejected.</summary>
public enum LockFormatProblem
{
    /// <summary>Unreadable, not JSON, or not the lock schema.</summary>
    Malformed,

    /// <summary>Well-formed, but its content no longer matches its digest: edited by hand or merged badly.</summary>
    DigestMismatch,

    /// <summary>Written by a newer SecureBuild (higher schema version).</summary>
    UnsupportedVersion,
}

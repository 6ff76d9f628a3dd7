namespace SecureBuild.Core.Tuf;

/// <summary>
/// A TUF refusal or failure: the code (SB5200..SB5399), what is wrong (naming the role, version and rule) and the fix.
/// Every attack the TUF specification names has its own code, so a log says which one was stopped.
/// </summary>
public sealed class TufException : Exception
{
    /// <summary>Metadata that is not valid TUF metadata (not JSON, a field missing or of the wrong type, wrong _type).</summary>
    public const string Malformed = "SB5200";

    /// <summary>Fewer valid signatures from distinct keys of the role than its threshold (also: signed by unknown or unsupported keys only).</summary>
    public const string ThresholdNotMet = "SB5201";

    /// <summary>A new root whose version is not exactly the trusted root's version plus one.</summary>
    public const string RootVersionNotConsecutive = "SB5202";

    /// <summary>A rollback attack: a version lower than the one already trusted (timestamp, snapshot, or a role listed in snapshot).</summary>
    public const string Rollback = "SB5203";

    /// <summary>A freeze attack: metadata expired at the verification time.</summary>
    public const string Expired = "SB5204";

    /// <summary>A mix-and-match attack: metadata whose version, length or hashes differ from what the metadata above it lists.</summary>
    public const string MixAndMatch = "SB5205";

    /// <summary>An endless-data attack: a file longer than its limit (the listed length, or the client's cap).</summary>
    public const string TooLarge = "SB5206";

    /// <summary>A file could not be fetched (network error, timeout, HTTP status, missing file).</summary>
    public const string FetchFailed = "SB5207";

    /// <summary>No role that is trusted for the target's path lists the target.</summary>
    public const string TargetNotFound = "SB5208";

    /// <summary>A target whose length or hashes differ from its trusted target info (arbitrary-software attack).</summary>
    public const string TargetMismatch = "SB5209";

    /// <summary>More root versions than the client walks in one update, or more delegated roles than it visits for one target.</summary>
    public const string LimitReached = "SB5210";

    /// <summary>The local trusted metadata (cache or given trusted root) cannot be read or written.</summary>
    public const string LocalState = "SB5211";

    /// <summary>A repository operation (trust init/add/sign/rotate/publish) cannot be done as asked.</summary>
    public const string Repository = "SB5212";

    /// <summary>A repository operation was given a key that is not one of the role's keys, or a key file that cannot sign.</summary>
    public const string WrongKey = "SB5213";

    public TufException(string code, string message, string fix)
        : base($"{code}: {message} {fix}")
    {
        Code = code;
        Reason = message;
        Fix = fix;
    }

    public TufException(string code, string message, string fix, Exception inner)
        : base($"{code}: {message} {fix}", inner)
    {
        Code = code;
        Reason = message;
        Fix = fix;
    }

    /// <summary>SB5200..SB5213.</summary>
    public string Code { get; }

    /// <summary>What is wrong, without code and fix.</summary>
    public string Reason { get; }

    /// <summary>What to do about it.</summary>
    public string Fix { get; }
}

using SecureBuild.Core.Diagnostics;

namespace SecureBuild.Core.Locking;

/// <summary>What kind of pinned thing drifted; each kind has its own SB14xx error and SB24xx warning code.</summary>
public enum DriftKind
{
    Sdk = 10,
    GlobalJson = 11,
    MSBuildSdk = 12,
    Tool = 13,
    Source = 14,
    Project = 15,
    Reference = 20,
    Package = 21,
    Download = 22,
    Pack = 23,
    File = 24,
    Signature = 25,
}

/// <summary>One thing that differs between the lock and what the build sees, said precisely.</summary>
public sealed class LockDifference
{
    public LockDifference(DriftKind kind, string subject, string? locked, string? actual, string description)
    {
        Kind = kind;
        Subject = subject;
        Locked = locked;
        Actual = actual;
        Description = description;
    }

    public DriftKind Kind { get; }

    /// <summary>What drifted, e.g. "App/App.csproj (net10.0): package newtonsoft.json".</summary>
    public string Subject { get; }

    /// <summary>The value in the lock (null: not in the lock).</summary>
    public string? Locked { get; }

    /// <summary>The value the build sees (null: gone).</summary>
    public string? Actual { get; }

    /// <summary>The sentence saying what changed.</summary>
    public string Description { get; }

    /// <summary>The error code (strict mode).</summary>
    public string ErrorCode => "SB14" + ((int)Kind).ToString("00", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The warning code (local builds).</summary>
    public string WarningCode => "SB24" + ((int)Kind).ToString("00", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>What every drift report ends with: how to accept an intended change.</summary>
    public const string UpdateHint = "If the change is intended, update the lock deliberately with `securebuild lock --update` (or build with -p:SecureBuildLockUpdate=true) and commit securebuild.lock.json.";

    /// <summary>The drift as the build reports it: an error in strict mode, a warning otherwise, with how to accept it.</summary>
    public CodedDiagnostic Report(bool strict)
    {
        var text = $"Lock drift: {Description}. {UpdateHint}";
        return strict ? CodedDiagnostic.Error(ErrorCode, text) : CodedDiagnostic.Warning(WarningCode, text);
    }

    public override string ToString() => Description;
}

namespace SecureBuild.Core.InToto.Verification;

/// <summary>
/// Why verification failed. The names mirror the exception type Debian's in-toto-verify 1.3.1 reports for the same
/// input, so a verdict can be compared with the reference one to one.
/// </summary>
public enum FailureKind
{
    /// <summary>
    /// Malformed metadata: not JSON, a BOM, duplicate keys, wrong types, invalid rules, a file over the size limit,
    /// unsupported key material. Also used where the reference crashes with a Python error (KeyError, IndexError,
    /// JSONDecodeError, ...): we fail closed with an explanation instead.
    /// </summary>
    FormatError,

    /// <summary>The layout lacks a valid signature by one of the given layout keys (or no key was given).</summary>
    SignatureVerificationError,

    /// <summary>The layout's <c>expires</c> is in the past.</summary>
    LayoutExpiredError,

    /// <summary>Fewer link files than the step's threshold exist (counted before any signature is checked).</summary>
    LinkNotFoundError,

    /// <summary>
    /// Fewer validly signed links by distinct authorized functionaries than the threshold, or the links of a step
    /// with threshold &gt; 1 report different artifacts.
    /// </summary>
    ThresholdVerificationError,

    /// <summary>A DISALLOW rule matched an artifact, or a REQUIRE rule did not find its artifact.</summary>
    RuleVerificationError,

    /// <summary>An inspection command exited non-zero (or, with an empty command, returned nothing).</summary>
    BadReturnValueError,

    /// <summary>An inspection command ran longer than the timeout (Python's <c>subprocess.TimeoutExpired</c>).</summary>
    TimeoutExpired,

    /// <summary>An inspection command could not be started (Python's FileNotFoundError / PermissionError).</summary>
    OSError,
}

/// <summary>Why a link file was not counted towards its step's threshold (the reference drops these silently).</summary>
public enum DropReason
{
    /// <summary>The file carries a signature by the key its file name names, but the signature does not verify.</summary>
    BadSignature,

    /// <summary>The file has no signature by the key its file name names (signed by another key, or unsigned).</summary>
    NotSignedByNamedKey,

    /// <summary>The step authorizes a keyid that the layout's <c>keys</c> map does not contain.</summary>
    UnknownKey,

    /// <summary>Only with <see cref="LayoutVerifierOptions.RequireLinkNameMatch"/>: the link's <c>name</c> is not the step's name.</summary>
    NameMismatch,

    /// <summary>
    /// A link signed with a certificate (a step with <c>cert_constraints</c>) whose certificate does not make its signer
    /// a functionary of the step: not for the signing key, not a valid X.509-SVID from the layout's root CAs, or
    /// meeting none of the step's constraints.
    /// </summary>
    CertificateNotAccepted,
}

/// <summary>What stopped verification. Verification stops at the first failure, in the reference's order.</summary>
public sealed class VerificationFailure
{
    internal VerificationFailure(FailureKind kind, string message)
    {
        Kind = kind;
        Message = message;
    }

    public FailureKind Kind { get; }

    /// <summary>One self-contained sentence (or a few) saying what is wrong.</summary>
    public string Message { get; }

    /// <summary>The step or inspection concerned, if any.</summary>
    public string? Step { get; internal set; }

    /// <summary>"materials" or "products" for rule failures.</summary>
    public string? Side { get; internal set; }

    /// <summary>The artifact rule that failed, as written in the layout.</summary>
    public IReadOnlyList<string>? Rule { get; internal set; }

    /// <summary>The artifacts concerned (sorted), for rule failures.</summary>
    public IReadOnlyList<string> Artifacts { get; internal set; } = Array.Empty<string>();

    /// <summary>The key concerned (layout key or functionary key), if any.</summary>
    public string? KeyId { get; internal set; }

    /// <summary>The file concerned (layout or link path), if any.</summary>
    public string? File { get; internal set; }

    /// <summary>Further explanation, one item per line (why each artifact was not consumed, why each link was dropped, ...).</summary>
    public IReadOnlyList<string> Details { get; internal set; } = Array.Empty<string>();

    /// <summary>The chain of sublayout steps this failure happened in (empty for the root layout).</summary>
    public IReadOnlyList<string> SublayoutPath { get; internal set; } = Array.Empty<string>();

    /// <summary>The rule as one string, e.g. "MATCH src/* WITH PRODUCTS FROM build".</summary>
    public string? RuleText => Rule is null ? null : string.Join(" ", Rule);

    public override string ToString() => $"{Kind}: {Message}";
}

/// <summary>Something that did not fail verification but deserves attention.</summary>
public sealed class VerificationWarning
{
    internal VerificationWarning(string message, string? step = null, string? file = null)
    {
        Message = message;
        Step = step;
        File = file;
    }

    public string Message { get; }

    public string? Step { get; }

    public string? File { get; }

    public override string ToString() => Message;
}

/// <summary>A link file that was read but not counted.</summary>
public sealed class DroppedLink
{
    internal DroppedLink(string step, string keyId, string file, DropReason reason, string message)
    {
        Step = step;
        KeyId = keyId;
        File = file;
        Reason = reason;
        Message = message;
    }

    public string Step { get; }

    /// <summary>The authorized keyid whose file this is (from the file name).</summary>
    public string KeyId { get; }

    public string File { get; }

    public DropReason Reason { get; }

    public string Message { get; }

    public override string ToString() => Message;
}

/// <summary>The outcome of <see cref="LayoutVerifier.Verify(byte[], string, System.Collections.Generic.IReadOnlyList{SecureBuild.Core.Crypto.PublicKey})"/>.</summary>
public sealed class VerificationResult
{
    internal VerificationResult(IReadOnlyList<VerificationFailure> failures, IReadOnlyList<VerificationWarning> warnings,
        IReadOnlyList<DroppedLink> droppedLinks, IReadOnlyList<string> log, int stepCount, int inspectionCount, int linkCount)
    {
        Failures = failures;
        Warnings = warnings;
        DroppedLinks = droppedLinks;
        Log = log;
        StepCount = stepCount;
        InspectionCount = inspectionCount;
        LinkCount = linkCount;
    }

    /// <summary>True when the supply chain verified: no failure.</summary>
    public bool Passed => Failures.Count == 0;

    /// <summary>The failure that stopped verification (verification stops at the first one, like the reference).</summary>
    public IReadOnlyList<VerificationFailure> Failures { get; }

    public IReadOnlyList<VerificationWarning> Warnings { get; }

    /// <summary>Every link file that was read but not counted, with the reason (including sublayouts).</summary>
    public IReadOnlyList<DroppedLink> DroppedLinks { get; }

    /// <summary>What was checked, in order (for verbose output).</summary>
    public IReadOnlyList<string> Log { get; }

    /// <summary>Steps of the root layout.</summary>
    public int StepCount { get; }

    /// <summary>Inspections of the root layout.</summary>
    public int InspectionCount { get; }

    /// <summary>Link files counted towards thresholds, over all (sub)layouts.</summary>
    public int LinkCount { get; }

    /// <summary>
    /// For each step of the root layout whose link signatures were checked: the key ids of the functionaries whose
    /// links count for it (a step checked before a failure stopped verification is listed; later ones are not).
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> PerformedBy { get; internal set; } = new Dictionary<string, IReadOnlyList<string>>();
}

namespace SecureBuild.Core.InToto.Verification;

/// <summary>Inputs of <see cref="LayoutVerifier"/> besides the layout and its keys.</summary>
public sealed class LayoutVerifierOptions
{
    /// <summary>The largest link or layout file that is read (256 MiB by default).</summary>
    public const long DefaultMaxMetadataFileBytes = 256L * 1024 * 1024;

    /// <summary>"Now" for the expiry check. Defaults to the system clock (UTC).</summary>
    public Func<DateTimeOffset> Clock { get; set; } = () => DateTimeOffset.UtcNow;

    /// <summary>
    /// Where link files are looked up as <c>&lt;step&gt;.&lt;keyid[:8]&gt;.link</c> (sublayout links in
    /// <c>&lt;step&gt;.&lt;keyid[:8]&gt;/</c> below it). Relative paths are relative to the process's current directory.
    /// </summary>
    public string LinkDirectory { get; set; } = ".";

    /// <summary>Where inspections run and are recorded (in-toto-verify uses its current directory).</summary>
    public string WorkingDirectory { get; set; } = Directory.GetCurrentDirectory();

    /// <summary>Runs inspection commands. Defaults to <see cref="ProcessInspectionRunner"/>.</summary>
    public IInspectionRunner InspectionRunner { get; set; } = new ProcessInspectionRunner();

    /// <summary>How long an inspection command may run (in-toto's LINK_CMD_EXEC_TIMEOUT, 10 s).</summary>
    public TimeSpan InspectionTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Files larger than this are refused with a FormatError.</summary>
    public long MaxMetadataFileBytes { get; set; } = DefaultMaxMetadataFileBytes;

    /// <summary>Write each inspection's (unsigned) link as <c>&lt;name&gt;.link</c> into the working directory, as in-toto-verify does.</summary>
    public bool PersistInspectionLinks { get; set; } = true;

    /// <summary>
    /// Off by default, as in the reference, which never looks at a link's <c>name</c> (a warning is given instead).
    /// On: a link whose <c>name</c> differs from its step is dropped with <see cref="DropReason.NameMismatch"/>.
    /// </summary>
    public bool RequireLinkNameMatch { get; set; }

    /// <summary>
    /// When the links signed with an X.509-SVID were signed (steps with <c>cert_constraints</c>): every certificate
    /// of the SVID's path must have been valid then. Classic links carry no time, and SVIDs live about an hour, so a
    /// later check names the build's time. Null: <see cref="Clock"/>'s now.
    /// </summary>
    public DateTimeOffset? CertificateTime { get; set; }

    /// <summary>The longest validity period of a functionary SVID (short-lived: 24 h by default).</summary>
    public TimeSpan SvidMaxTtl { get; set; } = Spiffe.SvidPolicy.DefaultMaxTtl;
}

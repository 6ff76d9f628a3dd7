namespace SecureBuild.Core.Inspection;

/// <summary>The SB codes of `securebuild inspect` (SB4300..SB4399); README.md documents each with its fix.</summary>
public static class InspectionCodes
{
    /// <summary>The package or folder cannot be read (exit 2).</summary>
    public const string UnreadableInput = "SB4300";

    /// <summary>A file that no recorded step produced and no declared material is (fails).</summary>
    public const string Unaccounted = "SB4301";

    /// <summary>Two entries of the package have the same name (fails).</summary>
    public const string DuplicateEntry = "SB4302";

    /// <summary>The links folder is missing, or a file in it is not an in-toto link (exit 2).</summary>
    public const string UnreadableLinks = "SB4303";

    /// <summary>A link's signature does not verify with the given key, or no given key signed it (exit 2).</summary>
    public const string LinkSignature = "SB4304";

    /// <summary>No links were given: the files were not accounted for.</summary>
    public const string NotAccounted = "SB4305";

    /// <summary>A build file runs a command (Exec).</summary>
    public const string BuildExec = "SB4310";

    /// <summary>A build file defines an inline task (code compiled at the consumer's build).</summary>
    public const string InlineTask = "SB4311";

    /// <summary>A build file downloads a file (DownloadFile).</summary>
    public const string BuildDownload = "SB4312";

    /// <summary>A build file loads a task from an assembly.</summary>
    public const string TaskAssembly = "SB4313";

    /// <summary>A build file (or the nuspec) is not well-formed XML or carries a DTD (fails).</summary>
    public const string UnreadableXml = "SB4314";

    /// <summary>A PowerShell script Visual Studio runs (install.ps1, init.ps1, uninstall.ps1).</summary>
    public const string InstallScript = "SB4315";

    /// <summary>A native library or executable.</summary>
    public const string NativeBinary = "SB4316";

    /// <summary>An analyzer or source generator (runs inside the consumer's compiler).</summary>
    public const string Analyzer = "SB4317";

    /// <summary>A build file, in build/, buildTransitive/ or buildMultiTargeting/ (imported into the consumer's build).</summary>
    public const string BuildFile = "SB4318";

    /// <summary>An assembly calls native code (P/Invoke), naming the library.</summary>
    public const string PInvoke = "SB4320";

    /// <summary>An assembly starts processes.</summary>
    public const string ProcessStart = "SB4321";

    /// <summary>An assembly uses network APIs.</summary>
    public const string Network = "SB4322";

    /// <summary>An assembly emits code at run time (System.Reflection.Emit).</summary>
    public const string ReflectionEmit = "SB4323";

    /// <summary>An assembly embeds a URL or an IP address in its string literals.</summary>
    public const string EmbeddedAddress = "SB4324";

    /// <summary>An assembly is not strong-named.</summary>
    public const string NotStrongNamed = "SB4325";

    /// <summary>An assembly was not built deterministically.</summary>
    public const string NotDeterministic = "SB4326";

    /// <summary>A file named like an assembly is not a readable PE/metadata file (fails).</summary>
    public const string UnreadableAssembly = "SB4327";

    /// <summary>An assembly records the build machine's folder (its PDB path is not mapped to /_/).</summary>
    public const string MachinePath = "SB4329";

    /// <summary>An assembly carries an obfuscator's marker attribute.</summary>
    public const string Obfuscated = "SB4328";

    /// <summary>A dependency declared in the nuspec.</summary>
    public const string Dependency = "SB4330";

    /// <summary>A capability this release has and the baseline did not.</summary>
    public const string NewCapability = "SB4340";

    /// <summary>The baseline package cannot be read (exit 2).</summary>
    public const string UnreadableBaseline = "SB4341";

    /// <summary>--attestation and --signing-key must come together (exit 2).</summary>
    public const string AttestationOptions = "SB4342";

    /// <summary>The attestation cannot be written, or the signing key cannot be read (exit 2).</summary>
    public const string AttestationNotWritten = "SB4343";

    /// <summary>The policy file cannot be read or is not a valid policy (exit 2; a build error).</summary>
    public const string BadPolicy = "SB4344";

    /// <summary>The baseline named as PackageId@Version (or found by --baseline-from-cache) is not in the NuGet global packages folder (exit 2).</summary>
    public const string BaselineNotInCache = "SB4345";

    /// <summary>The command line asks for something impossible (no package, two baselines) (exit 2).</summary>
    public const string InspectUsage = "SB4346";

    /// <summary>SecureBuildInspect: the package pack wrote is not there to inspect (a build error).</summary>
    public const string NoPackageToInspect = "SB4347";

    /// <summary>SecureBuildInspect: the report or the attestation beside the package cannot be written (a build error).</summary>
    public const string InspectOutputNotWritten = "SB4348";

    /// <summary>`--verify-attestation`: no --key, or the key, the attestation or the package cannot be read (exit 2).</summary>
    public const string AttestationUnverifiable = "SB4349";
}

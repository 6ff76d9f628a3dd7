namespace SecureBuild.Core.Recording;

/// <summary>
/// The settings every recording step of one project shares (where artifacts are named from, where links go, how files
/// are hashed, which key signs and how, which SDK built): resolved once per project by the SDK's
/// <c>_SecureBuildResolveSettings</c> target into one <c>_SecureBuildSettings</c> item whose metadata are
/// <see cref="Names"/>, and read here from that metadata. A task's own parameter, when given, wins over the item
/// (tests and hand-written targets set single parameters).
/// <para>
/// Lifetime: the item belongs to one project instance (one evaluation and its targets); nothing is kept in the MSBuild
/// node, so a reused node (node reuse, the MSBuild server, Visual Studio) never carries one build's settings into another.
/// </para>
/// </summary>
public sealed class RecordingSettings
{
    /// <summary>The metadata names of the settings item, in the order the SDK's targets write them.</summary>
    public static readonly IReadOnlyList<string> Names = new[]
    {
        "ProjectDirectory", "ProjectFile", "RootDirectory", "LinkDirectory", "ExcludeDirectories", "HashAlgorithms",
        "SigningKey", "DevelopmentKeyFile", "RequireSigningKey",
        "Signing", "FulcioUrl", "RekorUrl", "TimestampUrl", "TrustedRoot", "TransparencyLog", "IdentityTokenFile",
        "SvidFile", "SvidKeyFile", "SvidBundleFile", "SpiffeEndpoint",
        "SdkVersion", "MSBuildVersion", "RuntimeVersion",
    };

    /// <summary>
    /// The settings of keyless and SPIFFE signing, by their names without the SecureBuild prefix (empty URLs: the
    /// public-good defaults; empty SVID files: the Workload API).
    /// </summary>
    public static readonly IReadOnlyList<string> SigningNames = new[]
    {
        "Signing", "FulcioUrl", "RekorUrl", "TimestampUrl", "TrustedRoot", "TransparencyLog", "IdentityTokenFile",
        "SvidFile", "SvidKeyFile", "SvidBundleFile", "SpiffeEndpoint",
    };

    private RecordingSettings(IReadOnlyDictionary<string, string> values, bool requireSigningKey)
    {
        Values = values;
        RequireSigningKey = requireSigningKey;
    }

    /// <summary>Every setting by name (<see cref="Names"/>); a setting the item does not carry is empty.</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    public string ProjectDirectory => Values["ProjectDirectory"];

    public string ProjectFile => Values["ProjectFile"];

    /// <summary>Empty: the repository root found from the project directory.</summary>
    public string RootDirectory => Values["RootDirectory"];

    /// <summary>The attestation directory.</summary>
    public string LinkDirectory => Values["LinkDirectory"];

    /// <summary>Directories never recorded, ';'-separated.</summary>
    public IReadOnlyList<string> ExcludeDirectories =>
        Values["ExcludeDirectories"].Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries).Select(d => d.Trim()).Where(d => d.Length > 0).ToList();

    public string HashAlgorithms => Values["HashAlgorithms"];

    public string SigningKey => Values["SigningKey"];

    public string DevelopmentKeyFile => Values["DevelopmentKeyFile"];

    public bool RequireSigningKey { get; }

    /// <summary>The keyless signing settings (<see cref="SigningNames"/>) and their values.</summary>
    public IEnumerable<KeyValuePair<string, string>> Signing => SigningNames.Select(n => new KeyValuePair<string, string>(n, Values[n]));

    public string SdkVersion => Values["SdkVersion"];

    public string MSBuildVersion => Values["MSBuildVersion"];

    public string RuntimeVersion => Values["RuntimeVersion"];

    /// <summary>The settings from an item's metadata (<paramref name="metadata"/> returns "" or null for metadata the item lacks).</summary>
    /// <exception cref="RecordingSettingsException">SB1601: a yes/no setting holds something else.</exception>
    public static RecordingSettings FromMetadata(Func<string, string?> metadata)
    {
        if (metadata is null)
        {
            throw new ArgumentNullException(nameof(metadata));
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in Names)
        {
            values[name] = (metadata(name) ?? "").Trim();
        }

        return new RecordingSettings(values, YesNo(values["RequireSigningKey"], "RequireSigningKey", "SecureBuildRequireSigningKey"));
    }

    private static bool YesNo(string value, string name, string property)
    {
        if (value.Length == 0 || string.Equals(value, "false", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        if (string.Equals(value, "true", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        throw new RecordingSettingsException(RecordingSettingsException.NotYesNo,
            $"the setting {name} is '{value}', which is neither true nor false. Set {property} to true or false.");
    }
}

/// <summary>A settings item SecureBuild cannot use, with its SB code.</summary>
public sealed class RecordingSettingsException : Exception
{
    /// <summary>A task got neither the settings item nor the parameter it needs.</summary>
    public const string Missing = "SB1600";

    /// <summary>A yes/no setting holds something else.</summary>
    public const string NotYesNo = "SB1601";

    public RecordingSettingsException(string code, string message) : base(message) => Code = code;

    public string Code { get; }
}

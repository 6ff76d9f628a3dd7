using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Inspection;

/// <summary>What a policy does with a finding: report it (info), warn, or fail the inspection.</summary>
public enum PolicyAction
{
    Allow,
    Warn,
    Deny,
}

/// <summary>
/// Which findings of `securebuild inspect` fail it (docs/inspect-policy.md): per capability code allow / warn / deny,
/// the same for capabilities new against the baseline, the unaccounted paths that are allowed (fnmatch globs, as in
/// in-toto artifact rules) and whether accounting is required (no links is then a failure). A policy file is strict
/// JSON read with the one parser (Core/Json) through the bounded reader; a member it leaves out keeps its default.
/// Findings that say the package is malformed (duplicate entries, unreadable XML or assemblies) always fail.
/// </summary>
public sealed class InspectionPolicy
{
    /// <summary>The "schema" a policy file names.</summary>
    public const string Schema = "https://securebuild.dev/inspect-policy/v1";

    /// <summary>The name of the built-in policy in reports.</summary>
    public const string DefaultName = "default";

    /// <summary>Capability codes that warn by default: what runs at the consumer's build or install.</summary>
    private static readonly HashSet<string> WarnByDefault = new(StringComparer.Ordinal)
    {
        InspectionCodes.BuildExec, InspectionCodes.InlineTask, InspectionCodes.BuildDownload, InspectionCodes.TaskAssembly,
        InspectionCodes.InstallScript,
    };

    /// <summary>The codes "capabilities" may name: the capabilities and the three build-quality notes.</summary>
    public static readonly IReadOnlyList<string> ConfigurableCodes = PackageInspector.CapabilityCodes
        .Concat(new[] { InspectionCodes.NotStrongNamed, InspectionCodes.NotDeterministic, InspectionCodes.MachinePath })
        .OrderBy(c => c, StringComparer.Ordinal).ToList();

    private InspectionPolicy(string name, bool requireAccounting, IReadOnlyList<string> allowUnaccounted,
        IReadOnlyDictionary<string, PolicyAction> capabilities, IReadOnlyDictionary<string, PolicyAction> newCapabilities)
    {
        Name = name;
        RequireAccounting = requireAccounting;
        AllowUnaccounted = allowUnaccounted;
        Capabilities = capabilities;
        NewCapabilities = newCapabilities;
    }

    /// <summary>The built-in policy: an unaccounted file fails, capabilities are reported (build-time code warns).</summary>
    public static InspectionPolicy Default { get; } = new(DefaultName, false, Array.Empty<string>(),
        ConfigurableCodes.ToDictionary(c => c, c => WarnByDefault.Contains(c) ? PolicyAction.Warn : PolicyAction.Allow, StringComparer.Ordinal),
        PackageInspector.CapabilityCodes.OrderBy(c => c, StringComparer.Ordinal).ToDictionary(c => c, _ => PolicyAction.Warn, StringComparer.Ordinal));

    /// <summary>Where the policy came from: "default" or the policy file's name.</summary>
    public string Name { get; }

    /// <summary>True: inspecting without links (SB4305) fails.</summary>
    public bool RequireAccounting { get; }

    /// <summary>Paths in the package that may be unaccounted for (fnmatch globs: <c>*</c> also matches <c>/</c>).</summary>
    public IReadOnlyList<string> AllowUnaccounted { get; }

    /// <summary>The action for each configurable code.</summary>
    public IReadOnlyDictionary<string, PolicyAction> Capabilities { get; }

    /// <summary>The action for a capability new against the baseline (SB4340), by the capability's code.</summary>
    public IReadOnlyDictionary<string, PolicyAction> NewCapabilities { get; }

    /// <summary>Reads a policy file.</summary>
    /// <exception cref="InspectionException">SB4344: the file cannot be read or is not a valid policy.</exception>
    public static InspectionPolicy Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = InputFile.ReadAllBytes(path, InputKind.Metadata);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw new InspectionException(InspectionCodes.BadPolicy, $"the policy file '{path}' cannot be read: {e.Message.TrimEnd('.')}. Give a policy file (docs/inspect-policy.md; `securebuild inspect --print-policy` prints the default).", e);
        }

        return Parse(bytes, Path.GetFileName(path));
    }

    /// <summary>Parses a policy; <paramref name="name"/> names it in messages and reports.</summary>
    /// <exception cref="InspectionException">SB4344: not a valid policy.</exception>
    public static InspectionPolicy Parse(byte[] utf8, string name)
    {
        Exception Fail(string message) => new InspectionException(InspectionCodes.BadPolicy,
            $"the policy '{name}' is not valid: {message} See docs/inspect-policy.md; `securebuild inspect --print-policy` prints a valid one.");

        var root = StrictJson.AsObject(StrictJson.Parse(utf8, "the file", Fail), "the policy", Fail);
        StrictJson.AllowedFields(root, "the policy", Fail, "schema", "requireAccounting", "allowUnaccounted", "capabilities", "newCapabilities");
        var schema = StrictJson.ReqString(root, "schema", "the policy", Fail);
        if (schema != Schema)
        {
            throw Fail($"\"schema\" is \"{StrictJson.Clip(schema)}\", expected \"{Schema}\".");
        }

        var requireAccounting = Default.RequireAccounting;
        if (StrictJson.Opt(root, "requireAccounting") is { } require)
        {
            requireAccounting = require is JsonBool b ? b.Value : throw Fail($"\"requireAccounting\" must be true or false, found {StrictJson.Describe(require)}.");
        }

        var globs = new List<string>();
        var list = StrictJson.OptArray(root, "allowUnaccounted", "the policy", Fail);
        for (var i = 0; i < (list?.Count ?? 0); i++)
        {
            var glob = list![i] is JsonString s ? s.Value : throw Fail($"allowUnaccounted[{i}] must be a string (a glob), found {StrictJson.Describe(list[i])}.");
            if (glob.Length == 0)
            {
                throw Fail($"allowUnaccounted[{i}] is empty.");
            }

            globs.Add(glob);
        }

        return new InspectionPolicy(name, requireAccounting, globs,
            Actions(root, "capabilities", Default.Capabilities, Fail),
            Actions(root, "newCapabilities", Default.NewCapabilities, Fail));
    }

    private static Dictionary<string, PolicyAction> Actions(JsonMap root, string field, IReadOnlyDictionary<string, PolicyAction> defaults, Func<string, Exception> fail)
    {
        var actions = defaults.ToDictionary(a => a.Key, a => a.Value, StringComparer.Ordinal);
        var map = StrictJson.OptObject(root, field, "the policy", fail);
        foreach (var member in map ?? new JsonMap())
        {
            if (!defaults.ContainsKey(member.Key))
            {
                throw fail($"{field}.{StrictJson.Clip(member.Key)} is not a code {field} can name; the codes are {string.Join(", ", defaults.Keys)}.");
            }

            actions[member.Key] = member.Value is JsonString s ? ParseAction(s.Value) ?? throw fail($"{field}.{member.Key} is \"{StrictJson.Clip(s.Value)}\": use \"allow\", \"warn\" or \"deny\".")
                : throw fail($"{field}.{member.Key} must be \"allow\", \"warn\" or \"deny\", found {StrictJson.Describe(member.Value)}.");
        }

        return actions;
    }

    private static PolicyAction? ParseAction(string value) => value switch
    {
        "allow" => PolicyAction.Allow,
        "warn" => PolicyAction.Warn,
        "deny" => PolicyAction.Deny,
        _ => null,
    };

    private static string ActionName(PolicyAction action) => action switch
    {
        PolicyAction.Deny => "deny",
        PolicyAction.Warn => "warn",
        _ => "allow",
    };

    private static FindingSeverity SeverityOf(PolicyAction action) => action switch
    {
        PolicyAction.Deny => FindingSeverity.Error,
        PolicyAction.Warn => FindingSeverity.Warning,
        _ => FindingSeverity.Info,
    };

    /// <summary>The policy as the file it could be read from (every member written out: the effective policy).</summary>
    public JsonMap ToJson()
    {
        var capabilities = new JsonMap();
        foreach (var action in Capabilities.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            capabilities.Add(action.Key, ActionName(action.Value));
        }

        var newCapabilities = new JsonMap();
        foreach (var action in NewCapabilities.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            newCapabilities.Add(action.Key, ActionName(action.Value));
        }

        return new JsonMap
        {
            { "schema", Schema },
            { "requireAccounting", RequireAccounting },
            { "allowUnaccounted", new JsonList(AllowUnaccounted.Select(g => (JsonItem)g)) },
            { "capabilities", capabilities },
            { "newCapabilities", newCapabilities },
        };
    }

    /// <summary>Gives each finding of <paramref name="report"/> the severity this policy sets, and names the policy in it.</summary>
    public void Apply(InspectionReport report)
    {
        var globs = AllowUnaccounted.Select(GlobPattern.Compile).ToList();
        for (var i = 0; i < report.Findings.Count; i++)
        {
            var finding = report.Findings[i];
            report.Findings[i] = finding.Code switch
            {
                InspectionCodes.Unaccounted when globs.FirstOrDefault(g => g.IsMatch(finding.Path)) is { } glob =>
                    With(finding, FindingSeverity.Info, $"{finding.Message} Allowed by the policy's allowUnaccounted \"{glob.Pattern}\"."),
                InspectionCodes.NotAccounted => With(finding, RequireAccounting ? FindingSeverity.Error : FindingSeverity.Warning,
                    RequireAccounting ? finding.Message + " The policy requires accounting (requireAccounting)." : finding.Message),
                InspectionCodes.NewCapability when NewCapabilities.TryGetValue(CapabilityOf(finding), out var action) =>
                    With(finding, SeverityOf(action), action == PolicyAction.Deny ? finding.Message + $" The policy denies new {CapabilityOf(finding)} (newCapabilities): review the change, then approve it in the policy or remove it." : finding.Message),
                _ when Capabilities.TryGetValue(finding.Code, out var action) =>
                    With(finding, SeverityOf(action), action == PolicyAction.Deny ? finding.Message + $" The policy denies {finding.Code} (capabilities): remove it from the package, or allow it in the policy if it is intended." : finding.Message),
                _ => finding,
            };
        }

        report.Policy = Name;
    }

    /// <summary>The code of the capability a new-capability finding is about (its subject starts with it).</summary>
    private static string CapabilityOf(Finding finding)
    {
        var space = finding.Subject.IndexOf(' ');
        return space < 0 ? finding.Subject : finding.Subject.Substring(0, space);
    }

    private static Finding With(Finding finding, FindingSeverity severity, string message) =>
        finding.Severity == severity && ReferenceEquals(message, finding.Message) ? finding
            : new Finding(finding.Code, severity, finding.Path, finding.Subject, message);
}

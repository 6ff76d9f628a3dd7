using SecureBuild.Core.Crypto;
using SecureBuild.Core.Diagnostics;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>A roles file that cannot be used (SB5235-SB5238), or rebuild and release-approval steps that cannot be compiled or recorded (SB5270-SB5275).</summary>
public sealed class RolesException : CodedException
{
    /// <summary>The roles file is unreadable or not a <c>securebuild-roles/v1</c> document.</summary>
    public const string Invalid = "SB5235";

    /// <summary>A layout step that no role's step pattern names.</summary>
    public const string StepWithoutRole = "SB5236";

    /// <summary>The layout's signing keys are not enough of the layout owners.</summary>
    public const string Owners = "SB5237";

    /// <summary>SPIFFE ID functionaries without the trust bundle that anchors them (<c>--spiffe-bundle</c>).</summary>
    public const string SpiffeFunctionary = "SB5238";

    /// <summary>Rebuilders or approvers, and no pack step with a package inside the repository for them to rebuild or approve.</summary>
    public const string NoPackStep = "SB5270";

    /// <summary>The rebuild or approval step's name is one the roles file's build step patterns name too.</summary>
    public const string ReleaseStepTaken = "SB5271";

    /// <summary>A rebuild link asked for, and the two rebuilds did not produce the same bytes.</summary>
    public const string NotReproducible = "SB5272";

    /// <summary>No package to put in a rebuild or approval link.</summary>
    public const string NoPackages = "SB5273";

    /// <summary>A package to approve lies outside the root its name is made relative to.</summary>
    public const string PackageOutsideRoot = "SB5274";

    /// <summary>Reported by <c>verify --roles</c> (not thrown): a step has fewer valid links from its role than the threshold.</summary>
    public const string ThresholdShort = "SB5275";

    public RolesException(string code, string message, string fix)
        : base(code, message, fix, null)
    {
    }
}

/// <summary>One role: who may perform it (public keys and SPIFFE IDs) and how many of them must.</summary>
public sealed class Role
{
    public Role(string name, IReadOnlyList<PublicKey> keys, int threshold, IReadOnlyDictionary<string, string>? keyFiles = null, IReadOnlyList<Spiffe.SpiffePattern>? spiffeIds = null)
    {
        Name = name;
        Keys = keys;
        Threshold = threshold;
        KeyFiles = keyFiles ?? new Dictionary<string, string>();
        SpiffeIds = spiffeIds ?? Array.Empty<Spiffe.SpiffePattern>();
    }

    /// <summary>SPIFFE IDs (exact or <c>/*</c> prefixes) whose X.509-SVID-signed links count for the role's steps.</summary>
    public IReadOnlyList<Spiffe.SpiffePattern> SpiffeIds { get; }

    public string Name { get; }

    public IReadOnlyList<PublicKey> Keys { get; }

    public int Threshold { get; }

    /// <summary>The file each key was read from (as the roles file names it), by key id.</summary>
    public IReadOnlyDictionary<string, string> KeyFiles { get; }

    /// <summary>A key id as a report names it: the key file and the id's first 8 characters.</summary>
    public string Describe(string keyId) =>
        KeyFiles.TryGetValue(keyId, out var file) ? $"{file} ({keyId.Substring(0, Math.Min(8, keyId.Length))})" : keyId;

    /// <summary>The role in one line: its name, functionaries and threshold.</summary>
    public override string ToString() =>
        $"{Name} ({Threshold} of {string.Join(", ", Keys.Select(k => k.KeyId).Distinct(StringComparer.Ordinal).Select(Describe).Concat(SpiffeIds.Select(p => p.ToString())))})";
}

/// <summary>
/// A roles file (<c>securebuild-roles/v1</c>): the layout owners (keys and how many must sign the layout), named
/// roles (functionary keys and a threshold), and which role performs each step (an exact step name, or a prefix
/// ending in <c>*</c>; the exact name, else the longest prefix wins). Key paths are relative to the file.
/// <see cref="Apply"/> turns a generated layout's steps into the roles' functionaries and thresholds.
/// </summary>
public sealed class LayoutRoles
{
    public const string Type = "securebuild-roles/v1";

    /// <summary>Largest roles file read.</summary>
    public const int MaxBytes = 1024 * 1024;

    /// <summary>The rebuild step's default name.</summary>
    public const string DefaultRebuildStep = "rebuild";

    /// <summary>The release-approval step's default name.</summary>
    public const string DefaultApprovalStep = "release";

    private LayoutRoles(Role owners, IReadOnlyDictionary<string, Role> roles, IReadOnlyList<(string Pattern, Role Role)> steps, ReleaseRole? rebuilders, ReleaseRole? approvers)
    {
        Owners = owners;
        Roles = roles;
        Steps = steps;
        Rebuilders = rebuilders;
        Approvers = approvers;
    }

    /// <summary>The layout owners: their keys sign the layout, at least <see cref="Role.Threshold"/> of them.</summary>
    public Role Owners { get; }

    public IReadOnlyDictionary<string, Role> Roles { get; }

    /// <summary>Step patterns in file order.</summary>
    public IReadOnlyList<(string Pattern, Role Role)> Steps { get; }

    /// <summary>Who must rebuild the packages, bit for bit, and how many of them (their step's links); null when the file names none.</summary>
    public ReleaseRole? Rebuilders { get; }

    /// <summary>Who must approve the packages for release, and how many of them; null when the file names none.</summary>
    public ReleaseRole? Approvers { get; }

    /// <exception cref="RolesException">SB5235 unreadable or invalid (a key file that cannot be read included), SB5238 a SPIFFE ID functionary, SB5271 a rebuild or approval step a build step pattern names.</exception>
    public static LayoutRoles Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = InputFile.ReadAllBytes(path, InputKind.Metadata);
        }
        catch (Exception e) when (e is InputFileException || e is IOException || e is UnauthorizedAccessException)
        {
            throw Bad($"the roles file {path} cannot be read: {e.Message}");
        }

        if (bytes.Length > MaxBytes)
        {
            throw Bad($"the roles file {path} is larger than {MaxBytes} bytes.");
        }

        string dir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        Func<string, Exception> fail = m => Bad($"{path}: {m}");
        var root = StrictJson.AsObject(StrictJson.Parse(bytes, "the roles file", fail), "roles", fail);
        StrictJson.AllowedFields(root, "roles", fail, "_type", "layout_owners", "roles", "steps", "rebuilders", "approvers");
        string type = StrictJson.ReqString(root, "_type", "roles", fail);
        if (type != Type)
        {
            throw fail($"_type is \"{StrictJson.Clip(type)}\", not \"{Type}\".");
        }

        var owners = ReadRole("layout owners", StrictJson.ReqObject(root, "layout_owners", "roles", fail), "roles.layout_owners", dir, fail);
        if (owners.SpiffeIds.Count > 0)
        {
            throw fail($"layout_owners names the SPIFFE ID {owners.SpiffeIds[0]}: the layout is signed with the owners' keys, so owners are public key files.");
        }
        var roles = new Dictionary<string, Role>(StringComparer.Ordinal);
        foreach (var entry in StrictJson.ReqObject(root, "roles", "roles", fail))
        {
            string p = $"roles.roles.{entry.Key}";
            if (entry.Key.Length == 0)
            {
                throw fail("a role has an empty name.");
            }

            roles[entry.Key] = ReadRole(entry.Key, StrictJson.AsObject(entry.Value, p, fail), p, dir, fail);
        }

        var steps = new List<(string, Role)>();
        foreach (var entry in StrictJson.ReqObject(root, "steps", "roles", fail))
        {
            if (entry.Key.Length == 0 || entry.Key.IndexOf('*') is int star && star >= 0 && star != entry.Key.Length - 1)
            {
                throw fail($"the step pattern \"{StrictJson.Clip(entry.Key)}\" is not a step name or a prefix ending in one '*'.");
            }

            if (entry.Value is not JsonString name || !roles.TryGetValue(name.Value, out var role))
            {
                throw fail($"steps.{entry.Key} must name one of the roles ({string.Join(", ", roles.Keys)}), not {StrictJson.Describe(entry.Value)}.");
            }

            steps.Add((entry.Key, role));
        }

        if (steps.Count == 0)
        {
            throw fail("steps is empty: no step has a role.");
        }

        var rebuilders = ReadReleaseRole(root, "rebuilders", DefaultRebuildStep, dir, fail);
        var approvers = ReadReleaseRole(root, "approvers", DefaultApprovalStep, dir, fail);
        if (rebuilders is not null && approvers is not null && rebuilders.Step == approvers.Step)
        {
            throw fail($"rebuilders and approvers both name the step \"{StrictJson.Clip(rebuilders.Step)}\": give each its own step.");
        }

        foreach (var release in new[] { rebuilders, approvers }.OfType<ReleaseRole>())
        {
            // The build's steps are the ones "steps" names; a rebuild or approval link must not pass for one of them.
            var taken = steps.FirstOrDefault(s => Matches(s.Item1, release.Step));
            if (taken.Item1 is not null)
            {
                throw new RolesException(RolesException.ReleaseStepTaken,
                    $"{path}: the {release.Role.Name}' step \"{release.Step}\" is also named by the build's step pattern \"{taken.Item1}\" (role {taken.Item2.Name}).",
                    $"Give \"{release.Role.Name}\" a \"step\" name no entry of \"steps\" matches (default \"{(ReferenceEquals(release, rebuilders) ? DefaultRebuildStep : DefaultApprovalStep)}\"), or narrow the pattern.");
            }
        }

        return new LayoutRoles(owners, roles, steps, rebuilders, approvers);
    }

    /// <summary>The rebuild or approval step named <paramref name="step"/>, or null.</summary>
    public ReleaseRole? ReleaseRoleOf(string step) =>
        Rebuilders?.Step == step ? Rebuilders : Approvers?.Step == step ? Approvers : null;

    /// <summary>
    /// Adds the rebuild and approval steps (when the file names rebuilders or approvers) after the build's steps: each
    /// must match the packages the pack steps of <paramref name="projects"/> produced (see <see cref="ReleaseSteps"/>).
    /// <see cref="Apply"/> then gives them their role's keys and threshold.
    /// </summary>
    /// <exception cref="RolesException">SB5270 no pack step with a package in the repository.</exception>
    public void AddReleaseSteps(Layout layout, IReadOnlyList<ProjectLinks> projects)
    {
        if (Rebuilders is null && Approvers is null)
        {
            return;
        }

        var packs = ReleaseSteps.PackSteps(projects);
        if (Rebuilders is { } rebuilders)
        {
            layout.Steps.Add(ReleaseSteps.Rebuild(rebuilders.Step, packs));
        }

        if (Approvers is { } approvers)
        {
            layout.Steps.Add(ReleaseSteps.Approval(approvers.Step, packs));
        }
    }

    /// <summary>The role of a step: the rebuilders' or approvers' step, else its exact name, else the longest matching <c>prefix*</c>; null when none.</summary>
    public Role? RoleOf(string step) =>
        ReleaseRoleOf(step)?.Role
        ?? Steps.Where(s => s.Pattern == step).Select(s => s.Role).FirstOrDefault()
        ?? Steps.Where(s => s.Pattern.EndsWith("*", StringComparison.Ordinal) && Matches(s.Pattern, step))
            .OrderByDescending(s => s.Pattern.Length).Select(s => s.Role).FirstOrDefault();

    /// <summary>A step pattern names the step: the same name, or a prefix ending in '*' that the step starts with.</summary>
    private static bool Matches(string pattern, string step) =>
        pattern == step
        || pattern.EndsWith("*", StringComparison.Ordinal) && step.StartsWith(pattern.Substring(0, pattern.Length - 1), StringComparison.Ordinal);

    /// <summary>Every functionary key of every role (the keys a generated layout starts from).</summary>
    public IReadOnlyList<PublicKey> AllFunctionaries() =>
        Roles.Values.Concat(new[] { Rebuilders?.Role, Approvers?.Role }.OfType<Role>()).SelectMany(r => r.Keys).GroupBy(k => k.KeyId, StringComparer.Ordinal).Select(g => g.First()).ToList();

    /// <summary>Every SPIFFE ID functionary of every role.</summary>
    public IReadOnlyList<Spiffe.SpiffePattern> AllSpiffeIds() =>
        Roles.Values.SelectMany(r => r.SpiffeIds).GroupBy(p => p.ToString(), StringComparer.Ordinal).Select(g => g.First()).ToList();

    /// <summary>
    /// Gives each step of <paramref name="layout"/> its role's keys, SPIFFE IDs (as <c>cert_constraints</c>) and
    /// threshold; keeps only the keys some step names.
    /// </summary>
    /// <exception cref="RolesException">SB5236: a step no pattern names; SB5238: SPIFFE IDs and no root CA in the layout.</exception>
    public void Apply(Layout layout)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var step in layout.Steps)
        {
            var role = RoleOf(step.Name) ?? throw new RolesException(RolesException.StepWithoutRole,
                $"the layout's step '{step.Name}' has no role: no entry of the roles file's \"steps\" names it (patterns: {string.Join(", ", Steps.Select(s => s.Pattern))}).",
                "Add the step, or a prefix pattern such as \"compile*\", to \"steps\" with the role that performs it.");
            step.PubKeys = role.Keys.Select(k => k.KeyId).Distinct(StringComparer.Ordinal).OrderBy(k => k, StringComparer.Ordinal).ToList();
            step.Threshold = role.Threshold;
            step.CertConstraints = role.SpiffeIds.Count == 0 ? new List<CertificateConstraint>() : new List<CertificateConstraint> { CertificateConstraint.ForSpiffeIds(role.SpiffeIds.Select(p => p.ToString())) };
            if (role.SpiffeIds.Count > 0 && layout.RootCas.Count == 0)
            {
                throw new RolesException(RolesException.SpiffeFunctionary,
                    $"the role '{role.Name}' names SPIFFE IDs ({string.Join(", ", role.SpiffeIds)}), and no trust bundle anchors them.",
                    "Give the trust domain's bundle: `securebuild layout new --roles FILE --spiffe-bundle bundle.pem` (what `securebuild svid fetch` writes).");
            }

            used.UnionWith(step.PubKeys);
        }

        foreach (string unused in layout.Keys.Keys.Where(k => !used.Contains(k)).ToList())
        {
            layout.Keys.Remove(unused);
        }
    }

    /// <summary>Checks that the keys signing the layout are owners, at least the owners' threshold of them.</summary>
    /// <exception cref="RolesException">SB5237.</exception>
    public void CheckSigners(IReadOnlyCollection<SigningKey> signers)
    {
        var owners = new HashSet<string>(Owners.Keys.Select(k => k.KeyId), StringComparer.Ordinal);
        var strangers = signers.Where(s => !owners.Contains(s.KeyId)).Select(s => s.KeyId).ToList();
        if (strangers.Count > 0)
        {
            throw new RolesException(RolesException.Owners,
                $"the layout would be signed by {string.Join(", ", strangers)}, which is not a layout owner's key (owners: {string.Join(", ", owners)}).",
                "Sign with the layout owners' keys (--sign), or add the key to \"layout_owners\".");
        }

        int distinct = signers.Select(s => s.KeyId).Distinct(StringComparer.Ordinal).Count();
        if (distinct < Owners.Threshold)
        {
            throw new RolesException(RolesException.Owners,
                $"the layout owners' threshold is {Owners.Threshold}, and {distinct} owner key(s) sign it.",
                "Give --sign once per owner key, as many as the threshold (or sign the rest later with `securebuild layout sign`, and lower nothing).");
        }
    }

    /// <summary>"rebuilders" or "approvers": a role (functionaries, threshold) and the name of its step (default <paramref name="defaultStep"/>).</summary>
    private static ReleaseRole? ReadReleaseRole(JsonMap root, string field, string defaultStep, string dir, Func<string, Exception> fail)
    {
        if (StrictJson.Opt(root, field) is null)
        {
            return null;
        }

        string p = $"roles.{field}";
        var obj = StrictJson.ReqObject(root, field, "roles", fail);
        string step = StrictJson.OptString(obj, "step", p, fail) ?? defaultStep;
        try
        {
            LinkFile.FileName(step, "00000000");
        }
        catch (ArgumentException)
        {
            throw fail($"{p}.step \"{StrictJson.Clip(step)}\" cannot name a step: its links are written as <step>.<keyid>.link, so no '/', '\\' or other character a file name cannot hold.");
        }

        return new ReleaseRole(ReadRole(field, obj, p, dir, fail, "step"), step);
    }

    private static Role ReadRole(string name, JsonMap obj, string p, string dir, Func<string, Exception> fail, params string[] otherFields)
    {
        StrictJson.AllowedFields(obj, p, fail, new[] { "functionaries", "threshold" }.Concat(otherFields).ToArray());
        var keys = new List<PublicKey>();
        var spiffeIds = new List<Spiffe.SpiffePattern>();
        var files = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var item in StrictJson.ReqArray(obj, "functionaries", p, fail))
        {
            if (item is not JsonString text || text.Value.Length == 0)
            {
                throw fail($"{p}.functionaries holds {StrictJson.Describe(item)}, not a public key file name.");
            }

            if (text.Value.StartsWith("spiffe://", StringComparison.Ordinal))
            {
                try
                {
                    spiffeIds.Add(Spiffe.SpiffePattern.Parse(text.Value));
                }
                catch (FormatException e)
                {
                    throw fail($"{p}.functionaries: {e.Message}");
                }

                continue;
            }

            try
            {
                var key = PublicKey.Load(Path.Combine(dir, text.Value));
                keys.Add(key);
                files[key.KeyId] = text.Value;
            }
            catch (KeyFormatException e)
            {
                throw fail($"{p}.functionaries: {e.Code}: {e.Message}");
            }
        }

        long threshold = StrictJson.OptNonNegativeInt64(obj, "threshold", p, fail) ?? 1;
        int distinct = keys.Select(k => k.KeyId).Distinct(StringComparer.Ordinal).Count();
        if (spiffeIds.Count > 0 ? threshold < 1 || threshold > int.MaxValue : distinct == 0 || threshold < 1 || threshold > distinct)
        {
            // A SPIFFE ID pattern (spiffe://td/builder/*) stands for any number of workloads, so it sets no upper bound.
            throw fail($"{p}: the threshold {threshold} must be between 1 and the number of distinct keys ({distinct}) of the role '{name}'.");
        }

        return new Role(name, keys, (int)threshold, files, spiffeIds);
    }

    private static RolesException Bad(string message) =>
        new(RolesException.Invalid, message, "Write the roles file as the README's `securebuild-roles/v1` example: layout_owners, roles (functionaries = public key files, threshold) and steps.");
}

/// <summary>The rebuilders or the release approvers: their role (keys, threshold) and the layout step their links are for.</summary>
public sealed record ReleaseRole(Role Role, string Step);

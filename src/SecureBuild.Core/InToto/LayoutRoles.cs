using SecureBuild.Core.Crypto;
using SecureBuild.Core.Diagnostics;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>A roles file that cannot be used (SB5235-SB5238).</summary>
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

    private LayoutRoles(Role owners, IReadOnlyDictionary<string, Role> roles, IReadOnlyList<(string Pattern, Role Role)> steps)
    {
        Owners = owners;
        Roles = roles;
        Steps = steps;
    }

    /// <summary>The layout owners: their keys sign the layout, at least <see cref="Role.Threshold"/> of them.</summary>
    public Role Owners { get; }

    public IReadOnlyDictionary<string, Role> Roles { get; }

    /// <summary>Step patterns in file order.</summary>
    public IReadOnlyList<(string Pattern, Role Role)> Steps { get; }

    /// <exception cref="RolesException">SB5235 unreadable or invalid (a key file that cannot be read included), SB5238 a SPIFFE ID functionary.</exception>
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
        StrictJson.AllowedFields(root, "roles", fail, "_type", "layout_owners", "roles", "steps");
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

        return new LayoutRoles(owners, roles, steps);
    }

    /// <summary>The role of a step: its exact name, else the longest matching <c>prefix*</c>; null when none.</summary>
    public Role? RoleOf(string step) =>
        Steps.Where(s => s.Pattern == step).Select(s => s.Role).FirstOrDefault()
        ?? Steps.Where(s => s.Pattern.EndsWith("*", StringComparison.Ordinal) && step.StartsWith(s.Pattern.Substring(0, s.Pattern.Length - 1), StringComparison.Ordinal))
            .OrderByDescending(s => s.Pattern.Length).Select(s => s.Role).FirstOrDefault();

    /// <summary>Every functionary key of every role (the keys a generated layout starts from).</summary>
    public IReadOnlyList<PublicKey> AllFunctionaries() =>
        Roles.Values.SelectMany(r => r.Keys).GroupBy(k => k.KeyId, StringComparer.Ordinal).Select(g => g.First()).ToList();

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

    private static Role ReadRole(string name, JsonMap obj, string p, string dir, Func<string, Exception> fail)
    {
        StrictJson.AllowedFields(obj, p, fail, "functionaries", "threshold");
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

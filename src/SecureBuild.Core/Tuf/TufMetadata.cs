using System.Globalization;
using System.Text.RegularExpressions;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Tuf;

/// <summary>One signature of a metadata file: the keyid it claims and the signature bytes (hex in the file).</summary>
public sealed record TufSignature(string KeyId, byte[] Value);

/// <summary>A role's keys and threshold (root "roles" entry, or the key part of a delegated role).</summary>
public class TufRole
{
    public TufRole(IReadOnlyList<string> keyIds, int threshold)
    {
        KeyIds = keyIds;
        Threshold = threshold;
    }

    public IReadOnlyList<string> KeyIds { get; }

    public int Threshold { get; }

    internal static TufRole Parse(JsonMap obj, string path) =>
        new(ParseKeyIds(obj, path), ParseThreshold(obj, path));

    internal static IReadOnlyList<string> ParseKeyIds(JsonMap obj, string path)
    {
        var list = StrictJson.ReqArray(obj, "keyids", path, TufMetadata.Fail);
        var ids = new List<string>();
        foreach (var item in list)
        {
            string id = item is JsonString s ? s.Value : throw TufMetadata.Fail($"{path}.keyids must hold strings, found {JsonItem.Describe(item)}.");
            if (ids.Contains(id, StringComparer.Ordinal))
            {
                throw TufMetadata.Fail($"{path}.keyids lists keyid {id} twice (TUF: keyids are unique).");
            }

            ids.Add(id);
        }

        return ids;
    }

    internal static int ParseThreshold(JsonMap obj, string path)
    {
        long t = TufMetadata.ReqInt(obj, "threshold", path);
        return t is >= 1 and <= 1000 ? (int)t : throw TufMetadata.Fail($"{path}.threshold must be at least 1, found {t}.");
    }
}

/// <summary>A delegated targets role: its keys and threshold, the paths it is trusted for, and whether it is terminating.</summary>
public sealed class TufDelegatedRole : TufRole
{
    public TufDelegatedRole(string name, IReadOnlyList<string> keyIds, int threshold, bool terminating, IReadOnlyList<string>? paths, IReadOnlyList<string>? pathHashPrefixes)
        : base(keyIds, threshold)
    {
        Name = name;
        Terminating = terminating;
        Paths = paths;
        PathHashPrefixes = pathHashPrefixes;
    }

    public string Name { get; }

    public bool Terminating { get; }

    public IReadOnlyList<string>? Paths { get; }

    public IReadOnlyList<string>? PathHashPrefixes { get; }

    /// <summary>
    /// TUF 1.0 5.6.7.2: a pattern matches when it has as many '/'-separated parts as the target path and each part
    /// matches shell-style ('*' any run of characters within the part, '?' one character); a hash prefix matches when
    /// the hex SHA-256 of the target path starts with it.
    /// </summary>
    public bool IsTrustedFor(string targetPath)
    {
        if (Paths is not null)
        {
            return Paths.Any(p => PathMatches(p, targetPath));
        }

        if (PathHashPrefixes is not null)
        {
            string hash = Sha256Hex.Of(targetPath);
            return PathHashPrefixes.Any(prefix => hash.StartsWith(prefix, StringComparison.Ordinal));
        }

        return false;
    }

    // python-tuf's rule (tuf-js has the same): same number of parts, each matched with fnmatch (GlobPattern).
    private static bool PathMatches(string pattern, string targetPath)
    {
        string[] patternParts = pattern.Split('/');
        string[] targetParts = targetPath.Split('/');
        if (patternParts.Length != targetParts.Length)
        {
            return false;
        }

        for (int i = 0; i < patternParts.Length; i++)
        {
            if (!GlobPattern.IsMatch(targetParts[i], patternParts[i]))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>A file that metadata lists with its version and optionally its length and hashes (timestamp and snapshot "meta").</summary>
public sealed record TufMetaFile(long Version, long? Length, IReadOnlyDictionary<string, string> Hashes);

/// <summary>A target: its path, length, hashes and custom data.</summary>
public sealed record TufTargetFile(string Path, long Length, IReadOnlyDictionary<string, string> Hashes, JsonMap? Custom);

/// <summary>
/// A TUF metadata file ({"signed": ..., "signatures": [...]}) parsed strictly: the common fields of "signed" and the
/// canonical bytes the signatures are over. The role-specific parts are in the subclasses.
/// </summary>
public abstract class TufMetadata
{
    /// <summary>The most signatures a file may carry (python-tuf and tuf-js have no cap; 1,024 is far above any real repository).</summary>
    public const int MaxSignatures = 1024;

    private protected TufMetadata(string type, JsonMap signed, IReadOnlyList<TufSignature> signatures, byte[] raw)
    {
        Type = type;
        Signed = signed;
        Signatures = signatures;
        Raw = raw;
        string path = "signed";
        Version = ReqInt(signed, "version", path);
        if (Version < 1)
        {
            throw Fail($"signed.version must be at least 1, found {Version}.");
        }

        SpecVersion = StrictJson.ReqString(signed, "spec_version", path, Fail);
        string[] parts = SpecVersion.Split('.');
        if (parts.Length is < 2 or > 3 || parts[0] != "1" || parts.Any(p => p.Length == 0 || !p.All(c => c >= '0' && c <= '9')))
        {
            throw Fail($"signed.spec_version '{StrictJson.Clip(SpecVersion)}' is not a supported TUF version (1.x).");
        }

        Expires = ParseTime(StrictJson.ReqString(signed, "expires", path, Fail), "signed.expires");
        CanonicalSigned = Canonical(signed);
    }

    /// <summary>"root", "timestamp", "snapshot" or "targets".</summary>
    public string Type { get; }

    public long Version { get; }

    public string SpecVersion { get; }

    public DateTimeOffset Expires { get; }

    public JsonMap Signed { get; }

    /// <summary>The OLPC canonical JSON of "signed": the bytes every signature is over.</summary>
    public byte[] CanonicalSigned { get; }

    public IReadOnlyList<TufSignature> Signatures { get; }

    /// <summary>The file's bytes as fetched (what hashes and lengths in the metadata above refer to).</summary>
    public byte[] Raw { get; }

    public bool IsExpired(DateTimeOffset now) => now >= Expires;

    /// <summary>Parses a file expected to hold <paramref name="expectedType"/> metadata.</summary>
    /// <exception cref="TufException">SB5200 when it is not valid metadata of that type.</exception>
    public static TufMetadata Parse(byte[] bytes, string expectedType, string source)
    {
        try
        {
            var root = StrictJson.AsObject(StrictJson.Parse(bytes, source, Fail), "$", Fail);
            StrictJson.ExactFields(root, "$", Fail, "signatures", "signed");
            var signed = StrictJson.ReqObject(root, "signed", "$", Fail);
            var signatures = ParseSignatures(StrictJson.ReqArray(root, "signatures", "$", Fail));
            string type = StrictJson.ReqString(signed, "_type", "signed", Fail);
            if (type != expectedType)
            {
                throw Fail($"signed._type is '{StrictJson.Clip(type)}' where '{expectedType}' metadata is expected.");
            }

            return type switch
            {
                "root" => new TufRootMetadata(signed, signatures, bytes),
                "timestamp" => new TufTimestampMetadata(signed, signatures, bytes),
                "snapshot" => new TufSnapshotMetadata(signed, signatures, bytes),
                _ => new TufTargetsMetadata(signed, signatures, bytes),
            };
        }
        catch (TufException e) when (e.Code == TufException.Malformed)
        {
            throw new TufException(TufException.Malformed, $"{source}: {e.Reason}", e.Fix);
        }
    }

    /// <summary>
    /// Counts the distinct keys of <paramref name="role"/> whose signature over <see cref="CanonicalSigned"/> verifies
    /// (TUF 5.3.x): a signature by a key outside the role, by an unknown or unsupported key, or that does not verify is
    /// ignored; two signatures with one keyid, or two keyids of one public key, count once. Throws below the threshold.
    /// </summary>
    /// <exception cref="TufException">SB5201.</exception>
    public void VerifyThreshold(TufRole role, IReadOnlyDictionary<string, TufKey> keys, string roleName, string signer)
    {
        var counted = new HashSet<string>(StringComparer.Ordinal);
        var countedKeys = new HashSet<string>(StringComparer.Ordinal);
        var notes = new List<string>();
        foreach (var signature in Signatures)
        {
            if (counted.Contains(signature.KeyId) || !role.KeyIds.Contains(signature.KeyId, StringComparer.Ordinal))
            {
                continue;
            }

            if (!keys.TryGetValue(signature.KeyId, out var key))
            {
                notes.Add($"key {Short(signature.KeyId)} is in the role but not among the keys");
                continue;
            }

            if (key.Key is null)
            {
                notes.Add($"key {Short(signature.KeyId)}: {key.Unsupported}");
                continue;
            }

            if (!key.Key.Verify(CanonicalSigned, signature.Value))
            {
                notes.Add($"the signature of key {Short(signature.KeyId)} does not verify");
                continue;
            }

            if (countedKeys.Add(key.Key.Type + ":" + key.Key.ExportPem()))
            {
                counted.Add(signature.KeyId);
            }
        }

        if (counted.Count < role.Threshold)
        {
            string detail = notes.Count == 0 ? "" : " (" + string.Join("; ", notes.Distinct()) + ")";
            throw new TufException(TufException.ThresholdNotMet,
                $"{Type} metadata version {Version} has {counted.Count} valid signature(s) from distinct keys of the {roleName} role as {signer} defines it, below its threshold of {role.Threshold}{detail}.",
                "The file was not signed by enough of the role's keys: it may have been tampered with, or the repository has to be signed again (`securebuild trust sign`).");
        }
    }

    internal static byte[] Canonical(JsonMap signed)
    {
        try
        {
            return CanonicalJson.Serialize(signed);
        }
        catch (JsonFormatException e)
        {
            throw Fail($"signed cannot be written as canonical JSON: {e.Message}");
        }
    }

    internal static TufException Fail(string message) =>
        new(TufException.Malformed, message, "The repository serves malformed metadata: report it to its maintainers; nothing from it is trusted.");

    internal static long ReqInt(JsonMap obj, string field, string path)
    {
        var node = StrictJson.Req(obj, field, path, Fail);
        if (node is not JsonNumber { IsInteger: true } n)
        {
            throw Fail($"{path}.{field} must be an integer, found {JsonItem.Describe(node)}.");
        }

        try
        {
            return n.AsInt64();
        }
        catch (Exception e) when (e is OverflowException || e is FormatException || e is JsonFormatException)
        {
            throw Fail($"{path}.{field} does not fit in a 64-bit integer.");
        }
    }

    private static readonly Regex TimePattern = new(@"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant);

    internal static DateTimeOffset ParseTime(string text, string path)
    {
        // TUF writes "YYYY-MM-DDTHH:MM:SSZ"; Sigstore's first roots have fractional seconds (up to nanoseconds) and an
        // offset, which python-tuf and tuf-js accept as well. .NET parses at most 7 fraction digits: the rest is cut.
        var match = TimePattern.Match(text);
        if (match.Success)
        {
            string fraction = match.Groups[2].Success ? "." + (match.Groups[2].Value.Length > 7 ? match.Groups[2].Value.Substring(0, 7) : match.Groups[2].Value) : "";
            string zone = match.Groups[3].Value == "Z" ? "+00:00" : match.Groups[3].Value;
            if (DateTimeOffset.TryParseExact(match.Groups[1].Value + fraction + zone, new[] { "yyyy-MM-dd'T'HH:mm:sszzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz" },
                    CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var time))
            {
                return time;
            }
        }

        throw Fail($"{path} '{StrictJson.Clip(text)}' is not an RFC 3339 time such as 2030-01-01T00:00:00Z.");
    }

    internal static IReadOnlyDictionary<string, string> ParseHashes(JsonMap obj, string path, bool required)
    {
        var node = StrictJson.OptObject(obj, "hashes", path, Fail);
        if (node is null)
        {
            return required ? throw Fail($"{path}: required field \"hashes\" is missing.") : new Dictionary<string, string>();
        }

        if (node.Count == 0)
        {
            throw Fail($"{path}.hashes is empty.");
        }

        var hashes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in node)
        {
            hashes[kv.Key] = kv.Value is JsonString s && s.Value.Length > 0 && Hex.IsHex(s.Value)
                ? s.Value.ToLowerInvariant()
                : throw Fail($"{path}.hashes.{kv.Key} must be a hex string.");
        }

        return hashes;
    }

    internal static string Short(string keyId) => keyId.Length > 16 ? keyId.Substring(0, 16) + "..." : keyId;

    private static IReadOnlyList<TufSignature> ParseSignatures(JsonList list)
    {
        if (list.Count > MaxSignatures)
        {
            throw Fail($"signatures holds {list.Count} entries (at most {MaxSignatures}).");
        }

        var result = new List<TufSignature>();
        for (int i = 0; i < list.Count; i++)
        {
            string path = $"signatures[{i}]";
            var obj = StrictJson.AsObject(list[i], path, Fail);
            string keyId = StrictJson.ReqString(obj, "keyid", path, Fail);
            string sig = StrictJson.ReqString(obj, "sig", path, Fail);
            // A signature that is not hex cannot verify: it is kept as empty (ignored when counting), so a stray
            // signature does not make metadata signed by a threshold of good keys unreadable.
            result.Add(new TufSignature(keyId, Hex.TryDecode(sig, out var bytes) ? bytes : Array.Empty<byte>()));
        }

        return result;
    }
}

/// <summary>root.json: the keys, the roles (root, timestamp, snapshot, targets) and whether snapshots are consistent.</summary>
public sealed class TufRootMetadata : TufMetadata
{
    internal TufRootMetadata(JsonMap signed, IReadOnlyList<TufSignature> signatures, byte[] raw)
        : base("root", signed, signatures, raw)
    {
        ConsistentSnapshot = StrictJson.Opt(signed, "consistent_snapshot") is { } cs
            ? cs is JsonBool b ? b.Value : throw Fail("signed.consistent_snapshot must be true or false.")
            : false;
        var keys = new Dictionary<string, TufKey>(StringComparer.Ordinal);
        foreach (var kv in StrictJson.ReqObject(signed, "keys", "signed", Fail))
        {
            keys[kv.Key] = TufKey.Parse(kv.Key, kv.Value, "signed.keys." + Short(kv.Key));
        }

        Keys = keys;
        var roles = StrictJson.ReqObject(signed, "roles", "signed", Fail);
        var parsed = new Dictionary<string, TufRole>(StringComparer.Ordinal);
        foreach (string name in new[] { "root", "timestamp", "snapshot", "targets" })
        {
            parsed[name] = TufRole.Parse(StrictJson.ReqObject(roles, name, "signed.roles", Fail), "signed.roles." + name);
        }

        Roles = parsed;
    }

    public bool ConsistentSnapshot { get; }

    public IReadOnlyDictionary<string, TufKey> Keys { get; }

    /// <summary>The four top-level roles, by name.</summary>
    public IReadOnlyDictionary<string, TufRole> Roles { get; }
}

/// <summary>timestamp.json: the version (and optionally length and hashes) of the current snapshot.json.</summary>
public sealed class TufTimestampMetadata : TufMetadata
{
    internal TufTimestampMetadata(JsonMap signed, IReadOnlyList<TufSignature> signatures, byte[] raw)
        : base("timestamp", signed, signatures, raw)
    {
        var meta = StrictJson.ReqObject(signed, "meta", "signed", Fail);
        if (meta.Count != 1 || !meta.ContainsKey("snapshot.json"))
        {
            throw Fail("signed.meta of timestamp metadata must list exactly \"snapshot.json\".");
        }

        SnapshotMeta = TufSnapshotMetadata.ParseMetaFile(StrictJson.AsObject(meta["snapshot.json"], "signed.meta.snapshot.json", Fail), "signed.meta.snapshot.json");
    }

    public TufMetaFile SnapshotMeta { get; }
}

/// <summary>snapshot.json: the version (and optionally length and hashes) of every targets metadata file.</summary>
public sealed class TufSnapshotMetadata : TufMetadata
{
    internal TufSnapshotMetadata(JsonMap signed, IReadOnlyList<TufSignature> signatures, byte[] raw)
        : base("snapshot", signed, signatures, raw)
    {
        var meta = new Dictionary<string, TufMetaFile>(StringComparer.Ordinal);
        foreach (var kv in StrictJson.ReqObject(signed, "meta", "signed", Fail))
        {
            meta[kv.Key] = ParseMetaFile(StrictJson.AsObject(kv.Value, "signed.meta." + kv.Key, Fail), "signed.meta." + kv.Key);
        }

        Meta = meta;
    }

    /// <summary>By file name ("targets.json", "role.json").</summary>
    public IReadOnlyDictionary<string, TufMetaFile> Meta { get; }

    internal static TufMetaFile ParseMetaFile(JsonMap obj, string path)
    {
        long version = ReqInt(obj, "version", path);
        if (version < 1)
        {
            throw Fail($"{path}.version must be at least 1, found {version}.");
        }

        long? length = StrictJson.Opt(obj, "length") is null ? null : ReqInt(obj, "length", path);
        if (length < 0)
        {
            throw Fail($"{path}.length must not be negative.");
        }

        return new TufMetaFile(version, length, ParseHashes(obj, path, required: false));
    }
}

/// <summary>targets.json or a delegated role's metadata: the targets it signs for and the roles it delegates to.</summary>
public sealed class TufTargetsMetadata : TufMetadata
{
    internal TufTargetsMetadata(JsonMap signed, IReadOnlyList<TufSignature> signatures, byte[] raw)
        : base("targets", signed, signatures, raw)
    {
        var targets = new Dictionary<string, TufTargetFile>(StringComparer.Ordinal);
        foreach (var kv in StrictJson.ReqObject(signed, "targets", "signed", Fail))
        {
            string path = "signed.targets." + StrictJson.Clip(kv.Key);
            var obj = StrictJson.AsObject(kv.Value, path, Fail);
            long length = ReqInt(obj, "length", path);
            if (length < 0)
            {
                throw Fail($"{path}.length must not be negative.");
            }

            targets[kv.Key] = new TufTargetFile(kv.Key, length, ParseHashes(obj, path, required: true), StrictJson.OptObject(obj, "custom", path, Fail));
        }

        Targets = targets;
        var delegations = StrictJson.OptObject(signed, "delegations", "signed", Fail);
        var keys = new Dictionary<string, TufKey>(StringComparer.Ordinal);
        var roles = new List<TufDelegatedRole>();
        if (delegations is not null)
        {
            foreach (var kv in StrictJson.ReqObject(delegations, "keys", "signed.delegations", Fail))
            {
                keys[kv.Key] = TufKey.Parse(kv.Key, kv.Value, "signed.delegations.keys." + Short(kv.Key));
            }

            if (StrictJson.Opt(delegations, "succinct_roles") is not null)
            {
                throw Fail("signed.delegations.succinct_roles (TAP 15) is not supported.");
            }

            var list = StrictJson.ReqArray(delegations, "roles", "signed.delegations", Fail);
            for (int i = 0; i < list.Count; i++)
            {
                roles.Add(ParseDelegatedRole(StrictJson.AsObject(list[i], $"signed.delegations.roles[{i}]", Fail), $"signed.delegations.roles[{i}]", roles));
            }
        }

        DelegationKeys = keys;
        DelegatedRoles = roles;
    }

    public IReadOnlyDictionary<string, TufTargetFile> Targets { get; }

    public IReadOnlyDictionary<string, TufKey> DelegationKeys { get; }

    /// <summary>In the order the metadata lists them: the order they are searched.</summary>
    public IReadOnlyList<TufDelegatedRole> DelegatedRoles { get; }

    private static TufDelegatedRole ParseDelegatedRole(JsonMap obj, string path, List<TufDelegatedRole> before)
    {
        string name = StrictJson.ReqString(obj, "name", path, Fail);
        if (name.Length == 0 || name is "root" or "timestamp" or "snapshot" or "targets" || name.IndexOf('/') >= 0 || name.IndexOf('\\') >= 0 || name is "." or "..")
        {
            throw Fail($"{path}.name '{StrictJson.Clip(name)}' is not a valid delegated role name.");
        }

        if (before.Any(r => r.Name == name))
        {
            throw Fail($"{path}.name '{name}' is delegated twice.");
        }

        var terminatingNode = StrictJson.Req(obj, "terminating", path, Fail);
        bool terminating = terminatingNode is JsonBool b ? b.Value : throw Fail($"{path}.terminating must be true or false.");
        var paths = StringList(obj, "paths", path);
        var prefixes = StringList(obj, "path_hash_prefixes", path);
        if ((paths is null) == (prefixes is null))
        {
            throw Fail($"{path} must have exactly one of \"paths\" and \"path_hash_prefixes\".");
        }

        return new TufDelegatedRole(name, TufRole.ParseKeyIds(obj, path), TufRole.ParseThreshold(obj, path), terminating, paths, prefixes);
    }

    private static IReadOnlyList<string>? StringList(JsonMap obj, string field, string path)
    {
        var list = StrictJson.OptArray(obj, field, path, Fail);
        return list?.Select(item => item is JsonString s ? s.Value : throw Fail($"{path}.{field} must hold strings.")).ToList();
    }
}

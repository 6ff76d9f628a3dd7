using System.Text.RegularExpressions;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto.Verification;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Oci;

/// <summary>
/// Who may sign an image: a Fulcio certificate identity (cosign's <c>--certificate-identity[-regexp]</c> and
/// <c>--certificate-oidc-issuer</c>; Kyverno's <c>keyless</c>) or a public key (Kyverno's <c>keys</c>).
/// </summary>
/// <param name="Description">For reports: "keyless SUBJECT (ISSUER)" or "key KEYID".</param>
/// <param name="Subject">The certificate identity, exactly (keyless).</param>
/// <param name="SubjectRegExp">The certificate identity, as a regular expression (keyless).</param>
/// <param name="Issuer">The OIDC issuer of the certificate (keyless).</param>
/// <param name="Key">The trusted key (null for a keyless attestor).</param>
/// <param name="IgnoreTlog">A key attestor that accepts signatures without a transparency-log entry (Kyverno's rekor.ignoreTlog).</param>
public sealed record ImageAttestor(string Description, string? Subject, string? SubjectRegExp, string? Issuer, PublicKey? Key, bool IgnoreTlog)
{
    public bool IsKeyless => Key is null;

    /// <summary>The verifier options that express this attestor.</summary>
    public SigstoreVerificationOptions Options(DateTimeOffset? now) => new()
    {
        VerificationTime = now,
        CertificateIdentity = Subject,
        CertificateIdentityRegexp = SubjectRegExp,
        CertificateOidcIssuer = Issuer,
        PublicKey = Key,
        TransparencyLogThreshold = IgnoreTlog ? 0 : 1,
    };
}

/// <summary>Kyverno's attestor set: <paramref name="Count"/> of the <paramref name="Entries"/> must have signed.</summary>
public sealed record ImageAttestorSet(int Count, IReadOnlyList<ImageAttestor> Entries);

/// <summary>An attestation the image must carry: its in-toto predicate type, signed by the attestor sets.</summary>
public sealed record ImageAttestationRequirement(string PredicateType, IReadOnlyList<ImageAttestorSet> Attestors);

/// <summary>Kyverno's verifyImages rule: the images it applies to, who must have signed them, which attestations they need.</summary>
public sealed record ImagePolicyRule(string Name, IReadOnlyList<GlobPattern> ImageReferences, IReadOnlyList<ImageAttestorSet> Attestors, IReadOnlyList<ImageAttestationRequirement> Attestations)
{
    /// <summary>True when one pattern matches the image name (HOST/REPOSITORY) or the whole reference (with @sha256:HEX).</summary>
    public bool AppliesTo(ImageReference image) => ImageReferences.Any(p => p.IsMatch(image.Name) || p.IsMatch(image.ToString()));
}

/// <summary>
/// The image policy `securebuild verify-image --policy` and <c>SecureBuildBaseImagePolicy</c> apply (documented in
/// docs/image-policy.md): the registries images may come from, and Kyverno verifyImages rules. Keys and the
/// trusted root are named relative to the policy file.
/// </summary>
public sealed class ImagePolicy
{
    /// <summary>The predicate type cosign v3 signs an image with (a DSSE statement whose subject is the image).</summary>
    public const string CosignSignPredicateType = "https://sigstore.dev/cosign/sign/v1";

    private ImagePolicy(IReadOnlyList<GlobPattern> allowedRegistries, string? trustedRootPath, IReadOnlyList<ImagePolicyRule> rules)
    {
        AllowedRegistries = allowedRegistries;
        TrustedRootPath = trustedRootPath;
        Rules = rules;
    }

    /// <summary>Patterns (* and ?) one of which the image name HOST[:PORT]/REPOSITORY must match.</summary>
    public IReadOnlyList<GlobPattern> AllowedRegistries { get; }

    /// <summary>The trusted_root.json for keyless attestors (absolute), or null.</summary>
    public string? TrustedRootPath { get; }

    public IReadOnlyList<ImagePolicyRule> Rules { get; }

    public bool NeedsTrustedRoot => Rules.SelectMany(r => r.Attestors.Concat(r.Attestations.SelectMany(a => a.Attestors))).SelectMany(s => s.Entries).Any(e => e.IsKeyless);

    /// <summary>Reads a policy file.</summary>
    /// <exception cref="OciException">SB5160: unreadable or not a valid policy.</exception>
    public static ImagePolicy Load(string path)
    {
        string full = Path.GetFullPath(path);
        byte[] bytes;
        try
        {
            bytes = InputFile.ReadAllBytes(full, InputKind.Metadata);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw Invalid(full, "cannot be read: " + e.Message);
        }

        return Parse(bytes, full);
    }

    /// <summary>Parses a policy; relative paths in it are resolved against <paramref name="path"/>'s folder.</summary>
    /// <exception cref="OciException">SB5160.</exception>
    public static ImagePolicy Parse(byte[] utf8Json, string path)
    {
        Exception Fail(string m) => Invalid(path, m);
        string folder = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Directory.GetCurrentDirectory();
        var root = StrictJson.AsObject(StrictJson.Parse(utf8Json, "the policy", Fail), "policy", Fail);
        StrictJson.AllowedFields(root, "policy", Fail, "schemaVersion", "allowedRegistries", "trustedRoot", "rules");
        if (!root.TryGetValue("schemaVersion", out var version) || version is not JsonNumber n || !n.IsInteger || n.AsInt64() != 1)
        {
            throw Fail("\"schemaVersion\" must be 1.");
        }

        var registries = Patterns(StrictJson.ReqArray(root, "allowedRegistries", "policy", Fail), "allowedRegistries", Fail);
        string? trustedRoot = StrictJson.OptString(root, "trustedRoot", "policy", Fail);
        var rules = new List<ImagePolicyRule>();
        var ruleList = StrictJson.ReqArray(root, "rules", "policy", Fail);
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < ruleList.Count; i++)
        {
            string at = $"rules[{i}]";
            var rule = StrictJson.AsObject(ruleList[i], at, Fail);
            StrictJson.AllowedFields(rule, at, Fail, "name", "imageReferences", "attestors", "attestations");
            string name = StrictJson.ReqString(rule, "name", at, Fail);
            if (name.Length == 0 || !names.Add(name))
            {
                throw Fail($"{at}.name must be a non-empty name no other rule has.");
            }

            var references = Patterns(StrictJson.ReqArray(rule, "imageReferences", at, Fail), at + ".imageReferences", Fail);
            var attestors = AttestorSets(StrictJson.OptArray(rule, "attestors", at, Fail), at + ".attestors", folder, Fail);
            var attestations = new List<ImageAttestationRequirement>();
            var required = StrictJson.OptArray(rule, "attestations", at, Fail);
            for (int j = 0; required is not null && j < required.Count; j++)
            {
                string aat = $"{at}.attestations[{j}]";
                var a = StrictJson.AsObject(required[j], aat, Fail);
                StrictJson.AllowedFields(a, aat, Fail, "type", "attestors");
                string type = StrictJson.ReqString(a, "type", aat, Fail);
                if (type.Length == 0)
                {
                    throw Fail($"{aat}.type must name an in-toto predicate type.");
                }

                var own = AttestorSets(StrictJson.OptArray(a, "attestors", aat, Fail), aat + ".attestors", folder, Fail);
                if (own.Count == 0 && attestors.Count == 0)
                {
                    throw Fail($"{aat} names no attestors, and neither does {at}: say who must have signed the attestation.");
                }

                attestations.Add(new ImageAttestationRequirement(type, own.Count > 0 ? own : attestors));
            }

            if (attestors.Count == 0 && attestations.Count == 0)
            {
                throw Fail($"{at} requires neither signatures (attestors) nor attestations: it would allow every image it matches.");
            }

            rules.Add(new ImagePolicyRule(name, references, attestors, attestations));
        }

        var policy = new ImagePolicy(registries, trustedRoot is null ? null : Path.GetFullPath(Path.Combine(folder, trustedRoot)), rules);
        return policy;
    }

    internal static OciException Invalid(string path, string message) =>
        new(OciException.PolicyInvalid, $"the image policy {path}: {message.TrimEnd('.')}", "Fix the policy file (docs/image-policy.md describes every field).");

    private static List<GlobPattern> Patterns(JsonList list, string at, Func<string, Exception> fail)
    {
        if (list.Count == 0)
        {
            throw fail($"{at} is empty: name at least one pattern (\"*\" for any).");
        }

        var result = new List<GlobPattern>();
        for (int i = 0; i < list.Count; i++)
        {
            if (list[i] is not JsonString s || s.Value.Length == 0)
            {
                throw fail($"{at}[{i}] must be a non-empty string.");
            }

            result.Add(GlobPattern.Compile(s.Value));
        }

        return result;
    }

    private static List<ImageAttestorSet> AttestorSets(JsonList? list, string at, string folder, Func<string, Exception> fail)
    {
        var sets = new List<ImageAttestorSet>();
        for (int i = 0; list is not null && i < list.Count; i++)
        {
            string sat = $"{at}[{i}]";
            var set = StrictJson.AsObject(list[i], sat, fail);
            StrictJson.AllowedFields(set, sat, fail, "count", "entries");
            var entries = StrictJson.ReqArray(set, "entries", sat, fail);
            if (entries.Count == 0)
            {
                throw fail($"{sat}.entries is empty.");
            }

            var attestors = new List<ImageAttestor>();
            for (int j = 0; j < entries.Count; j++)
            {
                attestors.Add(Attestor(StrictJson.AsObject(entries[j], $"{sat}.entries[{j}]", fail), $"{sat}.entries[{j}]", folder, fail));
            }

            long count = StrictJson.OptNonNegativeInt64(set, "count", sat, fail) ?? attestors.Count;
            if (count < 1 || count > attestors.Count)
            {
                throw fail($"{sat}.count must be between 1 and the number of entries ({attestors.Count}).");
            }

            sets.Add(new ImageAttestorSet((int)count, attestors));
        }

        return sets;
    }

    private static ImageAttestor Attestor(JsonMap entry, string at, string folder, Func<string, Exception> fail)
    {
        StrictJson.AllowedFields(entry, at, fail, "keyless", "keys");
        var keyless = StrictJson.OptObject(entry, "keyless", at, fail);
        var keys = StrictJson.OptObject(entry, "keys", at, fail);
        if ((keyless is null) == (keys is null))
        {
            throw fail($"{at} must have exactly one of \"keyless\" and \"keys\".");
        }

        if (keyless is not null)
        {
            string kat = at + ".keyless";
            StrictJson.AllowedFields(keyless, kat, fail, "subject", "subjectRegExp", "issuer");
            string? subject = StrictJson.OptString(keyless, "subject", kat, fail);
            string? pattern = StrictJson.OptString(keyless, "subjectRegExp", kat, fail);
            string? issuer = StrictJson.OptString(keyless, "issuer", kat, fail);
            if ((subject is null) == (pattern is null) || string.IsNullOrEmpty(subject ?? pattern))
            {
                throw fail($"{kat} needs exactly one of \"subject\" (the certificate identity) and \"subjectRegExp\".");
            }

            if (string.IsNullOrEmpty(issuer))
            {
                throw fail($"{kat} needs \"issuer\" (the OIDC issuer, e.g. https://token.actions.githubusercontent.com).");
            }

            if (pattern is not null && IdentityPattern.Compile(pattern, out string? error) is null)
            {
                throw fail($"{kat}.subjectRegExp: {error}");
            }

            return new ImageAttestor($"keyless {subject ?? "~" + pattern} ({issuer})", subject, pattern, issuer, null, false);
        }

        string yat = at + ".keys";
        StrictJson.AllowedFields(keys!, yat, fail, "publicKeys", "ignoreTlog");
        string text = StrictJson.ReqString(keys!, "publicKeys", yat, fail);
        bool ignoreTlog = keys!.TryGetValue("ignoreTlog", out var it) && it is JsonBool b && b.Value;
        if (keys.TryGetValue("ignoreTlog", out var itv) && itv is not JsonBool)
        {
            throw fail($"{yat}.ignoreTlog must be true or false.");
        }

        PublicKey key;
        try
        {
            key = text.TrimStart().StartsWith("-----BEGIN", StringComparison.Ordinal)
                ? PublicKey.Parse(text, yat + ".publicKeys")
                : PublicKey.Load(Path.Combine(folder, text));
        }
        catch (Exception e) when (e is KeyFormatException || e is IOException || e is UnauthorizedAccessException)
        {
            throw fail($"{yat}.publicKeys: {e.Message}");
        }

        return new ImageAttestor($"key {key.KeyId.Substring(0, 16)}", null, null, null, key, ignoreTlog);
    }
}

/// <summary>An image named by HOST[:PORT]/REPOSITORY@sha256:HEX (or by a tag, which a policy refuses).</summary>
public sealed class ImageReference
{
    private static readonly Regex TagPattern = new("^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$", RegexOptions.CultureInvariant);

    private ImageReference(OciRepository repository, string? digest, string? tag)
    {
        Repository = repository;
        Digest = digest;
        Tag = tag;
    }

    public OciRepository Repository { get; }

    /// <summary>HOST[:PORT]/REPOSITORY.</summary>
    public string Name => Repository.ToString();

    /// <summary>sha256:HEX, or null when the image is named by a tag.</summary>
    public string? Digest { get; }

    /// <summary>The tag ("latest" when none was given) when there is no digest.</summary>
    public string? Tag { get; }

    /// <summary>Parses IMAGE@sha256:HEX, IMAGE:TAG or IMAGE (IMAGE = HOST[:PORT]/REPOSITORY).</summary>
    /// <exception cref="OciException">SB5155: not an image reference.</exception>
    public static ImageReference Parse(string text)
    {
        text = (text ?? string.Empty).Trim();
        const string fix = "Name the image as HOST[:PORT]/REPOSITORY@sha256:HEX, e.g. mcr.microsoft.com/dotnet/runtime@sha256:….";
        int at = text.IndexOf('@');
        if (at >= 0)
        {
            string digest = text.Substring(at + 1);
            if (!digest.StartsWith("sha256:", StringComparison.Ordinal) || digest.Length != 71 || !Hex.IsLowerHex(digest.Substring(7)))
            {
                throw new OciException(OciException.BadReference, $"'{digest}' is not sha256: followed by 64 lower-case hex digits", fix);
            }

            // A reference may carry both a tag and a digest (name:tag@sha256:...): the digest is what counts.
            return new ImageReference(OciRepository.Parse(StripTag(text.Substring(0, at), out _)), digest, null);
        }

        string name = StripTag(text, out string? tag);
        if (tag is not null && !TagPattern.IsMatch(tag))
        {
            throw new OciException(OciException.BadReference, $"'{tag}' is not a tag", fix);
        }

        return new ImageReference(OciRepository.Parse(name), null, tag ?? "latest");
    }

    public override string ToString() => Name + (Digest is null ? ":" + Tag : "@" + Digest);

    private static string StripTag(string name, out string? tag)
    {
        int slash = name.LastIndexOf('/');
        int colon = name.LastIndexOf(':');
        if (colon > slash && slash > 0)
        {
            tag = name.Substring(colon + 1);
            return name.Substring(0, colon);
        }

        tag = null;
        return name;
    }
}

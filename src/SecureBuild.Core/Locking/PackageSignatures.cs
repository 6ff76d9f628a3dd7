using SecureBuild.Core.Json;

namespace SecureBuild.Core.Locking;

/// <summary>What a package's signature says, as read by NuGet.Packaging (kept as compact JSON in the verification state).</summary>
public sealed class PackageSignatureInfo
{
    public bool Signed { get; set; }

    /// <summary>Null when the signature is cryptographically sound and covers this package; else why not.</summary>
    public string? Invalid { get; set; }

    /// <summary>SHA-256 fingerprint (uppercase hex) and subject of the author signing certificate.</summary>
    public string? Author { get; set; }
    public string? AuthorSubject { get; set; }

    /// <summary>The repository signature or countersignature: fingerprint, subject, service index.</summary>
    public string? Repository { get; set; }
    public string? RepositorySubject { get; set; }
    public string? ServiceIndex { get; set; }

    /// <summary>Package owners a repository signature names (nuget.org lists them).</summary>
    public SortedSet<string> Owners { get; } = new(StringComparer.Ordinal);

    public string ToText()
    {
        var o = new JsonMap { ["signed"] = Signed };
        void Add(string key, string? value)
        {
            if (value is not null)
            {
                o[key] = value;
            }
        }
        Add("invalid", Invalid);
        Add("author", Author);
        Add("authorSubject", AuthorSubject);
        Add("repository", Repository);
        Add("repositorySubject", RepositorySubject);
        Add("serviceIndex", ServiceIndex);
        if (Owners.Count > 0)
        {
            o["owners"] = new JsonList(Owners.Select(x => (JsonItem)x));
        }
        return JsonText.Write(o, indented: false);
    }

    /// <summary>Reads <see cref="ToText"/>; null for anything else.</summary>
    public static PackageSignatureInfo? FromText(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        try
        {
            if (JsonParser.Parse(text!) is not JsonMap o || !o.TryGetValue("signed", out var s) || s is not JsonBool signed)
            {
                return null;
            }
            string? Get(string key) => o.TryGetValue(key, out var v) && v is JsonString str ? str.Value : null;
            var info = new PackageSignatureInfo
            {
                Signed = signed.Value,
                Invalid = Get("invalid"),
                Author = Get("author"),
                AuthorSubject = Get("authorSubject"),
                Repository = Get("repository"),
                RepositorySubject = Get("repositorySubject"),
                ServiceIndex = Get("serviceIndex"),
            };
            if (o.TryGetValue("owners", out var owners) && owners is JsonList a)
            {
                foreach (var owner in a.OfType<JsonString>())
                {
                    info.Owners.Add(owner.Value);
                }
            }
            return info;
        }
        catch (JsonFormatException)
        {
            return null;
        }
    }

    /// <summary>The lock's view: who signed, without subjects.</summary>
    public LockedSignature ToLocked()
    {
        var s = new LockedSignature { Signed = Signed, Author = Author, Repository = Repository };
        s.Owners.UnionWith(Owners);
        return s;
    }
}

/// <summary>A certificate the user trusts to sign packages (like nuget.config's trustedSigners).</summary>
public sealed class TrustedSigner
{
    public TrustedSigner(string fingerprint, string? kind, IEnumerable<string>? owners)
    {
        Fingerprint = fingerprint.Replace(":", "").Trim().ToUpperInvariant();
        Kind = string.IsNullOrWhiteSpace(kind) ? null : kind!.Trim().ToLowerInvariant();
        Owners = new SortedSet<string>(owners ?? Enumerable.Empty<string>(), StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>SHA-256 fingerprint of the certificate, uppercase hex.</summary>
    public string Fingerprint { get; }

    /// <summary>"author", "repository" or null (either).</summary>
    public string? Kind { get; }

    /// <summary>For a repository signer: the package must name at least one of these owners (empty: any owner).</summary>
    public SortedSet<string> Owners { get; }
}

/// <summary>What the trust policy says about one package's signature.</summary>
public enum SignatureFinding
{
    Trusted,
    Unsigned,
    UnsignedNotAllowed,
    Untrusted,
    Invalid,
}

/// <summary>
/// Decides whether a package's signature is acceptable: a cryptographically invalid signature never
/// is; an unsigned package only when signatures are not required; a signed one, when a trust list
/// is given, only if its author certificate, or its repository certificate (with an allowed owner),
/// is on the list.
/// </summary>
public static class SignaturePolicy
{
    public static (SignatureFinding Finding, string Message) Evaluate(string package, PackageSignatureInfo info, IReadOnlyCollection<TrustedSigner> trusted, bool requireSigned)
    {
        if (info.Invalid is not null)
        {
            return (SignatureFinding.Invalid, $"package {package}: its signature is invalid ({info.Invalid}). The package was altered after it was signed; delete it from the packages folder and restore from a trusted source");
        }
        if (!info.Signed)
        {
            return requireSigned
                ? (SignatureFinding.UnsignedNotAllowed, $"package {package} is not signed, and SecureBuildRequireSignedPackages is true. Use a signed version, or add the package's source to a feed that repository-signs it")
                : (SignatureFinding.Unsigned, $"package {package} is not signed");
        }
        if (trusted.Count == 0)
        {
            return (SignatureFinding.Trusted, $"package {package} is signed ({Describe(info)}); no trusted signers are configured");
        }
        foreach (var signer in trusted)
        {
            if (info.Author is not null && signer.Fingerprint == info.Author && (signer.Kind is null || signer.Kind == "author"))
            {
                return (SignatureFinding.Trusted, $"package {package}: author {info.AuthorSubject} is trusted");
            }
            if (info.Repository is not null && signer.Fingerprint == info.Repository && (signer.Kind is null || signer.Kind == "repository") &&
                (signer.Owners.Count == 0 || info.Owners.Any(signer.Owners.Contains)))
            {
                return (SignatureFinding.Trusted, $"package {package}: repository {info.RepositorySubject} is trusted");
            }
        }
        return (SignatureFinding.Untrusted,
            $"package {package} is signed by {Describe(info)}, which is not a trusted signer. If you trust it, add it with <SecureBuildTrustedSigner Include=\"{info.Author ?? info.Repository}\" /> or run `securebuild lock --update` to trust the signers of the current packages");
    }

    public static string Describe(PackageSignatureInfo info)
    {
        var parts = new List<string>();
        if (info.Author is not null)
        {
            parts.Add($"author '{info.AuthorSubject}' ({info.Author})");
        }
        if (info.Repository is not null)
        {
            parts.Add($"repository '{info.RepositorySubject}' ({info.Repository})" + (info.Owners.Count > 0 ? $" for owners {string.Join(", ", info.Owners)}" : ""));
        }
        return parts.Count == 0 ? "an unknown signer" : string.Join(" and ", parts);
    }
}

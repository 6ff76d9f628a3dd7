namespace SecureBuild.Core.Spiffe;

/// <summary>
/// A SPIFFE ID (SPIFFE-ID.md): <c>spiffe://trust-domain/path</c>. The trust domain is lower case
/// <c>[a-z0-9._-]</c>, at most 255 bytes; path segments are <c>[a-zA-Z0-9._-]</c>, never empty, <c>.</c> or <c>..</c>;
/// no query, fragment, port, user info or percent-encoding; the whole ID at most 2048 bytes.
/// </summary>
public sealed class SpiffeId : IEquatable<SpiffeId>
{
    public const int MaxLength = 2048;
    public const int MaxTrustDomainLength = 255;

    private SpiffeId(string trustDomain, string path)
    {
        TrustDomain = trustDomain;
        Path = path;
    }

    /// <summary>The trust domain, lower case (e.g. <c>example.org</c>).</summary>
    public string TrustDomain { get; }

    /// <summary>The path, empty for the trust domain's own ID, else starting with '/'.</summary>
    public string Path { get; }

    public override string ToString() => "spiffe://" + TrustDomain + Path;

    public bool Equals(SpiffeId? other) => other is not null && TrustDomain == other.TrustDomain && Path == other.Path;

    public override bool Equals(object? obj) => Equals(obj as SpiffeId);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong and <paramref name="schemeProblem"/> whether it is the scheme.</summary>
    public static bool TryParse(string text, out SpiffeId? id, out string error, out bool schemeProblem)
    {
        id = null;
        error = "";
        schemeProblem = false;
        if (text.Length > MaxLength)
        {
            error = $"it is longer than {MaxLength} bytes";
            return false;
        }

        int colon = text.IndexOf("://", StringComparison.Ordinal);
        if (colon < 0 || !string.Equals(text.Substring(0, colon), "spiffe", StringComparison.OrdinalIgnoreCase))
        {
            schemeProblem = true;
            error = colon < 0 ? "it has no scheme (expected spiffe://)" : $"its scheme is '{text.Substring(0, colon)}', not spiffe";
            return false;
        }

        string rest = text.Substring(colon + 3);
        int slash = rest.IndexOf('/');
        string domain = slash < 0 ? rest : rest.Substring(0, slash);
        string path = slash < 0 ? "" : rest.Substring(slash);
        if (domain.Length == 0)
        {
            error = "its trust domain is empty";
            return false;
        }

        if (domain.Length > MaxTrustDomainLength)
        {
            error = $"its trust domain is longer than {MaxTrustDomainLength} bytes";
            return false;
        }

        string lower = domain.ToLowerInvariant();
        foreach (char c in lower)
        {
            if (!(c is >= 'a' and <= 'z' || c is >= '0' and <= '9' || c is '.' or '-' or '_'))
            {
                error = c switch
                {
                    ':' => "it has a port",
                    '@' => "it has user info",
                    '%' => "its trust domain is percent-encoded",
                    '?' => "it has a query",
                    '#' => "it has a fragment",
                    _ => $"its trust domain has the character '{c}' (allowed: a-z 0-9 . - _)",
                };
                return false;
            }
        }

        if (path.Length > 0)
        {
            if (path.EndsWith("/", StringComparison.Ordinal))
            {
                error = "its path ends with '/'";
                return false;
            }

            foreach (string segment in path.Substring(1).Split('/'))
            {
                if (segment.Length == 0)
                {
                    error = "its path has an empty segment";
                    return false;
                }

                if (segment is "." or "..")
                {
                    error = $"its path has a '{segment}' segment";
                    return false;
                }

                foreach (char c in segment)
                {
                    if (!(c is >= 'a' and <= 'z' || c is >= 'A' and <= 'Z' || c is >= '0' and <= '9' || c is '.' or '-' or '_'))
                    {
                        error = c switch
                        {
                            '?' => "it has a query",
                            '#' => "it has a fragment",
                            '%' => "its path is percent-encoded",
                            _ => $"its path has the character '{c}' (allowed: a-z A-Z 0-9 . - _)",
                        };
                        return false;
                    }
                }
            }
        }

        id = new SpiffeId(lower, path);
        return true;
    }

    /// <exception cref="FormatException">Not a valid SPIFFE ID.</exception>
    public static SpiffeId Parse(string text) =>
        TryParse(text, out var id, out string error, out _) ? id! : throw new FormatException($"'{text}' is not a SPIFFE ID: {error}.");

    /// <summary>A valid trust domain name (as in a SPIFFE ID), lower-cased; null if invalid.</summary>
    public static string? NormalizeTrustDomain(string text) =>
        text.IndexOf('/') < 0 && TryParse("spiffe://" + text, out var id, out _, out _) ? id!.TrustDomain : null;

    /// <summary>
    /// Whether this ID is allowed by <paramref name="pattern"/>: an exact SPIFFE ID, or one ending in <c>/*</c> that
    /// allows every ID below that path (at least one more segment) in the same trust domain.
    /// </summary>
    public bool Matches(SpiffePattern pattern) => pattern.Allows(this);
}

/// <summary>An allowed identity: an exact SPIFFE ID or <c>spiffe://td/path/*</c> (any ID below that path).</summary>
public sealed class SpiffePattern
{
    private SpiffePattern(SpiffeId id, bool prefix)
    {
        Id = id;
        IsPrefix = prefix;
    }

    public SpiffeId Id { get; }

    public bool IsPrefix { get; }

    public override string ToString() => IsPrefix ? Id + "/*" : Id.ToString();

    /// <exception cref="FormatException">Not a SPIFFE ID nor a prefix pattern.</exception>
    public static SpiffePattern Parse(string text)
    {
        bool prefix = text.EndsWith("/*", StringComparison.Ordinal);
        string idText = prefix ? text.Substring(0, text.Length - 2) : text;
        if (!SpiffeId.TryParse(idText, out var id, out string error, out _))
        {
            throw new FormatException($"'{text}' is not a SPIFFE ID or a pattern spiffe://TRUST-DOMAIN/PATH/*: {error}.");
        }

        return new SpiffePattern(id!, prefix);
    }

    public bool Allows(SpiffeId candidate)
    {
        if (candidate.TrustDomain != Id.TrustDomain)
        {
            return false;
        }

        return IsPrefix
            ? candidate.Path.StartsWith(Id.Path + "/", StringComparison.Ordinal)
            : candidate.Path == Id.Path;
    }
}

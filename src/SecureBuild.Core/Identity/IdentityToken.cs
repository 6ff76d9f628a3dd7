using System.Globalization;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Identity;

/// <summary>
/// An OIDC identity token (a JWT) as Fulcio takes it. Its signature is not checked here (Fulcio does that against the
/// issuer's keys); the claims are read to fail early with a clear message (no issuer, no subject, expired) and to
/// pick the subject the proof of possession signs. <see cref="ToString"/> never prints the token.
/// </summary>
public sealed class IdentityToken
{
    /// <summary>Largest token accepted (GitHub's are about 1.5 KiB).</summary>
    public const int MaxLength = 64 * 1024;

    // Issuers whose certificates carry the e-mail address: Fulcio's proof of possession signs it instead of "sub".
    private static readonly string[] EmailIssuers = { "https://accounts.google.com", "https://oauth2.sigstore.dev/auth" };

    private IdentityToken(string raw, string issuer, string subject, string? email, DateTimeOffset? expires, string source)
    {
        Raw = raw;
        Issuer = issuer;
        Subject = subject;
        Email = email;
        Expires = expires;
        Source = source;
    }

    /// <summary>The compact JWT (secret: never log it).</summary>
    public string Raw { get; }

    /// <summary>The "iss" claim: what Fulcio writes as the certificate's OIDC issuer.</summary>
    public string Issuer { get; }

    public string Subject { get; }

    public string? Email { get; }

    public DateTimeOffset? Expires { get; }

    /// <summary>Where the token came from ("SIGSTORE_ID_TOKEN", "GitHub Actions", a file name).</summary>
    public string Source { get; }

    /// <summary>What the proof of possession signs: the e-mail for e-mail issuers, else "sub" (as sigstore clients do).</summary>
    public string ProofSubject => Email is not null && EmailIssuers.Contains(Issuer) ? Email : Subject;

    /// <summary>Reads a compact JWT; <paramref name="now"/> is checked against "exp".</summary>
    /// <exception cref="KeylessException">SB5001: not a JWT, no iss/sub, or expired.</exception>
    public static IdentityToken Parse(string text, string source, DateTimeOffset now)
    {
        string raw = (text ?? string.Empty).Trim();
        string Where() => $"the identity token from {source}";
        const string fix = "Give a current OIDC identity token (a JWT) for the audience \"sigstore\"; in CI let the job request a fresh one.";
        if (raw.Length == 0)
        {
            throw new KeylessException(KeylessException.BadToken, Where() + " is empty", fix);
        }

        if (raw.Length > MaxLength)
        {
            throw new KeylessException(KeylessException.BadToken, $"{Where()} is {raw.Length} characters long, more than a JWT can sensibly be ({MaxLength})", fix);
        }

        string[] parts = raw.Split('.');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0 || !p.All(IsBase64UrlChar)))
        {
            throw new KeylessException(KeylessException.BadToken, Where() + " is not a JWT (three base64url parts separated by dots)", fix);
        }

        JsonMap claims;
        try
        {
            claims = JsonParser.Parse(DecodeBase64Url(parts[1])) as JsonMap
                ?? throw new KeylessException(KeylessException.BadToken, Where() + ": its payload is not a JSON object", fix);
        }
        catch (Exception e) when (e is JsonFormatException || e is FormatException)
        {
            throw new KeylessException(KeylessException.BadToken, $"{Where()}: its payload is not JSON ({e.Message})", fix, e);
        }

        string issuer = Claim(claims, "iss") ?? throw new KeylessException(KeylessException.BadToken, Where() + " has no \"iss\" (issuer) claim", fix);
        string subject = Claim(claims, "sub") ?? throw new KeylessException(KeylessException.BadToken, Where() + " has no \"sub\" (subject) claim", fix);
        DateTimeOffset? expires = null;
        if (claims.TryGetValue("exp", out var exp) && exp is JsonNumber n
            && double.TryParse(n.RawText, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)
            && seconds > 0 && seconds < 253402300799)
        {
            expires = DateTimeOffset.FromUnixTimeSeconds((long)seconds);
            if (expires.Value <= now)
            {
                throw new KeylessException(KeylessException.BadToken, $"{Where()} (issuer {issuer}) expired at {expires.Value.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}", fix);
            }
        }

        return new IdentityToken(raw, issuer, subject, Claim(claims, "email"), expires, source);
    }

    public override string ToString() => $"identity token from {Source} (issuer {Issuer}, subject {ProofSubject})";

    private static string? Claim(JsonMap claims, string name) =>
        claims.TryGetValue(name, out var v) && v is JsonString s && s.Value.Length > 0 ? s.Value : null;

    private static bool IsBase64UrlChar(char c) =>
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '=';

    private static byte[] DecodeBase64Url(string part)
    {
        string s = part.TrimEnd('=').Replace('-', '+').Replace('_', '/');
        s += new string('=', (4 - (s.Length % 4)) % 4);
        return Convert.FromBase64String(s);
    }
}

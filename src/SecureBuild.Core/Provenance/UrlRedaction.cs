using System.Text;
using System.Text.RegularExpressions;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Provenance;

/// <summary>
/// Removes credentials from URLs, wherever a build writes one (provenance, links, the lock): the user
/// information (<c>https://user:pass@host</c>, <c>https://TOKEN@host</c>) is dropped, and the value of
/// every query or fragment parameter with a credential-like name (<c>sig</c>, <c>token</c>,
/// <c>access_token</c>, <c>code</c>, <c>X-Amz-Signature</c>, anything <see cref="SecretFilter.IsSecretName"/>
/// matches) or a secret-looking value, every bare query item, and every path segment that looks like a
/// secret become <see cref="Placeholder"/>. Everything else of the URL stays as written, so a feed or a
/// repository is still recognisable. The one place that decides this: every writer calls it.
/// </summary>
public static class UrlRedaction
{
    /// <summary>What stands where a credential was.</summary>
    public const string Placeholder = "REDACTED";

    // A URL inside free text ends at white space, quotes, angle brackets and the list separators ';', ',' and '|'.
    private static readonly Regex UrlInText = new(
        @"[A-Za-z][A-Za-z0-9+.\-]*://[^\s""'<>;,|`]*",
        RegexOptions.CultureInvariant);

    private static readonly Regex Scheme = new(@"^[A-Za-z][A-Za-z0-9+.\-]*$", RegexOptions.CultureInvariant);

    private static readonly Regex CredentialKey = new(
        @"^(sig|signature|code|key|pass|pw|pat|creds?|private)$|SIGNATURE|PASS|CRED|TOKEN|SECRET",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>True when a query or fragment parameter of this name carries a credential.</summary>
    public static bool IsCredentialKey(string name) => CredentialKey.IsMatch(name) || SecretFilter.IsSecretName(name);

    /// <summary>
    /// <paramref name="url"/> without credentials; text that is not a URL (no "scheme://") comes back unchanged.
    /// </summary>
    public static string Redact(string url)
    {
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd <= 0 || !Scheme.IsMatch(url.Substring(0, schemeEnd)))
        {
            return url;
        }
        var authorityStart = schemeEnd + 3;
        var authorityEnd = url.IndexOfAny(new[] { '/', '?', '#' }, authorityStart);
        if (authorityEnd < 0)
        {
            authorityEnd = url.Length;
        }
        var authority = url.Substring(authorityStart, authorityEnd - authorityStart);
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            authority = authority.Substring(at + 1);
        }
        var rest = url.Substring(authorityEnd);
        var hash = rest.IndexOf('#');
        var fragment = hash >= 0 ? rest.Substring(hash + 1) : null;
        var beforeFragment = hash >= 0 ? rest.Substring(0, hash) : rest;
        var question = beforeFragment.IndexOf('?');
        var query = question >= 0 ? beforeFragment.Substring(question + 1) : null;
        var path = question >= 0 ? beforeFragment.Substring(0, question) : beforeFragment;

        var result = new StringBuilder(url.Length);
        result.Append(url, 0, authorityStart).Append(authority).Append(RedactPath(path));
        if (query is not null)
        {
            result.Append('?').Append(RedactParameters(query));
        }
        if (fragment is not null)
        {
            result.Append('#').Append(fragment.Contains('=') ? RedactParameters(fragment) : RedactSegment(fragment));
        }
        return result.ToString();
    }

    /// <summary><paramref name="text"/> with every URL in it redacted (a ';'-separated feed list, a command line, a message).</summary>
    public static string RedactAll(string text) =>
        text.IndexOf("://", StringComparison.Ordinal) < 0 ? text : UrlInText.Replace(text, m => Redact(m.Value));

    /// <summary>A copy of <paramref name="node"/> with every string value and member name passed through <see cref="RedactAll(string)"/>.</summary>
    public static JsonItem RedactAll(JsonItem node)
    {
        switch (node)
        {
            case JsonString text:
                var redacted = RedactAll(text.Value);
                return ReferenceEquals(redacted, text.Value) ? text : new JsonString(redacted);
            case JsonList array:
                return new JsonList(array.Select(item => RedactAll(item)));
            case JsonMap obj:
                var copy = new JsonMap();
                foreach (var member in obj)
                {
                    var key = RedactAll(member.Key);
                    if (!copy.ContainsKey(key))
                    {
                        copy[key] = RedactAll(member.Value);
                    }
                }
                return copy;
            default:
                return node.DeepClone();
        }
    }

    private static string RedactPath(string path)
    {
        if (path.Length == 0 || !SecretFilter.LooksLikeSecret(Unescape(path)))
        {
            return path;
        }
        return string.Join("/", path.Split('/').Select(RedactSegment));
    }

    private static string RedactSegment(string segment) =>
        segment.Length > 0 && SecretFilter.LooksLikeSecret(Unescape(segment)) ? Placeholder : segment;

    private static string RedactParameters(string parameters)
    {
        if (parameters.Length == 0)
        {
            return parameters;
        }
        var pairs = parameters.Split('&');
        for (var i = 0; i < pairs.Length; i++)
        {
            var pair = pairs[i];
            if (pair.Length == 0)
            {
                continue;
            }
            var equals = pair.IndexOf('=');
            if (equals < 0)
            {
                pairs[i] = Placeholder; // a bare item ("?0123abcd") is as likely a token as anything else
                continue;
            }
            var key = Unescape(pair.Substring(0, equals));
            var value = Unescape(pair.Substring(equals + 1));
            if (value.Length > 0 && (IsCredentialKey(key) || SecretFilter.LooksLikeSecret(value) || SecretFilter.LooksLikeSecret(key + "=" + value)))
            {
                pairs[i] = pair.Substring(0, equals + 1) + Placeholder;
            }
        }
        return string.Join("&", pairs);
    }

    private static string Unescape(string text)
    {
        try
        {
            return Uri.UnescapeDataString(text.Replace('+', ' '));
        }
        catch (UriFormatException)
        {
            return text;
        }
    }
}

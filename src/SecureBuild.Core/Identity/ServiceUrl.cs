namespace SecureBuild.Core.Identity;

/// <summary>
/// The URL of a Sigstore service (Fulcio, Rekor, a TSA): absolute https, or http to the loopback interface only (a
/// local stand-in); no credentials in it. A token or a signature never travels in clear text over a network.
/// </summary>
public static class ServiceUrl
{
    /// <summary>Parses <paramref name="text"/> for the setting <paramref name="setting"/>.</summary>
    /// <exception cref="KeylessException">SB5050.</exception>
    public static Uri Parse(string text, string setting)
    {
        string fix = $"Set {setting} to an https URL (http only for a service on 127.0.0.1/localhost), without user:password.";
        if (!Uri.TryCreate((text ?? string.Empty).Trim(), UriKind.Absolute, out var url))
        {
            throw new KeylessException(KeylessException.BadSetting, $"{setting} '{text}' is not an absolute URL", fix);
        }

        if (!string.IsNullOrEmpty(url.UserInfo))
        {
            throw new KeylessException(KeylessException.BadSetting, $"{setting} carries credentials (user:password@); they would be sent with every request", fix);
        }

        bool loopback = url.IsLoopback;
        if (url.Scheme != Uri.UriSchemeHttps && !(url.Scheme == Uri.UriSchemeHttp && loopback))
        {
            throw new KeylessException(KeylessException.BadSetting, $"{setting} '{url.GetLeftPart(UriPartial.Path)}' is not https (http is accepted for 127.0.0.1/localhost only)", fix);
        }

        return url;
    }

    /// <summary>The base URL with <paramref name="path"/> (absolute path) appended to its own path.</summary>
    public static Uri Combine(Uri baseUrl, string path)
    {
        string left = baseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/');
        return new Uri(left + "/" + path.TrimStart('/'));
    }
}

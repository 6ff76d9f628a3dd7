using System.Net.Http;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Identity;

/// <summary>
/// Finds the OIDC identity token keyless signing presents to Fulcio, in this order:
/// <list type="number">
/// <item>an explicit token file (SecureBuildIdentityTokenFile, <c>--identity-token-file</c>);</item>
/// <item><c>SIGSTORE_ID_TOKEN</c> (cosign's variable; GitLab CI sets it from an <c>id_tokens:</c> entry);</item>
/// <item>GitHub Actions: <c>GET $ACTIONS_ID_TOKEN_REQUEST_URL&amp;audience=sigstore</c> with
/// <c>Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN</c> (the job needs <c>permissions: id-token: write</c>).</item>
/// </list>
/// Azure Pipelines, Tekton and SPIFFE sources are not implemented yet: there, write the token to a file and name it.
/// </summary>
public static class IdentityTokenSource
{
    public const string SigstoreTokenVariable = "SIGSTORE_ID_TOKEN";
    public const string GitHubRequestUrlVariable = "ACTIONS_ID_TOKEN_REQUEST_URL";
    public const string GitHubRequestTokenVariable = "ACTIONS_ID_TOKEN_REQUEST_TOKEN";

    /// <summary>The audience Fulcio accepts.</summary>
    public const string Audience = "sigstore";

    /// <summary>Acquires a token.</summary>
    /// <param name="tokenFile">An explicit token file, or null.</param>
    /// <param name="environment">Reads an environment variable (null when unset).</param>
    /// <param name="http">The client for the GitHub Actions token request.</param>
    /// <param name="now">The clock the token's expiry is checked against.</param>
    /// <exception cref="KeylessException">SB5000, SB5001, SB5002, SB5003.</exception>
    public static IdentityToken Acquire(string? tokenFile, Func<string, string?> environment, BoundedHttp http, DateTimeOffset now)
    {
        if (environment is null)
        {
            throw new ArgumentNullException(nameof(environment));
        }

        if (!string.IsNullOrWhiteSpace(tokenFile))
        {
            return FromFile(tokenFile!, now);
        }

        string? explicitToken = environment(SigstoreTokenVariable);
        if (!string.IsNullOrWhiteSpace(explicitToken))
        {
            return IdentityToken.Parse(explicitToken!, SigstoreTokenVariable, now);
        }

        string? requestUrl = environment(GitHubRequestUrlVariable);
        string? requestToken = environment(GitHubRequestTokenVariable);
        if (!string.IsNullOrWhiteSpace(requestUrl) && !string.IsNullOrWhiteSpace(requestToken))
        {
            return FromGitHubActions(requestUrl!, requestToken!, http, now);
        }

        throw new KeylessException(KeylessException.NoToken, "keyless signing needs an OIDC identity token, and none was found: no token file was given, SIGSTORE_ID_TOKEN is not set and this is not a GitHub Actions job that may request one", NoTokenFix(environment));
    }

    private static string NoTokenFix(Func<string, string?> environment)
    {
        if (environment("GITHUB_ACTIONS") == "true")
        {
            return "Give the job `permissions: id-token: write` (GitHub then sets ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN).";
        }

        if (environment("GITLAB_CI") == "true")
        {
            return "Add `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore` to the job in .gitlab-ci.yml.";
        }

        return "Run in a CI job that provides an identity token (GitHub Actions with `permissions: id-token: write`, GitLab with `id_tokens: SIGSTORE_ID_TOKEN: aud: sigstore`), set SIGSTORE_ID_TOKEN, or name a token file with SecureBuildIdentityTokenFile; or sign with a key (SecureBuildSigning=key).";
    }

    private static IdentityToken FromFile(string path, DateTimeOffset now)
    {
        string text;
        try
        {
            text = InputFile.ReadAllText(path, InputKind.Key);
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            throw new KeylessException(KeylessException.TokenFileUnreadable, $"the identity token file {path} cannot be read: {e.Message}", "Name a readable file that holds only the token (SecureBuildIdentityTokenFile).", e);
        }

        return IdentityToken.Parse(text, path, now);
    }

    private static IdentityToken FromGitHubActions(string requestUrl, string requestToken, BoundedHttp http, DateTimeOffset now)
    {
        const string fix = "Check that the job has `permissions: id-token: write` and that the runner can reach its token service; re-run the job (the request token is valid only while the job runs).";
        if (!Uri.TryCreate(requestUrl + (requestUrl.Contains("?") ? "&" : "?") + "audience=" + Audience, UriKind.Absolute, out var url)
            || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw new KeylessException(KeylessException.TokenRequestFailed, $"{GitHubRequestUrlVariable} is not an http(s) URL", fix);
        }

        HttpReply reply;
        try
        {
            reply = http.Send(HttpMethod.Get, url, headers: new[]
            {
                new KeyValuePair<string, string>("Authorization", "bearer " + requestToken),
                new KeyValuePair<string, string>("Accept", "application/json"),
            });
        }
        catch (HttpFailure e)
        {
            throw new KeylessException(KeylessException.TokenRequestFailed, "the GitHub Actions identity token request failed: " + e.Message, fix, e);
        }

        if (!reply.IsSuccess)
        {
            throw new KeylessException(KeylessException.TokenRequestFailed, $"the GitHub Actions identity token request was refused with HTTP {reply.Status}: {reply.Excerpt()}", fix);
        }

        string? value = null;
        try
        {
            if (JsonParser.Parse(reply.Body) is JsonMap map && map.TryGetValue("value", out var v) && v is JsonString s)
            {
                value = s.Value;
            }
        }
        catch (JsonFormatException)
        {
            // reported below
        }

        if (value is null)
        {
            throw new KeylessException(KeylessException.TokenRequestFailed, "the GitHub Actions token service answered without a token (expected JSON {\"value\": \"<jwt>\"})", fix);
        }

        return IdentityToken.Parse(value, "GitHub Actions", now);
    }
}

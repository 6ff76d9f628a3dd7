using System.Text;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Oci;

/// <summary>
/// Registry credentials from docker's config.json (<c>$DOCKER_CONFIG/config.json</c>, else <c>~/.docker/config.json</c>):
/// the <c>auths</c> entry for the host (its <c>auth</c> = base64 of user:password, or <c>username</c>/<c>password</c>;
/// an <c>identitytoken</c> is used as the password of the token flow). Credential helpers (<c>credsStore</c>,
/// <c>credHelpers</c>) are not run: such hosts need an <c>auths</c> entry.
/// </summary>
public static class DockerCredentials
{
    /// <summary>The config file docker would read, from the environment.</summary>
    public static string? ConfigPath(Func<string, string?> environment)
    {
        if (environment("DOCKER_CONFIG") is { Length: > 0 } dir)
        {
            return Path.Combine(dir, "config.json");
        }

        string? home = environment("HOME") ?? environment("USERPROFILE");
        return home is { Length: > 0 } ? Path.Combine(home, ".docker", "config.json") : null;
    }

    /// <summary>The credentials for <paramref name="registry"/> (HOST[:PORT]) in <paramref name="configPath"/>, or null.</summary>
    /// <exception cref="OciException">SB5152: the file exists but is not a docker config.</exception>
    public static (string User, string Secret)? Find(string? configPath, string registry)
    {
        if (configPath is null || !File.Exists(configPath))
        {
            return null;
        }

        JsonItem root;
        try
        {
            root = JsonParser.Parse(File.ReadAllBytes(configPath));
        }
        catch (Exception e) when (e is JsonFormatException || e is IOException || e is UnauthorizedAccessException)
        {
            throw new OciException(OciException.Unauthorized, $"{configPath} cannot be read as docker's config.json: {e.Message}", "Fix or remove the file (docker login rewrites it).", e);
        }

        if (root is not JsonMap map || !map.TryGetValue("auths", out var auths) || auths is not JsonMap entries)
        {
            return null;
        }

        foreach (var entry in entries)
        {
            if (!string.Equals(HostOf(entry.Key), registry, StringComparison.OrdinalIgnoreCase) || entry.Value is not JsonMap e)
            {
                continue;
            }

            if (e.TryGetValue("auth", out var auth) && auth is JsonString a && a.Value.Length > 0)
            {
                string decoded;
                try
                {
                    decoded = Encoding.UTF8.GetString(Convert.FromBase64String(a.Value));
                }
                catch (FormatException)
                {
                    throw new OciException(OciException.Unauthorized, $"{configPath}: the auth of {entry.Key} is not base64", "Log in again (docker login).");
                }

                int colon = decoded.IndexOf(':');
                if (colon > 0)
                {
                    return (decoded.Substring(0, colon), decoded.Substring(colon + 1));
                }
            }

            string? user = e.TryGetValue("username", out var u) && u is JsonString us ? us.Value : null;
            string? password = e.TryGetValue("password", out var p) && p is JsonString ps ? ps.Value : null;
            if (e.TryGetValue("identitytoken", out var t) && t is JsonString ts && ts.Value.Length > 0)
            {
                return ("<token>", ts.Value);
            }

            if (user is { Length: > 0 } && password is not null)
            {
                return (user, password);
            }
        }

        return null;
    }

    /// <summary>"https://index.docker.io/v1/" and "host:5000" both name their host[:port].</summary>
    private static string HostOf(string key)
    {
        int scheme = key.IndexOf("://", StringComparison.Ordinal);
        string rest = scheme >= 0 ? key.Substring(scheme + 3) : key;
        int slash = rest.IndexOf('/');
        return slash >= 0 ? rest.Substring(0, slash) : rest;
    }
}

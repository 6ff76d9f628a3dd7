using System.Text;
using SecureBuild.Core.Json;
using SecureBuild.Core.Processes;

namespace SecureBuild.Core.Oci;

/// <summary>
/// Registry credentials from docker's config.json (<c>$DOCKER_CONFIG/config.json</c>, else <c>~/.docker/config.json</c>):
/// the <c>auths</c> entry for the host (its <c>auth</c> = base64 of user:password, or <c>username</c>/<c>password</c>;
/// an <c>identitytoken</c> is used as the password of the token flow), or from a credential helper as docker runs it:
/// <c>credHelpers[host]</c>, else <c>credsStore</c>, names <c>docker-credential-NAME</c> on PATH, run as
/// <c>docker-credential-NAME get</c> with the host on stdin and <c>{"Username","Secret"}</c> JSON on stdout (a helper
/// that has nothing for the host falls back to <c>auths</c>). The helper runs through the one process runner, bounded
/// in time and output.
/// </summary>
public static class DockerCredentials
{
    /// <summary>How long a credential helper may take (a keychain prompt included).</summary>
    public static readonly TimeSpan HelperTimeout = TimeSpan.FromSeconds(60);

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
    /// <param name="configPath">docker's config.json (see <see cref="ConfigPath"/>).</param>
    /// <param name="registry">HOST[:PORT].</param>
    /// <param name="searchPath">The PATH a credential helper is looked up on (null: this process's).</param>
    /// <param name="runner">Runs the helper (null: the <see cref="ProcessRunner"/>).</param>
    /// <exception cref="OciException">SB5152: the file exists but is not a docker config. SB5167: the helper failed.</exception>
    public static (string User, string Secret)? Find(string? configPath, string registry, string? searchPath = null, IProcessRunner? runner = null)
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

        if (root is not JsonMap map)
        {
            return null;
        }

        if (Helper(map, registry) is { } helper && FromHelper(helper, registry, configPath, searchPath, runner ?? new ProcessRunner()) is { } fromHelper)
        {
            return fromHelper;
        }

        if (!map.TryGetValue("auths", out var auths) || auths is not JsonMap entries)
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

    /// <summary>The helper name for the host: its credHelpers entry, else credsStore, else null.</summary>
    private static string? Helper(JsonMap config, string registry)
    {
        if (config.TryGetValue("credHelpers", out var h) && h is JsonMap helpers)
        {
            foreach (var entry in helpers)
            {
                if (string.Equals(HostOf(entry.Key), registry, StringComparison.OrdinalIgnoreCase) && entry.Value is JsonString name && name.Value.Length > 0)
                {
                    return name.Value;
                }
            }
        }

        return config.TryGetValue("credsStore", out var store) && store is JsonString s && s.Value.Length > 0 ? s.Value : null;
    }

    /// <summary>Runs <c>docker-credential-NAME get</c>; null when the helper has no credentials for the host.</summary>
    private static (string User, string Secret)? FromHelper(string name, string registry, string configPath, string? searchPath, IProcessRunner runner)
    {
        string program = "docker-credential-" + name;
        OciException Failed(string why) => new(OciException.CredentialHelperFailed, $"the credential helper {program} (named in {configPath}) {why}",
            $"Install {program} on PATH and log in with it (docker login {registry}), or remove it from credHelpers/credsStore.");
        if (name.IndexOfAny(new[] { '/', '\\' }) >= 0 || name.Contains(".."))
        {
            throw Failed("is not a helper name");
        }

        var spec = new ProcessSpec(program, new[] { "get" }, Path.GetTempPath())
        {
            StandardInput = Encoding.UTF8.GetBytes(registry),
            CaptureStandardOutput = true,
            Timeout = HelperTimeout,
            OutputLimit = 64 * 1024,
        };
        if (searchPath is not null)
        {
            spec.AddedEnvironment = new Dictionary<string, string> { ["PATH"] = searchPath };
        }

        var outcome = runner.Run(spec);
        if (outcome.StartError is not null)
        {
            throw Failed($"cannot be run: {outcome.StartError}");
        }

        if (outcome.TimedOut)
        {
            throw Failed($"did not answer within {HelperTimeout.TotalSeconds:0} s");
        }

        if (outcome.ExitCode != 0)
        {
            // docker's helpers say "credentials not found in native keychain" for a host they hold nothing for.
            if (outcome.Output.IndexOf("credentials not found", StringComparison.OrdinalIgnoreCase) >= 0)
            {
                return null;
            }

            string said = outcome.Output.Trim();
            throw Failed($"failed (exit {outcome.ExitCode}){(said.Length > 0 ? ": " + (said.Length > 200 ? said.Substring(0, 200) + "…" : said) : string.Empty)}");
        }

        JsonMap answer;
        try
        {
            answer = JsonParser.Parse(Encoding.UTF8.GetBytes(outcome.StandardOutput)) as JsonMap ?? throw Failed("answered something that is not a JSON object");
        }
        catch (JsonFormatException)
        {
            throw Failed("answered something that is not JSON");
        }

        string? user = answer.TryGetValue("Username", out var u) && u is JsonString us ? us.Value : null;
        string? secret = answer.TryGetValue("Secret", out var p) && p is JsonString ps ? ps.Value : null;
        if (string.IsNullOrEmpty(user) || string.IsNullOrEmpty(secret))
        {
            throw Failed("answered without a Username and Secret");
        }

        return (user!, secret!);
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

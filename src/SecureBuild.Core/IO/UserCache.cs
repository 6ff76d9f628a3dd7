namespace SecureBuild.Core.IO;

/// <summary>The per-user cache folder on Unix, as the XDG base directory specification names it.</summary>
public static class UserCache
{
    /// <summary><c>$XDG_CACHE_HOME</c> when it is an absolute path, else <c>$HOME/.cache</c>; null when no absolute home is known.</summary>
    public static string? Root(Func<string, string?> environment)
    {
        var cache = environment("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(cache) && Path.IsPathRooted(cache))
        {
            return cache;
        }

        var home = environment("HOME");
        return string.IsNullOrWhiteSpace(home) || !Path.IsPathRooted(home) ? null : Path.Combine(home!, ".cache");
    }
}

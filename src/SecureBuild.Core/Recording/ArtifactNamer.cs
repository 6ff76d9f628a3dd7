using System.Security.Cryptography;
using System.Text.RegularExpressions;
using System.Text;
using SecureBuild.Core.Crypto;

namespace SecureBuild.Core.Recording;

/// <summary>
/// Turns absolute file paths into machine-independent in-toto artifact names.
/// Files under the root directory are named relative to it ("src/App/Program.cs"); files under one
/// of the well-known roots get that root's prefix ("@nuget/newtonsoft.json/13.0.3/lib/...");
/// files outside all of them but in an output folder the build was given outside the repository
/// (<c>dotnet pack -o ../out</c>) are named relative to that folder ("@pack-output/App.1.0.0.nupkg"), the same on
/// every clone; anything else is "@external/&lt;12 hex of the directory's hash&gt;/&lt;file name&gt;", which never
/// reveals the path but is only stable on one machine (<see cref="IsMachineSpecific"/>).
/// </summary>
public sealed class ArtifactNamer
{
    /// <summary>Prefix of files outside the root and all named roots.</summary>
    public const string ExternalPrefix = "@external/";

    // An absolute path inside a value: it starts the value, follows a separator (';', ',', '=', white
    // space, a quote) or "file://", and runs to the next separator.
    private static readonly Regex AbsolutePathInText = new(
        @"(?<=^|[;,=\s""']|file://)(/[^;,=\s""']*|[A-Za-z]:[\\/][^;,=\s""']*)",
        RegexOptions.CultureInvariant);

    private readonly List<(string Directory, string Prefix)> _roots;
    private readonly List<(string Directory, string Prefix)> _outputRoots = new();
    private readonly StringComparison _comparison;

    /// <param name="rootDirectory">The project's (or repository's) root: names below it carry no prefix.</param>
    /// <param name="namedRoots">Other directories and the prefix (e.g. "@nuget") their files are named with.</param>
    /// <param name="ignoreCase">Compare paths case-insensitively (Windows, macOS default volumes).</param>
    public ArtifactNamer(string rootDirectory, IEnumerable<KeyValuePair<string, string>>? namedRoots = null, bool? ignoreCase = null)
    {
        _comparison = (ignoreCase ?? IsCaseInsensitiveFileSystem()) ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        _roots = new List<(string, string)>();
        foreach (var root in namedRoots ?? Enumerable.Empty<KeyValuePair<string, string>>())
        {
            if (string.IsNullOrWhiteSpace(root.Key) || string.IsNullOrWhiteSpace(root.Value))
            {
                continue;
            }
            _roots.Add((NormalizeDirectory(root.Key), NormalizePrefix(root.Value)));
        }
        _roots.Add((NormalizeDirectory(rootDirectory), ""));
        // Longest directory first, so a NuGet folder inside the repository still gets its prefix.
        _roots.Sort((a, b) => b.Directory.Length.CompareTo(a.Directory.Length));
    }

    /// <param name="rootDirectory">The project's (or repository's) root: names below it carry no prefix.</param>
    /// <param name="namedRoots">Other directories and the prefix (e.g. "@nuget") their files are named with.</param>
    /// <param name="outputRoots">
    /// Output folders and their prefix (e.g. "@pack-output"), used only for files that lie outside the root and every
    /// named root: inside the repository an output keeps its usual name.
    /// </param>
    /// <param name="ignoreCase">Compare paths case-insensitively (Windows, macOS default volumes).</param>
    public ArtifactNamer(string rootDirectory, IEnumerable<KeyValuePair<string, string>>? namedRoots, IEnumerable<KeyValuePair<string, string>>? outputRoots, bool? ignoreCase = null)
        : this(rootDirectory, namedRoots, ignoreCase)
    {
        foreach (var root in outputRoots ?? Enumerable.Empty<KeyValuePair<string, string>>())
        {
            if (string.IsNullOrWhiteSpace(root.Key) || string.IsNullOrWhiteSpace(root.Value))
            {
                continue;
            }
            var directory = NormalizeDirectory(root.Key);
            if (!_roots.Any(r => directory.StartsWith(r.Directory, _comparison)))
            {
                _outputRoots.Add((directory, NormalizePrefix(root.Value)));
            }
        }
        _outputRoots.Sort((a, b) => b.Directory.Length.CompareTo(a.Directory.Length));
    }

    /// <summary>True for a name made from this machine's directories ("@external/&lt;hash&gt;/..."): another clone names the file differently.</summary>
    public static bool IsMachineSpecific(string artifactName) => artifactName.StartsWith(ExternalPrefix, StringComparison.Ordinal);

    /// <summary>
    /// Each root directory (with a trailing '/') and the token that stands for it when absolute paths
    /// inside machine-local files are mapped: its prefix, or "@root" for the root itself.
    /// </summary>
    public IEnumerable<KeyValuePair<string, string>> PathTokens =>
        _roots.Concat(_outputRoots).Select(r => new KeyValuePair<string, string>(r.Directory, r.Prefix.Length == 0 ? "@root" : r.Prefix.TrimEnd('/')));

    /// <summary>The artifact name of <paramref name="path"/> (absolute, or relative to the current directory).</summary>
    public string Name(string path)
    {
        var full = NormalizePath(Path.GetFullPath(path));
        foreach (var (directory, prefix) in _roots)
        {
            if (full.StartsWith(directory, _comparison))
            {
                return prefix + full.Substring(directory.Length);
            }
        }
        foreach (var (directory, prefix) in _outputRoots)
        {
            if (full.StartsWith(directory, _comparison))
            {
                return prefix + full.Substring(directory.Length);
            }
        }
        var slash = full.LastIndexOf('/');
        var parent = slash >= 0 ? full.Substring(0, slash) : "";
        var file = slash >= 0 ? full.Substring(slash + 1) : full;
        using var sha = SHA256.Create();
        var digest = sha.ComputeHash(Encoding.UTF8.GetBytes(parent));
        return ExternalPrefix + Hex.Encode(digest, 6) + "/" + file;
    }

    /// <summary>
    /// <paramref name="value"/> (a property or variable value, not a path itself) with every absolute path in it
    /// named like an artifact, so no home or machine directory is written: the root itself is ".", a named root
    /// itself its prefix ("@nuget"), anything below a root as <see cref="Name"/> names it, anything else
    /// "@external/&lt;hash&gt;/&lt;name&gt;". "DEBUG;TRACE" or "1.2.3" come back unchanged.
    /// </summary>
    public string NamePathsIn(string value)
    {
        if (value.IndexOf('/') < 0 && value.IndexOf(':') < 0)
        {
            return value;
        }
        return AbsolutePathInText.Replace(value, m => NameLocation(m.Value));
    }

    private string NameLocation(string path)
    {
        string full;
        try
        {
            full = NormalizePath(Path.GetFullPath(path));
        }
        catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
        {
            return ExternalPrefix + "unnamed"; // not a path this platform can name: never echo it
        }
        var asDirectory = full.EndsWith("/", StringComparison.Ordinal) ? full : full + "/";
        foreach (var (directory, prefix) in _roots.Concat(_outputRoots))
        {
            if (string.Equals(asDirectory, directory, _comparison))
            {
                return prefix.Length == 0 ? "." : prefix.TrimEnd('/');
            }
        }
        return Name(full.Length > 1 ? full.TrimEnd('/') : full);
    }

    private static string NormalizePrefix(string prefix)
    {
        prefix = prefix.Replace('\\', '/').Trim('/');
        return prefix.Length == 0 ? "" : prefix + "/";
    }

    private static string NormalizeDirectory(string directory)
    {
        var full = NormalizePath(Path.GetFullPath(directory));
        return full.EndsWith("/", StringComparison.Ordinal) ? full : full + "/";
    }

    private static string NormalizePath(string path) => path.Replace('\\', '/');

    private static bool IsCaseInsensitiveFileSystem() =>
        Path.DirectorySeparatorChar == '\\' ||
        System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.OSX);
}

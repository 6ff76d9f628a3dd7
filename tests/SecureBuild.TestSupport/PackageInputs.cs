using System.Text;
using SecureBuild.Core.Crypto;

namespace SecureBuild.TestSupport;

/// <summary>
/// The content key of the packages the tests pack from this checkout (SecureBuild.Sdk and the securebuild tool
/// packages): the SHA-256 of a manifest that lists, one line each and in ordinal order,
/// <list type="bullet">
/// <item><c>file &lt;path&gt; &lt;sha256&gt;</c> for every file under <c>src/</c> except <c>bin/</c> and <c>obj/</c>
/// folders: both packages are built from src/ alone, so this is a superset of what either package is made of (a
/// change to a project the SDK does not use still gives a new key: never a stale package, at worst one pack too many);</item>
/// <item>the same line for the root build files every project imports or is restored with: <c>Directory.Build.props</c>,
/// <c>Directory.Build.targets</c>, <c>Directory.Packages.props</c>, <c>global.json</c> and <c>nuget.config</c>
/// (whichever exist, any letter case);</item>
/// <item><c>dotnet-sdk &lt;version&gt;</c>: the .NET SDK that packs (global.json rolls forward to the newest patch installed).</item>
/// </list>
/// What the key does not cover, the pack commands, is checked by <see cref="SdkPackageFeed"/> itself: each pack step
/// records the commands it ran and runs again when they differ.
/// </summary>
public static class PackageInputs
{
    private static readonly string[] RootFiles = { "directory.build.props", "directory.build.targets", "directory.packages.props", "global.json", "nuget.config" };

    /// <summary>The manifest of <paramref name="repositoryRoot"/> as described above, '\n'-terminated lines.</summary>
    public static string Manifest(string repositoryRoot, string dotnetSdkVersion)
    {
        var lines = new List<string> { "dotnet-sdk " + dotnetSdkVersion };
        foreach (var file in Directory.EnumerateFiles(repositoryRoot))
        {
            if (RootFiles.Contains(System.IO.Path.GetFileName(file).ToLowerInvariant()))
            {
                lines.Add(Line(repositoryRoot, file));
            }
        }
        var src = System.IO.Path.Combine(repositoryRoot, "src");
        if (Directory.Exists(src))
        {
            AddTree(repositoryRoot, src, lines);
        }
        lines.Sort(StringComparer.Ordinal);
        var manifest = new StringBuilder();
        foreach (var line in lines)
        {
            manifest.Append(line).Append('\n');
        }
        return manifest.ToString();
    }

    /// <summary>The key: lowercase hex SHA-256 of <see cref="Manifest"/>.</summary>
    public static string Key(string manifest) => Sha256Hex.Of(manifest);

    private static void AddTree(string root, string directory, List<string> lines)
    {
        foreach (var file in Directory.EnumerateFiles(directory))
        {
            lines.Add(Line(root, file));
        }
        foreach (var child in Directory.EnumerateDirectories(directory))
        {
            var name = System.IO.Path.GetFileName(child);
            if (name is "bin" or "obj")
            {
                continue;
            }
            AddTree(root, child, lines);
        }
    }

    private static string Line(string root, string file) =>
        "file " + System.IO.Path.GetRelativePath(root, file).Replace('\\', '/') + " " + Sha256Hex.OfFile(file);
}

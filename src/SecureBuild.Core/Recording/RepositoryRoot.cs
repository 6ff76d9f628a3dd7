namespace SecureBuild.Core.Recording;

/// <summary>Finds the directory artifact names are relative to.</summary>
public static class RepositoryRoot
{
    /// <summary>
    /// The nearest directory at or above <paramref name="startDirectory"/> that holds a <c>.git</c>
    /// folder or file (a repository, worktree or submodule); else the nearest one holding a
    /// <c>global.json</c>; else <paramref name="startDirectory"/> itself.
    /// </summary>
    public static string Find(string startDirectory)
    {
        var start = Path.GetFullPath(startDirectory);
        string? withGlobalJson = null;
        for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            var git = Path.Combine(dir.FullName, ".git");
            if (Directory.Exists(git) || File.Exists(git))
            {
                return dir.FullName;
            }
            if (withGlobalJson is null && File.Exists(Path.Combine(dir.FullName, "global.json")))
            {
                withGlobalJson = dir.FullName;
            }
        }
        return withGlobalJson ?? start;
    }

    /// <summary>
    /// Files named <paramref name="fileNames"/> (compared case-insensitively, as NuGet does for
    /// nuget.config) in <paramref name="startDirectory"/> and each directory above it up to and
    /// including <paramref name="rootDirectory"/>.
    /// </summary>
    public static IEnumerable<string> FindUpward(string startDirectory, string rootDirectory, IReadOnlyCollection<string> fileNames)
    {
        var root = Path.GetFullPath(rootDirectory).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        for (var dir = new DirectoryInfo(Path.GetFullPath(startDirectory)); dir is not null; dir = dir.Parent)
        {
            // Compare whole path segments: "/src/app-tests" is not inside "/src/app".
            if (!(dir.FullName + Path.DirectorySeparatorChar).StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                yield break;
            }
            if (dir.Exists)
            {
                foreach (var file in dir.EnumerateFiles())
                {
                    if (fileNames.Any(n => string.Equals(n, file.Name, StringComparison.OrdinalIgnoreCase)))
                    {
                        yield return file.FullName;
                    }
                }
            }
            if (string.Equals(dir.FullName.TrimEnd(Path.DirectorySeparatorChar), root, StringComparison.Ordinal))
            {
                yield break;
            }
        }
    }
}

namespace SecureBuild.TestSupport;

/// <summary>The checkout the tests run from: the directory above the test assembly that holds SecureBuild.Sdk.sln.</summary>
public static class RepositoryRoot
{
    private static readonly Lazy<string> Root = new(Find);

    public static string Path => Root.Value;

    /// <summary>A path inside the repository, '/'-separated.</summary>
    public static string Combine(string relative) => System.IO.Path.Combine(Path, relative.Replace('/', System.IO.Path.DirectorySeparatorChar));

    /// <summary>The .NET SDK version global.json pins: what a generated project's own global.json must ask for too.</summary>
    public static string PinnedSdkVersion()
    {
        var json = File.ReadAllText(Combine("global.json"));
        var match = System.Text.RegularExpressions.Regex.Match(json, "\"version\"\\s*:\\s*\"([^\"]+)\"");
        if (!match.Success)
        {
            throw new InvalidOperationException($"{Combine("global.json")} pins no sdk version.");
        }
        return match.Groups[1].Value;
    }

    private static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "SecureBuild.Sdk.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("SecureBuild.Sdk.sln not found above " + AppContext.BaseDirectory);
    }
}

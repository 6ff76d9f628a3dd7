namespace SecureBuild.Tasks.Tests.Infrastructure;

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string? label = null)
    {
        // Resolve symlinks (macOS /var -> /private/var) so paths compare equal to what the code under test sees.
        var root = new DirectoryInfo(System.IO.Path.GetTempPath()).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? System.IO.Path.GetTempPath();
        FullPath = System.IO.Path.Combine(root, "sb-tasks-tests", (label ?? "t") + "-" + Guid.NewGuid().ToString("N").Substring(0, 12));
        Directory.CreateDirectory(FullPath);
    }

    public string FullPath { get; }

    /// <summary>The absolute path of <paramref name="relative"/> ('/'-separated) inside this directory.</summary>
    public string Path(string relative) => System.IO.Path.Combine(FullPath, relative.Replace('/', System.IO.Path.DirectorySeparatorChar));

    /// <summary>Writes a file (creating its directory) and returns its absolute path.</summary>
    public string Write(string relative, string content)
    {
        var path = Path(relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    /// <summary>Writes a file whose last-write time is well outside the hash cache's racy window.</summary>
    public string WriteOld(string relative, string content)
    {
        var path = Write(relative, content);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(-10));
        return path;
    }

    public string CreateDirectory(string relative)
    {
        var path = Path(relative);
        Directory.CreateDirectory(path);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(FullPath, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

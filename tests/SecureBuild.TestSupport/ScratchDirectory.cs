namespace SecureBuild.TestSupport;

/// <summary>Scratch folders under the temp directory: made fresh, filled from copies of test data, deleted best effort.</summary>
public static class ScratchDirectory
{
    /// <summary>A new, empty directory <c>&lt;temp&gt;/&lt;prefix&gt;-&lt;guid&gt;</c>.</summary>
    public static string Create(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Copies a directory tree; the copies are writable (checked-in test data may be read-only).</summary>
    public static void Copy(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source))
        {
            var dest = Path.Combine(target, Path.GetFileName(file));
            File.Copy(file, dest, overwrite: true);
            File.SetAttributes(dest, FileAttributes.Normal);
        }
        foreach (var dir in Directory.GetDirectories(source))
        {
            Copy(dir, Path.Combine(target, Path.GetFileName(dir)));
        }
    }

    /// <summary>Deletes a directory tree, ignoring one that is gone, busy or not ours to delete.</summary>
    public static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

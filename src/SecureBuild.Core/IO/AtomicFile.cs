namespace SecureBuild.Core.IO;

/// <summary>Writes files so that readers see either the old or the complete new content, never a partial file.</summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes <paramref name="bytes"/> to a temporary file in the target directory (creating the directory),
    /// flushes it to disk, then renames it over <paramref name="path"/>. If anything fails the temporary file is
    /// removed and the previous content of <paramref name="path"/> is left alone.
    /// </summary>
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }

        if (bytes is null)
        {
            throw new ArgumentNullException(nameof(bytes));
        }

        string full = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no parent directory.", nameof(path));
        if (Directory.Exists(full))
        {
            throw new IOException($"Cannot write '{full}': it is a directory.");
        }

        Directory.CreateDirectory(directory);

        // Same directory => same volume => rename is atomic. The name keeps the target's name as a prefix, so
        // in-toto's default exclude '*.link*' also skips a temp file of a link.
        string temp = Path.Combine(directory, Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N").Substring(0, 12) + ".tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.None))
            {
                stream.Write(bytes, 0, bytes.Length);
                stream.Flush(flushToDisk: true);
            }

            MoveIntoPlace(temp, full);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void MoveIntoPlace(string temp, string target)
    {
        const int attempts = 5;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                if (File.Exists(target))
                {
                    File.Replace(temp, target, destinationBackupFileName: null, ignoreMetadataErrors: true);
                }
                else
                {
                    File.Move(temp, target);
                }

                return;
            }
            catch (IOException) when (attempt < attempts)
            {
                // A concurrent writer created the target between the check and the move, or (Windows) a scanner
                // holds it open for a moment. Retry.
                Thread.Sleep(20 * attempt);
            }
            catch (UnauthorizedAccessException) when (attempt < attempts && Path.DirectorySeparatorChar == '\\')
            {
                Thread.Sleep(20 * attempt);
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

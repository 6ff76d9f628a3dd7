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
        string temp = TempName(full);
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

    /// <summary>
    /// Writes several files so that either every one of them has its new content or none was changed (a key pair:
    /// never a private key without its public key, or a new private key beside an old public key). Each file is
    /// first written in full to a temporary file next to it (created by its <c>CreateTemp</c>, e.g. with owner-only
    /// permissions, or as a plain new file); only then are they moved into place, each existing file set aside
    /// first. If anything fails, the files already moved are removed, the set-aside files are put back and every
    /// temporary file is deleted.
    /// </summary>
    public static void WriteAllOrNone(IReadOnlyList<(string Path, byte[] Bytes, Func<string, Stream>? CreateTemp)> files)
    {
        if (files is null)
        {
            throw new ArgumentNullException(nameof(files));
        }

        var staged = new List<(string Temp, string Target)>();
        var placed = new List<(string Target, string? SetAside)>();
        try
        {
            foreach (var (path, bytes, createTemp) in files)
            {
                string full = Path.GetFullPath(path);
                if (Directory.Exists(full))
                {
                    throw new IOException($"Cannot write '{full}': it is a directory.");
                }

                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                string temp = TempName(full);
                staged.Add((temp, full));
                using var stream = createTemp?.Invoke(temp) ?? new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                stream.Write(bytes, 0, bytes.Length);
                if (stream is FileStream file)
                {
                    file.Flush(flushToDisk: true);
                }
            }

            foreach (var (temp, target) in staged)
            {
                string? setAside = null;
                if (File.Exists(target))
                {
                    setAside = TempName(target);
                    File.Move(target, setAside);
                }

                placed.Add((target, setAside));
                File.Move(temp, target);
            }
        }
        catch
        {
            for (int i = placed.Count - 1; i >= 0; i--)
            {
                var (target, setAside) = placed[i];
                if (setAside is null)
                {
                    TryDelete(target);
                }
                else
                {
                    TryDelete(target);
                    File.Move(setAside, target);
                }
            }

            foreach (var (temp, _) in staged)
            {
                TryDelete(temp);
            }

            throw;
        }

        foreach (var (_, setAside) in placed)
        {
            if (setAside is not null)
            {
                TryDelete(setAside);
            }
        }
    }

    private static string TempName(string full) =>
        Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N").Substring(0, 12) + ".tmp");

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

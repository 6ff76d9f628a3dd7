using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using SecureBuild.Core.IO;
using SecureBuild.Core.Processes;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>One inspection to run: the layout's <c>run</c> command in a working directory.</summary>
/// <param name="Name">The inspection's name in the layout.</param>
/// <param name="Command">The command and its arguments (may be empty: then nothing runs and there is no return value).</param>
/// <param name="WorkingDirectory">Where the command runs and whose files are its materials and products.</param>
/// <param name="Timeout">How long the command may run before it and every process it started are killed.</param>
public sealed record InspectionRequest(string Name, IReadOnlyList<string> Command, string WorkingDirectory, TimeSpan Timeout);

/// <summary>What running an inspection produced.</summary>
public sealed class InspectionOutcome
{
    /// <summary>Artifacts of the working directory before the command ran: path -> lowercase sha256 hex.</summary>
    public IReadOnlyDictionary<string, string> Materials { get; set; } = new Dictionary<string, string>();

    /// <summary>Artifacts of the working directory after the command ran.</summary>
    public IReadOnlyDictionary<string, string> Products { get; set; } = new Dictionary<string, string>();

    /// <summary>The exit code; null when no command ran (empty <c>run</c>), when it timed out or could not start.</summary>
    public int? ReturnValue { get; set; }

    /// <summary>The command ran longer than the timeout and was killed.</summary>
    public bool TimedOut { get; set; }

    /// <summary>Why the command could not be started (not found, not executable), or null.</summary>
    public string? StartError { get; set; }

    /// <summary>Entries of the working directory that were not recorded (before or after the command), with the reason.</summary>
    public IReadOnlyList<SkippedArtifact> Skipped { get; set; } = Array.Empty<SkippedArtifact>();
}

/// <summary>Runs inspections. The default, <see cref="ProcessInspectionRunner"/>, does what in-toto-run does on '.'.</summary>
public interface IInspectionRunner
{
    InspectionOutcome Run(InspectionRequest request);
}

/// <summary>
/// Records the working directory (like <c>in-toto-run -m . -p .</c>: every regular file, symlinks followed,
/// minus the default excludes <c>*.link*</c>, <c>.git</c>, <c>*.pyc</c>, <c>*~</c> applied to every path
/// component), runs the command with stdout/stderr discarded and an empty stdin through the product's
/// <see cref="IProcessRunner"/> (the timeout bounds the whole process tree), and records the directory again.
/// </summary>
public sealed class ProcessInspectionRunner : IInspectionRunner
{
    /// <summary>Output kept of an inspection: none is used (the link's byproducts are empty, as in-toto-verify's), but the pipes are drained.</summary>
    private const int OutputLimit = 64 * 1024;

    private readonly IProcessRunner _processes;

    public ProcessInspectionRunner()
        : this(new ProcessRunner())
    {
    }

    public ProcessInspectionRunner(IProcessRunner processes)
    {
        _processes = processes ?? throw new ArgumentNullException(nameof(processes));
    }

    public InspectionOutcome Run(InspectionRequest request)
    {
        if (request is null)
        {
            throw new ArgumentNullException(nameof(request));
        }

        var skipped = new List<SkippedArtifact>();
        var outcome = new InspectionOutcome { Materials = ArtifactRecorder.Record(request.WorkingDirectory, skipped) };
        if (request.Command.Count > 0)
        {
            RunProcess(request, outcome);
        }

        outcome.Products = ArtifactRecorder.Record(request.WorkingDirectory, skipped);
        outcome.Skipped = skipped.GroupBy(a => a.Path, StringComparer.Ordinal).Select(g => g.Last()).ToList();
        return outcome;
    }

    private void RunProcess(InspectionRequest request, InspectionOutcome outcome)
    {
        var result = _processes.Run(new ProcessSpec(request.Command[0], request.Command.Skip(1), request.WorkingDirectory)
        {
            Timeout = request.Timeout > TimeSpan.Zero ? request.Timeout : TimeSpan.FromMilliseconds(1),
            OutputLimit = OutputLimit,
        });
        outcome.StartError = result.StartError;
        outcome.TimedOut = result.TimedOut;
        outcome.ReturnValue = result.Exited ? result.ExitCode : null;
    }
}

/// <summary>A directory entry an inspection did not record, and why.</summary>
/// <param name="Path">The artifact path ("/"-separated, relative to the working directory).</param>
/// <param name="Reason">Why it was not recorded (for messages).</param>
/// <param name="Refused">
/// True for a symbolic link to a regular file or directory outside the working directory: in-toto-run would
/// record what it points to, so leaving it out could pass a rule the reference fails; verification fails instead.
/// False for what in-toto-run skips too (FIFOs, devices, sockets: <c>os.path.isfile</c> is false).
/// </param>
public sealed record SkippedArtifact(string Path, string Reason, bool Refused);

/// <summary>Hashes a directory the way in-toto-run records '.' with its default exclude patterns.</summary>
public static class ArtifactRecorder
{
    /// <summary>Path ("/"-separated, relative, no "./") -> lowercase sha256 hex of the file bytes.</summary>
    public static Dictionary<string, string> Record(string directory) => Record(directory, null);

    /// <summary>
    /// As <see cref="Record(string)"/>, and says in <paramref name="skipped"/> what was left out: entries that are not
    /// regular files (a FIFO, a device such as a link to /dev/zero, a socket: opening or reading them would block or
    /// never end; in-toto-run skips them too) and symbolic links leaving the directory (refused, see
    /// <see cref="SkippedArtifact.Refused"/>). The file-type check is Linux-only (statx); elsewhere only links are checked.
    /// </summary>
    public static Dictionary<string, string> Record(string directory, ICollection<SkippedArtifact>? skipped)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        string? realRoot = CanonicalPath(Path.GetFullPath(directory));
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<(string Rel, string Full)>();
        pending.Push(("", Path.GetFullPath(directory)));
        while (pending.Count > 0)
        {
            var (rel, full) = pending.Pop();
            if (!visited.Add(RealPath(full)))
            {
                continue; // a symlink loop: os.walk would recurse until the path is too long
            }

            IEnumerable<string> entries;
            try
            {
                entries = Directory.EnumerateFileSystemEntries(full).ToList();
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                continue; // os.walk ignores directories it cannot list
            }

            foreach (string entry in entries)
            {
                string name = Path.GetFileName(entry);
                string path = rel.Length == 0 ? name : rel + "/" + name;
                if (IsExcluded(name))
                {
                    continue;
                }

                string? why = Unrecordable(entry, realRoot, out bool refused);
                if (why is not null)
                {
                    skipped?.Add(new SkippedArtifact(path, why, refused));
                    continue;
                }

                if (Directory.Exists(entry))
                {
                    pending.Push((path, entry));
                }
                else if (File.Exists(entry))
                {
                    string? hash = HashFile(entry);
                    if (hash is not null)
                    {
                        result[path] = hash;
                    }
                }

                // else: a dangling symlink, skipped like in-toto-run does
            }
        }

        return result;
    }

    /// <summary>
    /// The default ARTIFACT_EXCLUDE_PATTERNS as gitwildmatch patterns without a slash: they apply to every path
    /// component, and an excluded directory excludes everything below it.
    /// </summary>
    public static bool IsExcluded(string component) =>
        component.IndexOf(".link", StringComparison.Ordinal) >= 0
        || component == ".git"
        || component.EndsWith(".pyc", StringComparison.Ordinal)
        || component.EndsWith("~", StringComparison.Ordinal);

    /// <summary>Why <paramref name="entry"/> is not recorded, or null to record it (dangling links are skipped later, silently, as before).</summary>
    private static string? Unrecordable(string entry, string? realRoot, out bool refused)
    {
        refused = false;
        bool isLink;
        try
        {
            isLink = (File.GetAttributes(entry) & FileAttributes.ReparsePoint) != 0;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null; // gone or unreadable: the checks below skip it as before
        }

        string? real = realRoot is null ? null : isLink ? CanonicalPath(entry) : entry;
        if (real is null)
        {
            return null;
        }

        if (!FileStatus.TryGet(real, out var status))
        {
            if (!FileStatus.Available && isLink && !IsInside(real, realRoot!) && (File.Exists(real) || Directory.Exists(real)))
            {
                refused = true;
                return $"it is a symbolic link to '{real}', outside the working directory";
            }

            return null;
        }

        if (!status.IsFile && !status.IsDirectory)
        {
            return (isLink ? $"it is a symbolic link to '{real}', " : "it is ") + TypeName(status.Type) + ", not a regular file";
        }

        if (isLink && !IsInside(real, realRoot!))
        {
            refused = true;
            return $"it is a symbolic link to the {(status.IsFile ? "file" : "directory")} '{real}', outside the working directory";
        }

        return null;
    }

    private static string TypeName(int type) => type switch
    {
        0x1000 => "a FIFO (named pipe)",
        0x2000 => "a character device",
        0x6000 => "a block device",
        0xC000 => "a socket",
        _ => "a special file",
    };

    private static bool IsInside(string path, string root) =>
        path == root || path.StartsWith(root.EndsWith("/", StringComparison.Ordinal) ? root : root + "/", StringComparison.Ordinal);

    /// <summary>realpath(3): the absolute path without symbolic links or "..", or null (Windows, dangling, error).</summary>
    private static string? CanonicalPath(string path)
    {
        if (RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
        {
            return null;
        }

        try
        {
            var name = new byte[System.Text.Encoding.UTF8.GetByteCount(path) + 1];
            System.Text.Encoding.UTF8.GetBytes(path, 0, path.Length, name, 0);
            IntPtr resolved = NativeRealPath(name, IntPtr.Zero);
            if (resolved == IntPtr.Zero)
            {
                return null;
            }

            try
            {
                int length = 0;
                while (Marshal.ReadByte(resolved, length) != 0)
                {
                    length++;
                }

                var bytes = new byte[length];
                Marshal.Copy(resolved, bytes, 0, length);
                return System.Text.Encoding.UTF8.GetString(bytes);
            }
            finally
            {
                NativeFree(resolved);
            }
        }
        catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
        {
            return null;
        }
    }

    [DllImport("libc", EntryPoint = "realpath", SetLastError = true)]
    private static extern IntPtr NativeRealPath(byte[] nullTerminatedPath, IntPtr resolved);

    [DllImport("libc", EntryPoint = "free")]
    private static extern void NativeFree(IntPtr pointer);

    private static string? HashFile(string path)
    {
        try
        {
            using var stream = IO.InputFile.OpenRead(path, IO.InputKind.Artifact);
            using var sha = SHA256.Create();
            return Crypto.Hex.Encode(sha.ComputeHash(stream));
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string RealPath(string full)
    {
        try
        {
            var info = new DirectoryInfo(full);
            var target = info.LinkTarget();
            return target ?? info.FullName;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is TargetInvocationException)
        {
            return full;
        }
    }

    private static string? LinkTarget(this DirectoryInfo info)
    {
        // FileSystemInfo.ResolveLinkTarget exists on .NET 6+; use it when available so symlink loops are detected.
        var method = typeof(FileSystemInfo).GetMethod("ResolveLinkTarget", new[] { typeof(bool) });
        if (method?.Invoke(info, new object[] { true }) is FileSystemInfo target)
        {
            return target.FullName;
        }

        return null;
    }
}

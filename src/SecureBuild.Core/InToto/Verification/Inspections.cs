using System.Collections.ObjectModel;
using System.ComponentModel;
using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>One inspection to run: the layout's <c>run</c> command in a working directory.</summary>
public sealed class InspectionRequest
{
    public InspectionRequest(string name, IReadOnlyList<string> command, string workingDirectory, TimeSpan timeout)
    {
        Name = name;
        Command = command;
        WorkingDirectory = workingDirectory;
        Timeout = timeout;
    }

    public string Name { get; }

    /// <summary>The command and its arguments (may be empty: then nothing runs and there is no return value).</summary>
    public IReadOnlyList<string> Command { get; }

    public string WorkingDirectory { get; }

    public TimeSpan Timeout { get; }
}

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
}

/// <summary>Runs inspections. The default, <see cref="ProcessInspectionRunner"/>, does what in-toto-run does on '.'.</summary>
public interface IInspectionRunner
{
    InspectionOutcome Run(InspectionRequest request);
}

/// <summary>
/// Records the working directory (like <c>in-toto-run -m . -p .</c>: every regular file, symlinks followed,
/// minus the default excludes <c>*.link*</c>, <c>.git</c>, <c>*.pyc</c>, <c>*~</c> applied to every path
/// component), runs the command with stdout/stderr discarded and an empty stdin, kills it after the timeout, and
/// records the directory again.
/// </summary>
public sealed class ProcessInspectionRunner : IInspectionRunner
{
    public InspectionOutcome Run(InspectionRequest request)
    {
        if (request is null)
        {
            throw new ArgumentNullException(nameof(request));
        }

        var outcome = new InspectionOutcome { Materials = ArtifactRecorder.Record(request.WorkingDirectory) };
        if (request.Command.Count > 0)
        {
            RunProcess(request, outcome);
        }

        outcome.Products = ArtifactRecorder.Record(request.WorkingDirectory);
        return outcome;
    }

    private static void RunProcess(InspectionRequest request, InspectionOutcome outcome)
    {
        string program = request.Command[0];
        if (program.IndexOf('/') >= 0 && !Path.IsPathRooted(program))
        {
            program = Path.Combine(request.WorkingDirectory, program); // Python resolves it against the command's cwd
        }

        var psi = new ProcessStartInfo(program)
        {
            WorkingDirectory = request.WorkingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        AddArguments(psi, request.Command);

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new Win32Exception("the process did not start");
        }
        catch (Win32Exception e)
        {
            outcome.StartError = e.Message;
            return;
        }

        using (process)
        {
            process.OutputDataReceived += (_, _) => { };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // The command exited before reading stdin.
            }

            double ms = Math.Min(request.Timeout.TotalMilliseconds, int.MaxValue);
            if (!process.WaitForExit((int)Math.Max(1, ms)))
            {
                Kill(process);
                outcome.TimedOut = true;
                return;
            }

            process.WaitForExit(); // flush the asynchronous readers
            outcome.ReturnValue = process.ExitCode;
        }
    }

    // ProcessStartInfo.ArgumentList exists on every runtime the CLI runs on (.NET Core 2.1+) but not in
    // netstandard2.0; fall back to a quoted argument string (.NET's own parsing rules) on .NET Framework.
    private static void AddArguments(ProcessStartInfo psi, IReadOnlyList<string> command)
    {
        if (typeof(ProcessStartInfo).GetProperty("ArgumentList")?.GetValue(psi) is Collection<string> list)
        {
            for (int i = 1; i < command.Count; i++)
            {
                list.Add(command[i]);
            }

            return;
        }

        psi.Arguments = string.Join(" ", command.Skip(1).Select(Quote));

        static string Quote(string a)
        {
            if (a.Length > 0 && a.IndexOfAny(new[] { ' ', '\t', '\n', '"', '\\' }) < 0)
            {
                return a;
            }

            var sb = new System.Text.StringBuilder("\"");
            int backslashes = 0;
            foreach (char c in a)
            {
                if (c == '\\')
                {
                    backslashes++;
                    continue;
                }

                sb.Append('\\', c == '"' ? (backslashes * 2) + 1 : backslashes);
                backslashes = 0;
                sb.Append(c);
            }

            sb.Append('\\', backslashes * 2).Append('"');
            return sb.ToString();
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            var tree = typeof(Process).GetMethod("Kill", BindingFlags.Public | BindingFlags.Instance, null, new[] { typeof(bool) }, null);
            if (tree is not null)
            {
                tree.Invoke(process, new object[] { true });
            }
            else
            {
                process.Kill();
            }

            process.WaitForExit(5000);
        }
        catch (Exception e) when (e is InvalidOperationException || e is Win32Exception || e is TargetInvocationException)
        {
            // Already gone.
        }
    }
}

/// <summary>Hashes a directory the way in-toto-run records '.' with its default exclude patterns.</summary>
public static class ArtifactRecorder
{
    /// <summary>Path ("/"-separated, relative, no "./") -> lowercase sha256 hex of the file bytes.</summary>
    public static Dictionary<string, string> Record(string directory)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
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

    private static string? HashFile(string path)
    {
        try
        {
            using var stream = IO.InputFile.OpenRead(path, IO.InputKind.Artifact);
            using var sha = SHA256.Create();
            return Internal.Hex.Encode(sha.ComputeHash(stream));
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

using System.Collections.ObjectModel;
using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace SecureBuild.Core.Processes;

/// <summary>Runs child processes; injected so orchestration can be tested without running anything.</summary>
public interface IProcessRunner
{
    ProcessOutcome Run(ProcessSpec spec, CancellationToken cancellationToken = default);
}

/// <summary>
/// The one runner for every child process the product starts (builds, git, in-toto inspections, the lock's
/// <c>dotnet</c> calls), with the same limits everywhere:
/// <list type="bullet">
/// <item>stdin is empty, or holds <see cref="ProcessSpec.StandardInput"/>; stdout and stderr are read to the end on two threads and kept in bounded text
/// (<see cref="ProcessSpec.OutputLimit"/>), so neither a chatty child nor a full pipe can exhaust memory or block;</item>
/// <item>the child runs in a session of its own on Unix (<see cref="ProcessTree"/>), and at the timeout or on
/// cancellation the whole tree is killed, not just the first process;</item>
/// <item>after the child exits, the pipes get <see cref="ProcessSpec.OutputGracePeriod"/> to reach end-of-file; a
/// background process still holding them then is killed and reading stops, so a left-behind child never keeps
/// the caller waiting.</item>
/// </list>
/// A bare program name is looked up on PATH (then next to the running executable), never in the current directory.
/// </summary>
public sealed class ProcessRunner : IProcessRunner
{
    /// <summary>How long reading may go on after everything was killed (a holder the kill could not reach).</summary>
    private static readonly TimeSpan AfterKill = TimeSpan.FromSeconds(2);

    /// <summary>Longer lines are passed on in pieces of this many characters.</summary>
    private const int MaxLine = 64 * 1024;

    public ProcessOutcome Run(ProcessSpec spec, CancellationToken cancellationToken = default)
    {
        if (spec is null)
        {
            throw new ArgumentNullException(nameof(spec));
        }

        string display = spec.Display;
        string? program = ProcessTree.ResolveProgram(spec.FileName, spec.WorkingDirectory, ChildPath(spec), out string? error);
        if (program is null)
        {
            return new ProcessOutcome(-1, "") { StartError = error, Command = display, Timeout = spec.Timeout };
        }

        var start = StartInfo(spec, program, out bool ownSession);
        var combined = new BoundedText(spec.OutputLimit);
        var stdoutOnly = spec.CaptureStandardOutput ? new BoundedText(spec.OutputLimit) : null;
        using var exited = new ManualResetEvent(false);
        using var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.Exited += (_, _) =>
        {
            try
            {
                exited.Set();
            }
            catch (ObjectDisposedException)
            {
                // A child that did not die within AfterKill (uninterruptible sleep) exited after Run returned.
            }
        };
        try
        {
            process.Start();
        }
        catch (Win32Exception e)
        {
            return new ProcessOutcome(-1, "") { StartError = e.Message, Command = display, Timeout = spec.Timeout };
        }

        int? group = ownSession ? process.Id : null;
        if (group is int g)
        {
            ProcessTree.Track(g);
        }

        try
        {
            var pipes = new[] { ProcessTree.PipeOf(process.StandardOutput.BaseStream), ProcessTree.PipeOf(process.StandardError.BaseStream) }
                .Where(p => p is not null).Select(p => p!).ToList();
            WriteInput(process, spec.StandardInput);
            var readers = new[]
            {
                Reader(process.StandardOutput.BaseStream, line =>
                {
                    combined.AppendLine(line);
                    stdoutOnly?.AppendLine(line);
                    spec.OnLine?.Invoke(line);
                }),
                Reader(process.StandardError.BaseStream, line =>
                {
                    combined.AppendLine(line);
                    spec.OnLine?.Invoke(line);
                }),
            };

            int signalled = WaitHandle.WaitAny(new[] { exited, cancellationToken.WaitHandle }, Milliseconds(spec.Timeout));
            bool timedOut = signalled == WaitHandle.WaitTimeout;
            bool cancelled = signalled == 1;
            bool leftBehind = false;
            bool abandoned;
            if (timedOut || cancelled)
            {
                ProcessTree.Kill(process, group, pipes);
                process.WaitForExit(Milliseconds(AfterKill));
                abandoned = !Join(readers, AfterKill);
            }
            else if (!Join(readers, spec.OutputGracePeriod))
            {
                // The child exited but something it left behind still holds stdout or stderr.
                leftBehind = true;
                ProcessTree.Kill(process, group, pipes);
                abandoned = !Join(readers, AfterKill);
            }
            else
            {
                abandoned = false;
            }

            string output = combined.ToString();
            if (leftBehind)
            {
                output += $"[SB2801: processes left behind by '{display}' still held its output open {ProcessOutcome.Describe(spec.OutputGracePeriod)} after it exited; they were stopped]\n";
            }

            if (abandoned)
            {
                output += "[SB2801: a process the runner could not stop (another user's, or one outside the child's session where /proc cannot be searched) still holds the output; reading was abandoned]\n";
            }

            return new ProcessOutcome(timedOut || cancelled ? -1 : process.ExitCode, output, stdoutOnly?.ToString() ?? "")
            {
                TimedOut = timedOut,
                Cancelled = cancelled,
                DroppedCharacters = combined.Dropped + (stdoutOnly?.Dropped ?? 0),
                OutputHeldOpen = leftBehind || abandoned,
                Timeout = spec.Timeout,
                Command = display,
            };
        }
        finally
        {
            if (group is int tracked)
            {
                ProcessTree.Untrack(tracked);
            }
        }
    }

    private static ProcessStartInfo StartInfo(ProcessSpec spec, string program, out bool ownSession)
    {
        var arguments = new List<string>(spec.Arguments);
        string fileName = program;
        if (spec.Umask is not null && File.Exists("/bin/sh"))
        {
            arguments.InsertRange(0, new[] { "-c", $"umask {spec.Umask} && exec \"$0\" \"$@\"", fileName });
            fileName = "/bin/sh";
        }

        ownSession = ProcessTree.Setsid is not null;
        if (ownSession)
        {
            arguments.Insert(0, fileName); // an absolute path: never mistaken for an option of setsid
            fileName = ProcessTree.Setsid!;
        }

        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = spec.WorkingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        AddArguments(start, arguments);
        if (spec.Environment is not null)
        {
            start.Environment.Clear();
            foreach (var kv in spec.Environment)
            {
                start.Environment[kv.Key] = kv.Value;
            }
        }

        foreach (var kv in spec.AddedEnvironment ?? new Dictionary<string, string>())
        {
            start.Environment[kv.Key] = kv.Value;
        }

        return start;
    }

    /// <summary>The PATH the child will have (the one execvp would search), else ours.</summary>
    private static string? ChildPath(ProcessSpec spec)
    {
        if (spec.AddedEnvironment is not null && spec.AddedEnvironment.TryGetValue("PATH", out var added))
        {
            return added;
        }

        if (spec.Environment is not null && spec.Environment.TryGetValue("PATH", out var set))
        {
            return set;
        }

        return System.Environment.GetEnvironmentVariable("PATH"); // as Process.Start does when the child has none
    }

    /// <summary>Closes stdin, after writing <paramref name="input"/> on a background thread when there is any.</summary>
    private static void WriteInput(Process process, byte[]? input)
    {
        void Write()
        {
            try
            {
                if (input is { Length: > 0 })
                {
                    process.StandardInput.BaseStream.Write(input, 0, input.Length);
                    process.StandardInput.BaseStream.Flush();
                }

                process.StandardInput.Close();
            }
            catch (Exception e) when (e is IOException || e is ObjectDisposedException || e is InvalidOperationException)
            {
                // The child exited (or was killed) before reading all of stdin.
            }
        }

        if (input is not { Length: > 0 })
        {
            Write();
            return;
        }

        new Thread(Write) { IsBackground = true, Name = "SecureBuild process input" }.Start();
    }

    /// <summary>Reads a stream to its end on a background thread, passing on whole lines (without "\n" or "\r\n").</summary>
    private static Thread Reader(Stream stream, Action<string> onLine)
    {
        var thread = new Thread(() =>
        {
            var decoder = new UTF8Encoding(false).GetDecoder();
            var bytes = new byte[64 * 1024];
            var chars = new char[Encoding.UTF8.GetMaxCharCount(bytes.Length) + 1];
            var line = new StringBuilder();
            void Emit()
            {
                int length = line.Length > 0 && line[line.Length - 1] == '\r' ? line.Length - 1 : line.Length;
                string text = line.ToString(0, length);
                line.Clear();
                onLine(text);
            }

            try
            {
                int read;
                while ((read = stream.Read(bytes, 0, bytes.Length)) > 0)
                {
                    int count = decoder.GetChars(bytes, 0, read, chars, 0);
                    int from = 0;
                    int newline;
                    while ((newline = Array.IndexOf(chars, '\n', from, count - from)) >= 0)
                    {
                        line.Append(chars, from, newline - from);
                        Emit();
                        from = newline + 1;
                    }

                    line.Append(chars, from, count - from);
                    if (line.Length >= MaxLine)
                    {
                        Emit();
                    }
                }
            }
            catch (Exception e) when (e is IOException || e is ObjectDisposedException)
            {
                // The pipe broke; what was read is kept.
            }

            if (line.Length > 0)
            {
                Emit();
            }
        })
        {
            IsBackground = true,
            Name = "SecureBuild process output",
        };
        thread.Start();
        return thread;
    }

    private static bool Join(Thread[] threads, TimeSpan limit)
    {
        var stopwatch = Stopwatch.StartNew();
        foreach (var thread in threads)
        {
            var left = limit - stopwatch.Elapsed;
            if (!thread.Join(left > TimeSpan.Zero ? left : TimeSpan.Zero))
            {
                return false;
            }
        }

        return true;
    }

    private static int Milliseconds(TimeSpan span) => (int)Math.Max(0, Math.Min(int.MaxValue - 1, span.TotalMilliseconds));

    // ProcessStartInfo.ArgumentList exists on every runtime the CLI and `dotnet build` run on (.NET Core 2.1+) but
    // not in netstandard2.0; on .NET Framework fall back to a quoted argument string (.NET's own parsing rules).
    private static void AddArguments(ProcessStartInfo start, IReadOnlyList<string> arguments)
    {
        if (typeof(ProcessStartInfo).GetProperty("ArgumentList")?.GetValue(start) is Collection<string> list)
        {
            foreach (var argument in arguments)
            {
                list.Add(argument);
            }

            return;
        }

        start.Arguments = string.Join(" ", arguments.Select(Quote));
    }

    /// <summary>Windows-style command-line quoting (what .NET parses back into argv on every platform).</summary>
    internal static string Quote(string argument)
    {
        if (argument.Length > 0 && argument.IndexOfAny(new[] { ' ', '\t', '\n', '"', '\'' }) < 0)
        {
            return argument;
        }

        var sb = new StringBuilder("\"");
        int backslashes = 0;
        foreach (char c in argument)
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

using System.Diagnostics;
using System.Text;

namespace SecureBuild.Core.Reproducibility;

/// <summary>One child process to run.</summary>
public sealed class ProcessSpec
{
    public ProcessSpec(string fileName, IEnumerable<string> arguments, string workingDirectory)
    {
        FileName = fileName;
        Arguments = arguments.ToList();
        WorkingDirectory = workingDirectory;
    }

    public string FileName { get; }

    public IReadOnlyList<string> Arguments { get; }

    public string WorkingDirectory { get; }

    /// <summary>The child's complete environment (nothing is inherited when set).</summary>
    public IDictionary<string, string>? Environment { get; set; }

    /// <summary>Unix umask (octal, e.g. "0002") for the child; null keeps the current one.</summary>
    public string? Umask { get; set; }

    /// <summary>Called with every line the child writes (stdout and stderr), from another thread.</summary>
    public Action<string>? OnLine { get; set; }

    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(30);
}

/// <summary>The outcome of a child process.</summary>
public sealed class ProcessOutcome
{
    public ProcessOutcome(int exitCode, string output)
    {
        ExitCode = exitCode;
        Output = output;
    }

    public int ExitCode { get; }

    /// <summary>stdout and stderr, interleaved as received.</summary>
    public string Output { get; }
}

/// <summary>Runs child processes; injected so orchestration can be tested without building anything.</summary>
public interface IProcessRunner
{
    ProcessOutcome Run(ProcessSpec spec, CancellationToken cancellationToken = default);
}

/// <summary>The real thing, on System.Diagnostics.Process. A umask is applied through /bin/sh on Unix.</summary>
public sealed class SystemProcessRunner : IProcessRunner
{
    public ProcessOutcome Run(ProcessSpec spec, CancellationToken cancellationToken = default)
    {
        string fileName = spec.FileName;
        var arguments = spec.Arguments.ToList();
        if (spec.Umask is not null && File.Exists("/bin/sh"))
        {
            arguments.Insert(0, fileName);
            arguments.Insert(0, $"umask {spec.Umask} && exec \"$0\" \"$@\"");
            arguments.Insert(0, "-c");
            fileName = "/bin/sh";
        }

        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = spec.WorkingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            CreateNoWindow = true,
            Arguments = string.Join(" ", arguments.Select(Quote)),
        };
        if (spec.Environment is not null)
        {
            start.Environment.Clear();
            foreach (var kv in spec.Environment)
            {
                start.Environment[kv.Key] = kv.Value;
            }
        }

        var output = new StringBuilder();
        using var process = new Process { StartInfo = start };
        void OnData(object sender, DataReceivedEventArgs e)
        {
            if (e.Data is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(e.Data);
            }

            spec.OnLine?.Invoke(e.Data);
        }

        process.OutputDataReceived += OnData;
        process.ErrorDataReceived += OnData;
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using (cancellationToken.Register(() => Kill(process)))
        {
            if (!process.WaitForExit((int)Math.Min(int.MaxValue, spec.Timeout.TotalMilliseconds)))
            {
                Kill(process);
                process.WaitForExit();
                lock (output)
                {
                    output.AppendLine($"(killed after {spec.Timeout.TotalMinutes:0} minutes)");
                    return new ProcessOutcome(-1, output.ToString());
                }
            }

            process.WaitForExit();
        }

        lock (output)
        {
            return new ProcessOutcome(process.ExitCode, output.ToString());
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
        }
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

            if (c == '"')
            {
                sb.Append('\\', (backslashes * 2) + 1);
            }
            else
            {
                sb.Append('\\', backslashes);
            }

            backslashes = 0;
            sb.Append(c);
        }

        sb.Append('\\', backslashes * 2);
        sb.Append('"');
        return sb.ToString();
    }
}

using System.Security.Cryptography;
using System.Text;
using SecureBuild.Cli;
using SecureBuild.Core.Tracing;
using SecureBuild.Core.Tracing.Linux;

namespace SecureBuild.Tracing.Tests;

/// <summary>Runs commands under the real tracer, launched through the real securebuild executable built beside the tests.</summary>
internal static class Tracer
{
    public static TraceLog Run(string workingDirectory, params string[] command) => RunResult(workingDirectory, command).Log;

    public static TraceResult RunResult(string workingDirectory, IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment = null, TraceLimits? limits = null, string? hashStore = null)
    {
        string previous = Directory.GetCurrentDirectory();
        Directory.SetCurrentDirectory(workingDirectory);
        try
        {
            return PtraceTracer.Run(new TraceOptions { Command = command, Launcher = TraceCommand.Launcher(), Environment = environment, Limits = limits ?? new TraceLimits(), HashStoreFile = hashStore });
        }
        finally
        {
            Directory.SetCurrentDirectory(previous);
        }
    }

    public static string Sha256(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    /// <summary>A fresh directory under the test's work folder, removed by <see cref="Cleanup"/>.</summary>
    public static string TempDirectory()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sb-trace-tests", Guid.NewGuid().ToString("N").Substring(0, 10));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static void Cleanup(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>The first program of that name in /usr/bin or /bin (the tests name real binaries, not shims on PATH).</summary>
    public static string System(string name) =>
        new[] { "/usr/bin/" + name, "/bin/" + name }.FirstOrDefault(File.Exists) ?? throw new InconclusiveException($"{name} is not installed.");
}

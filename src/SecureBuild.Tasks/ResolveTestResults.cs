using Microsoft.Build.Framework;
using SecureBuild.Core.Recording;
using SecureBuild.Core.Testing;

namespace SecureBuild.Tasks;

/// <summary>
/// Finds the TRX file the test run just wrote: the one SecureBuild.Sdk's own trx logger wrote, or, when the user gave a trx
/// logger, its LogFileName (relative to the results directory) or else the newest .trx in the results directory written
/// since the step started. None: SB5460.
/// </summary>
public sealed class ResolveTestResults : CodedTask
{
    /// <summary>Where the SDK's own logger writes (used when <see cref="SdkLogger"/> is true).</summary>
    [Required]
    public string DefaultResultsFile { get; set; } = "";

    /// <summary>True when the SDK added its trx logger (the user gave none).</summary>
    public bool SdkLogger { get; set; }

    /// <summary>The loggers the run used (VSTestLogger: ';'-separated, each "name;key=value" with escaped separators).</summary>
    public string[] Loggers { get; set; } = Array.Empty<string>();

    /// <summary>VSTest's results directory (relative paths: to the project directory).</summary>
    [Required]
    public string ResultsDirectory { get; set; } = "";

    /// <summary>The step's pending materials, which say when the step started.</summary>
    [Required]
    public string MaterialsFile { get; set; } = "";

    [Output]
    public string? ResultsFile { get; set; }

    protected override bool ExecuteTask()
    {
        var found = SdkLogger ? DefaultResultsFile : UserResultsFile();
        if (found is null || !File.Exists(found))
        {
            var where = found ?? $"{ResultsDirectory} (no .trx written since the tests started)";
            LogCodedError(TestResultException.ResultsMissing,
                $"the test run wrote no results file at {where}, so the test step cannot be recorded. " +
                "Let SecureBuild.Sdk add its TRX logger (run `dotnet test` without a trx --logger), or give the trx logger a LogFileName; " +
                "to run tests without recording them, set SecureBuildRecordTest=false.");
            return false;
        }
        ResultsFile = Path.GetFullPath(found);
        return true;
    }

    private string? UserResultsFile()
    {
        foreach (var logger in Loggers)
        {
            var parts = logger.Split(';');
            if (!IsTrx(parts[0]))
            {
                continue;
            }
            var name = parts.Skip(1).Select(p => p.Split(new[] { '=' }, 2)).FirstOrDefault(kv => kv.Length == 2 && kv[0].Trim().Equals("LogFileName", StringComparison.OrdinalIgnoreCase));
            if (name is not null && name[1].Trim().Length > 0)
            {
                return Path.Combine(ResultsDirectory, name[1].Trim());
            }
        }
        if (!Directory.Exists(ResultsDirectory))
        {
            return null;
        }
        var started = StepRecorder.ReadPendingStartedOn(MaterialsFile)?.UtcDateTime ?? DateTime.MinValue;
        // The file system's clock may round down: a second of slack, still after any earlier run's file.
        return new DirectoryInfo(ResultsDirectory).EnumerateFiles("*.trx", SearchOption.TopDirectoryOnly)
            .Where(f => f.LastWriteTimeUtc >= started.AddSeconds(-1))
            .OrderByDescending(f => f.LastWriteTimeUtc)
            .Select(f => f.FullName)
            .FirstOrDefault();
    }

    /// <summary>"trx", or the trx logger's URI or assembly-qualified name.</summary>
    public static bool IsTrx(string logger)
    {
        var name = logger.Trim();
        return name.Equals("trx", StringComparison.OrdinalIgnoreCase) || name.Equals("logger://Microsoft/TestPlatform/TrxLogger/v1", StringComparison.OrdinalIgnoreCase)
            || name.IndexOf("TrxLogger", StringComparison.OrdinalIgnoreCase) >= 0;
    }
}

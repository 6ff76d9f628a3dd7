using Microsoft.Build.Framework;
using SecureBuild.Core.Provenance;

namespace SecureBuild.Tasks;

/// <summary>
/// The time of the commit being built, for package entry timestamps: runs git itself (no shell, so a traced build
/// shows only git, which the default trace policy allows); <see cref="Fallback"/> when there is no commit or no git.
/// </summary>
public sealed class CommitTime : CodedTask
{
    /// <summary>How long git may take before the fallback is used.</summary>
    private static readonly TimeSpan GitTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The folder whose work tree's HEAD is asked for.</summary>
    [Required]
    public string Directory { get; set; } = "";

    /// <summary>The seconds since 1970 used when git cannot tell.</summary>
    [Required]
    public string Fallback { get; set; } = "";

    /// <summary>Seconds since 1970: HEAD's committer time, else <see cref="Fallback"/>.</summary>
    [Output]
    public string Seconds { get; private set; } = "";

    protected override bool ExecuteTask()
    {
        var time = GitSource.CommitTime(Directory, GitTimeout);
        if (time is null)
        {
            Log.LogMessage(MessageImportance.Low, $"CommitTime: no commit time from git in {Directory}; using {Fallback}.");
        }
        Seconds = time?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Fallback;
        return true;
    }
}

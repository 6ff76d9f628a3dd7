using SecureBuild.TestSupport;

namespace SecureBuild.Tuf.Tests;

/// <summary>
/// tuf-js (the sigstore-js project's TUF client) run as an oracle: tests/SecureBuild.Tuf.Tests/oracle in this
/// checkout, its node_modules installed by build/install-prerequisites.sh (npm ci from the pinned package-lock.json;
/// done here too when missing).
/// </summary>
public static class TufJs
{
    private static readonly object Gate = new();
    private static string? _dir;

    public static string Directory_()
    {
        lock (Gate)
        {
            if (_dir is not null)
            {
                return _dir;
            }

            string dir = Path.Combine(RepositoryRoot.Path, "tests", "SecureBuild.Tuf.Tests", "oracle");
            if (!File.Exists(Path.Combine(dir, "node_modules", "tuf-js", "package.json")))
            {
                var install = Run.Process("npm", new[] { "ci", "--no-audit", "--no-fund", "--loglevel=error" }, dir, timeout: TimeSpan.FromMinutes(5));
                Assert.That(install.ExitCode, Is.EqualTo(0), "npm ci for the tuf-js oracle failed (run build/install-prerequisites.sh): " + install);
            }

            _dir = dir;
            return dir;
        }
    }

    /// <summary>tuf-js refresh (and download of <paramref name="target"/>): exit 0 accepted, 1 refused.</summary>
    public static ProcessResult Refresh(string metadataDir, string metadataUrl, string? targetBaseUrl = null, string? target = null, string? targetDir = null)
    {
        string dir = Directory_();
        var args = new List<string> { Path.Combine(dir, "tuf-client.mjs"), "--metadata-dir", metadataDir, "--metadata-url", metadataUrl };
        if (target is not null)
        {
            args.AddRange(new[] { "--target-base-url", targetBaseUrl!, "--target", target, "--target-dir", targetDir! });
        }

        return Run.Process("node", args, dir, timeout: TimeSpan.FromMinutes(2));
    }
}

using System.Diagnostics;

namespace SecureBuild.TestSupport.Sigstore;

/// <summary>
/// The Node.js side of the Sigstore tests (the sigstore-js verifier and signer, the local Fulcio/Rekor/TSA stand-in),
/// installed from the repository's test data into a private, writable folder: the data folder is never written.
/// node_modules is cached per package-lock.json hash under the temp directory (build/install-prerequisites.sh fills
/// the same folder); npm ci runs here only when it is missing.
/// </summary>
public static class SigstoreNodeTools
{
    private static readonly string[] Files =
    {
        "package.json", "package-lock.json", "verify-with-sigstore-js.mjs", "sign-with-sigstore-js.mjs", "local-sigstore-mock-server.mjs",
    };

    private static readonly object Gate = new();
    private static readonly Dictionary<string, string> Installed = new(StringComparer.Ordinal);

    /// <summary>The folder holding the scripts and their node_modules; fails the test when node/npm are missing.</summary>
    public static string Install(string dataDirectory)
    {
        lock (Gate)
        {
            if (Installed.TryGetValue(dataDirectory, out var done))
            {
                return done;
            }

            if (!OnPath("node") || !OnPath("npm"))
            {
                Assert.Fail("node/npm are not installed: the sigstore-js oracle and the Sigstore stand-in cannot run. Run build/install-prerequisites.sh (it installs Debian's nodejs and npm).");
            }

            byte[] lockBytes = File.ReadAllBytes(Path.Combine(dataDirectory, "package-lock.json"));
            string hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(lockBytes)).Substring(0, 16).ToLowerInvariant();
            string dir = Path.Combine(Path.GetTempPath(), "securebuild-sigstore-oracle-" + hash);
            Directory.CreateDirectory(dir);
            foreach (string f in Files)
            {
                File.Copy(Path.Combine(dataDirectory, f), Path.Combine(dir, f), overwrite: true);
                File.SetAttributes(Path.Combine(dir, f), FileAttributes.Normal);
            }

            if (new[] { "verify", "sign", "mock" }.Any(p => !File.Exists(Path.Combine(dir, "node_modules", "@sigstore", p, "package.json"))))
            {
                var npm = Run.Process("npm", new[] { "ci", "--no-audit", "--no-fund", "--loglevel=error" }, dir, timeout: TimeSpan.FromMinutes(10));
                if (npm.ExitCode != 0)
                {
                    Assert.Fail($"npm ci for the Sigstore tools failed (exit {npm.ExitCode}):\n{npm.Output}");
                }
            }

            Installed[dataDirectory] = dir;
            return dir;
        }
    }

    private static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)
            .Any(d => d.Length > 0 && File.Exists(Path.Combine(d, tool)));
}

using SecureBuild.Core.Crypto;

namespace SecureBuild.Verification.Tests.Infrastructure;

/// <summary>Locations of the reference data, keys and scratch directories.</summary>
internal static class TestData
{
    /// <summary>The in-toto interop data: $SECUREBUILD_INTOTO_DATA, else the copy under TestData/in-toto.</summary>
    public static string Root
    {
        get
        {
            string? env = Environment.GetEnvironmentVariable("SECUREBUILD_INTOTO_DATA");
            string dir = !string.IsNullOrEmpty(env) ? env : Path.Combine(Path.GetDirectoryName(typeof(TestData).Assembly.Location)!, "TestData", "in-toto");
            if (!File.Exists(Path.Combine(dir, "cases.json")))
            {
                throw new InvalidOperationException($"in-toto reference data not found in '{dir}' (expected cases.json).");
            }

            return dir;
        }
    }

    public static string Case(string id) => Path.Combine(Root, "cases", id);

    public static string PublicKeyFile(string name) => Path.Combine(Root, "keys", name + ".pub");

    public static SigningKey Functionary(string name) => SigningKey.Load(Path.Combine(Root, "keys", "test-only-private", name));

    /// <summary>The repository root (the directory with SecureBuild.Sdk.sln).</summary>
    public static string RepoRoot => SecureBuild.TestSupport.RepositoryRoot.Path;

    /// <summary>A fresh scratch directory.</summary>
    public static string NewTempDir(string prefix = "sbverify") => SecureBuild.TestSupport.ScratchDirectory.Create(prefix);

    /// <summary>Copies a directory tree; copies are writable (the shared data is read-only).</summary>
    public static void CopyDirectory(string source, string target) => SecureBuild.TestSupport.ScratchDirectory.Copy(source, target);

    public static void DeleteDirectory(string dir) => SecureBuild.TestSupport.ScratchDirectory.TryDelete(dir);
}

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
    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SecureBuild.Sdk.sln")))
            {
                dir = dir.Parent;
            }

            return dir?.FullName ?? throw new InvalidOperationException("SecureBuild.Sdk.sln not found above the test directory.");
        }
    }

    /// <summary>A fresh scratch directory.</summary>
    public static string NewTempDir(string prefix = "sbverify")
    {
        string dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Copies a directory tree; copies are writable (the shared data is read-only).</summary>
    public static void CopyDirectory(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(source))
        {
            string dest = Path.Combine(target, Path.GetFileName(file));
            File.Copy(file, dest, overwrite: true);
            File.SetAttributes(dest, FileAttributes.Normal);
        }

        foreach (string dir in Directory.GetDirectories(source))
        {
            CopyDirectory(dir, Path.Combine(target, Path.GetFileName(dir)));
        }
    }

    public static void DeleteDirectory(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

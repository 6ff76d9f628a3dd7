namespace SecureBuild.IntegrationTests.Infrastructure;

/// <summary>Debian's reference in-toto 1.3.1, installed on demand.</summary>
public static class InToto
{
    public static void EnsureInstalled()
    {
        if (File.Exists("/usr/bin/in-toto-verify"))
        {
            return;
        }
        var install = Run.Process("bash", new[] { Path.Combine(SdkFeed.RepoRoot, "build", "install-prerequisites.sh") }, SdkFeed.RepoRoot,
            timeout: TimeSpan.FromMinutes(10));
        Assert.That(install.ExitCode, Is.EqualTo(0), "could not install Debian's in-toto (the reference verifier):\n" + install.Output);
        Assert.That(File.Exists("/usr/bin/in-toto-verify"), Is.True, "in-toto-verify is still missing after apt-get install in-toto");
    }

    /// <summary>Runs in-toto-verify in <paramref name="workingDirectory"/> (inspections write there).</summary>
    public static ProcessResult Verify(string workingDirectory, string layout, string linkDirectory, params (string Path, string Type)[] layoutKeys)
    {
        var arguments = new List<string> { "--layout", layout, "--link-dir", linkDirectory, "--layout-keys" };
        arguments.AddRange(layoutKeys.Select(k => k.Path));
        arguments.Add("--key-types");
        arguments.AddRange(layoutKeys.Select(k => k.Type));
        arguments.Add("-v");
        return Run.Process("/usr/bin/in-toto-verify", arguments, workingDirectory);
    }
}

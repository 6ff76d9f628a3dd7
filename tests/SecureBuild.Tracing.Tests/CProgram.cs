using System.Diagnostics;

namespace SecureBuild.Tracing.Tests;

/// <summary>The C programs in Programs/ (copied beside the tests), compiled with the system's C compiler for a test.</summary>
internal static class CProgram
{
    /// <summary>Compiles Programs/<paramref name="name"/>.c into <paramref name="directory"/> and returns the executable's path.</summary>
    public static string Compile(string name, string directory, params string[] flags)
    {
        // build/install-prerequisites.sh installs clang where neither clang nor gcc is there, and Debian's clang does not
        // provide /usr/bin/cc: so clang too, or a fresh CI machine would not run these tests.
        string cc = new[] { "/usr/bin/cc", "/usr/bin/gcc", "/usr/bin/clang" }.FirstOrDefault(File.Exists)
            ?? throw new InconclusiveException("no C compiler (build/install-prerequisites.sh installs clang).");
        string output = Path.Combine(directory, name);
        var start = new ProcessStartInfo(cc) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in flags.Concat(new[] { "-o", output, Path.Combine(TestContext.CurrentContext.TestDirectory, "Programs", name + ".c") }))
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(120_000), "the C compiler finished");
        Assert.That(process.ExitCode, Is.EqualTo(0), errors.Result);
        return output;
    }
}

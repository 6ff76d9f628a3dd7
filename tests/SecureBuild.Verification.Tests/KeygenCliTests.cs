using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>`securebuild keygen` writes both keys or neither, and never leaves a temporary file.</summary>
[TestFixture]
public class KeygenCliTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestData.NewTempDir("keygen");

    [TearDown]
    public void TearDown() => TestData.DeleteDirectory(_dir);

    private static (int Code, string Stdout, string Stderr) Bounded(string cwd, params string[] args)
    {
        var task = Task.Run(() => Cli.Run(cwd, args));
        Assert.That(task.Wait(TimeSpan.FromSeconds(60)), Is.True, $"securebuild {string.Join(" ", args)} did not end within 60 s");
        return task.Result;
    }

    [Test]
    public void Keygen_writes_both_keys_or_neither_when_the_public_key_cannot_be_written()
    {
        var output = Path.Combine(_dir, "keys", "build");
        Directory.CreateDirectory(output + ".pub"); // the public key's place is taken
        var (code, _, stderr) = Bounded(_dir, "keygen", "-o", output);
        Assert.That(code, Is.EqualTo(1), stderr);
        Assert.That(File.Exists(output), Is.False, "no private key without its public key");
        Assert.That(Directory.GetFiles(Path.Combine(_dir, "keys")), Is.Empty, "no temporary file left");
        Assert.That(stderr, Does.Contain("SB3002").And.Contain("neither key"));
    }

    [Test]
    public void Keygen_with_force_keeps_the_old_pair_whole_when_the_new_one_cannot_be_written()
    {
        var output = Path.Combine(_dir, "keys", "build");
        Assert.That(Bounded(_dir, "keygen", "-o", output).Code, Is.EqualTo(0));
        var oldPrivate = File.ReadAllBytes(output);
        File.Delete(output + ".pub");
        Directory.CreateDirectory(output + ".pub");

        var (code, _, stderr) = Bounded(_dir, "keygen", "-o", output, "--force");
        Assert.That(code, Is.EqualTo(1), stderr);
        Assert.That(File.ReadAllBytes(output), Is.EqualTo(oldPrivate), "the old private key is still there, unchanged");
        Assert.That(Directory.GetFiles(Path.Combine(_dir, "keys")), Is.EqualTo(new[] { output }), "no temporary file left");
    }

    [Test]
    public void Keygen_into_a_read_only_directory_leaves_no_half_pair()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Ignore("Unix permissions");
            return;
        }

        Assume.That(Environment.UserName, Is.Not.EqualTo("root"), "root writes into read-only directories anyway");
        var directory = Directory.CreateDirectory(Path.Combine(_dir, "ro")).FullName;
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var (code, _, stderr) = Bounded(_dir, "keygen", "-o", Path.Combine(directory, "build"));
            Assert.That(code, Is.EqualTo(1), stderr);
            Assert.That(Directory.GetFiles(directory), Is.Empty);
        }
        finally
        {
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }
}

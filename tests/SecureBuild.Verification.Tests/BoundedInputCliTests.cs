using System.Runtime.InteropServices;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// `securebuild verify` against inputs that are not what they claim: a FIFO or /dev/zero as layout, key or link
/// must end at once with an SB error (not hang or run out of memory), and a private key is not a layout key.
/// </summary>
[TestFixture]
[NonParallelizable] // the CLI runs inspections in the process's current directory
public class BoundedInputCliTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = TestData.NewTempDir("bounded");
        TestData.CopyDirectory(TestData.Case("pass-baseline"), _dir);
    }

    [TearDown]
    public void TearDown() => TestData.DeleteDirectory(_dir);

    private string Final => Path.Combine(_dir, "final");

    private static (int Code, string Stdout, string Stderr) Bounded(string cwd, params string[] args)
    {
        var task = Task.Run(() => Cli.Run(cwd, args));
        Assert.That(task.Wait(Bound), Is.True, $"securebuild {string.Join(" ", args)} did not end within {Bound.TotalSeconds} s");
        return task.Result;
    }

    private (int Code, string Stdout, string Stderr) Verify(params string[] args) => Bounded(Final, new[] { "verify" }.Concat(args).ToArray());

    private string Fifo(string name)
    {
        Assume.That(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "FIFOs: Linux");
        var path = Path.Combine(_dir, name);
        Assert.That(MkFifo(path, Convert.ToInt32("600", 8)), Is.EqualTo(0), "mkfifo");
        return path;
    }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo(string path, int mode);

    [Test]
    public void A_fifo_as_layout_is_refused_at_once()
    {
        var fifo = Fifo("pipe.layout");
        var (code, _, stderr) = Verify("-l", fifo, "-k", "../owner.pub", "-d", "../links");
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain("SB1700").And.Contain("FIFO").And.Contain(fifo));
    }

    [Test]
    public void A_fifo_as_layout_key_is_refused_at_once()
    {
        var fifo = Fifo("owner.key");
        var (code, _, stderr) = Verify("-l", "../root.layout", "-k", fifo, "-d", "../links");
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain("SB1700").And.Contain("FIFO"));
    }

    [Test]
    public void Dev_zero_as_layout_key_or_layout_is_refused_without_reading_it()
    {
        Assume.That(File.Exists("/dev/zero"), "/dev/zero");
        var (code, _, stderr) = Verify("-l", "../root.layout", "-k", "/dev/zero", "-d", "../links");
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain("SB1700").And.Contain("character device"));

        (code, _, stderr) = Verify("-l", "/dev/zero", "-k", "../owner.pub", "-d", "../links");
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain("SB1700").And.Contain("character device"));
    }

    [Test]
    public void A_fifo_in_place_of_a_link_is_treated_as_missing_with_a_warning_not_waited_for()
    {
        var links = Path.Combine(_dir, "links");
        var victim = Directory.GetFiles(links, "*.link").OrderBy(f => f, StringComparer.Ordinal).First();
        File.Delete(victim);
        Assert.That(MkFifo(victim, Convert.ToInt32("600", 8)), Is.EqualTo(0), "mkfifo");

        var (code, _, stderr) = Verify("-l", "../root.layout", "-k", "../owner.pub", "-t", "rsa", "-d", "../links");
        Assert.That(code, Is.EqualTo(1), stderr);
        Assert.That(stderr, Does.Contain("SB1700").And.Contain(Path.GetFileName(victim)));
    }

    [Test]
    public void A_private_key_as_layout_key_is_refused_as_in_toto_verify_does()
    {
        var privateKey = Path.Combine(TestData.Root, "keys", "test-only-private", "alice");
        var (code, _, stderr) = Verify("-l", "../root.layout", "-k", privateKey, "-t", "ed25519", "-d", "../links");
        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain("SB1703").And.Contain("private key"));
        Assert.That(stderr, Does.Not.Contain(File.ReadAllText(privateKey).Trim()), "the key is never quoted");
    }
}

using System.Runtime.InteropServices;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>
/// The tasks read through the bounded reader: /dev/zero or a FIFO as SecureBuildSigningKey is one SB1700 error at
/// once (it hung the build), and a directory where the lock belongs is an error, not "no lock".
/// </summary>
public sealed class BoundedInputTaskTests : TaskTestBase
{
    private static bool Bounded(Func<bool> execute)
    {
        var task = System.Threading.Tasks.Task.Run(execute);
        Assert.That(task.Wait(TimeSpan.FromSeconds(30)), Is.True, "the task did not end within 30 s");
        return task.Result;
    }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo(string path, int mode);

    [Test]
    public void Dev_zero_as_the_signing_key_is_SB1700_at_once()
    {
        Assume.That(File.Exists("/dev/zero"), "/dev/zero");
        var engine = new FakeBuildEngine();
        var task = Products(engine, "compile", Dir.Write("repo/App/bin/App.dll", "a"));
        task.FallbackMaterials = Items(ProjectFile);
        task.SigningKey = "/dev/zero";

        Assert.That(Bounded(task.Execute), Is.False, engine.Log);
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { "SB1700" }), engine.Log);
        Assert.That(engine.Errors.Single().Message, Does.Contain("/dev/zero").And.Contain("character device"));
        Assert.That(FilesIn(LinkDir), Is.Empty);
    }

    [Test]
    public void A_fifo_as_the_signing_key_is_SB1700_at_once()
    {
        Assume.That(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "FIFOs: Linux");
        var fifo = Dir.Path("keys/pipe.key");
        Assert.That(MkFifo(fifo, Convert.ToInt32("600", 8)), Is.EqualTo(0), "mkfifo");
        var engine = new FakeBuildEngine();
        var task = Products(engine, "compile", Dir.Write("repo/App/bin/App.dll", "a"));
        task.FallbackMaterials = Items(ProjectFile);
        task.SigningKey = fifo;

        Assert.That(Bounded(task.Execute), Is.False, engine.Log);
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { "SB1700" }), engine.Log);
        Assert.That(engine.Errors.Single().Message, Does.Contain("FIFO"));
    }

    [Test]
    public void A_directory_where_the_lock_belongs_is_an_error_not_no_lock()
    {
        var lockPath = Dir.CreateDirectory("repo/securebuild.lock.json");
        var engine = new FakeBuildEngine();
        var task = new VerifyLockBeforeRestore
        {
            BuildEngine = engine,
            ProjectFile = ProjectFile,
            RootDirectory = Root,
            TargetFramework = "net8.0",
        };

        Assert.That(Bounded(task.Execute), Is.False, engine.Log);
        Assert.That(engine.ErrorCodes, Is.EqualTo(new[] { "SB1400" }), engine.Log);
        Assert.That(engine.Errors.Single().Message, Does.Contain("SB1700").And.Contain("directory").And.Contain(lockPath));
    }
}

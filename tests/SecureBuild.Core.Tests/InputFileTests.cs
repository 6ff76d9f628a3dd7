using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Tests;

/// <summary>
/// The bounded reader every file goes through: FIFOs, devices and directories refused before they are read, links
/// out of a tree refused, a size limit per kind, and digests streamed for files of any size.
/// </summary>
[TestFixture]
public class InputFileTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private string _dir = "";

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "sb-input-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        Directory.CreateDirectory(_dir);
    }

    [TearDown]
    public void TearDown()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Runs <paramref name="read"/> on another thread and fails (instead of hanging) when it does not end.</summary>
    internal static T Bounded<T>(Func<T> read)
    {
        var task = Task.Run(read);
        Assert.That(task.Wait(Bound) || task.IsCompleted, Is.True, $"the read did not end within {Bound.TotalSeconds} s (it blocks)");
        return task.Result;
    }

    internal static Exception? BoundedThrows(Action read) => Bounded<Exception?>(() =>
    {
        try
        {
            read();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    });

    internal static string MakeFifo(string path)
    {
        Assume.That(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "FIFOs: Linux");
        Assert.That(MkFifo(path, Convert.ToInt32("600", 8)), Is.EqualTo(0), "mkfifo");
        return path;
    }

    [DllImport("libc", EntryPoint = "mkfifo", SetLastError = true)]
    private static extern int MkFifo(string path, int mode);

    private static void ExpectRefused(Exception? e, InputFileProblem problem, params string[] words)
    {
        Assert.That(e, Is.InstanceOf<InputFileException>(), e?.ToString() ?? "no exception");
        var refused = (InputFileException)e!;
        Assert.That(refused.Problem, Is.EqualTo(problem));
        foreach (var word in words)
        {
            Assert.That(refused.Message, Does.Contain(word));
        }
    }

    [TestCase(InputKind.Key)]
    [TestCase(InputKind.Layout)]
    [TestCase(InputKind.Link)]
    [TestCase(InputKind.Lock)]
    [TestCase(InputKind.Artifact)]
    public void A_fifo_is_refused_at_once_for_every_kind(InputKind kind)
    {
        var fifo = MakeFifo(Path.Combine(_dir, "pipe"));
        ExpectRefused(BoundedThrows(() => InputFile.ReadAllBytes(fifo, kind)), InputFileProblem.NotRegularFile, "SB1700", fifo, "FIFO", InputFile.Describe(kind));
        using var sha = SHA256.Create();
        ExpectRefused(BoundedThrows(() => InputFile.Hash(fifo, kind, null, sha)), InputFileProblem.NotRegularFile, "FIFO");
    }

    [Test]
    public void A_link_to_a_fifo_is_refused_too()
    {
        var fifo = MakeFifo(Path.Combine(_dir, "pipe"));
        var link = Path.Combine(_dir, "key.pem");
        File.CreateSymbolicLink(link, fifo);
        ExpectRefused(BoundedThrows(() => InputFile.ReadAllBytes(link, InputKind.Key)), InputFileProblem.NotRegularFile, "FIFO");
    }

    [Test]
    public void Dev_zero_is_refused_as_a_character_device()
    {
        Assume.That(File.Exists("/dev/zero"), "/dev/zero");
        ExpectRefused(BoundedThrows(() => InputFile.ReadAllBytes("/dev/zero", InputKind.Key)), InputFileProblem.NotRegularFile, "SB1700", "/dev/zero", "character device", "key file");
        ExpectRefused(BoundedThrows(() => Sha256Hex.OfFile("/dev/zero")), InputFileProblem.NotRegularFile, "character device");
    }

    [Test]
    public void Dev_zero_as_a_key_is_an_SB1700_key_error()
    {
        Assume.That(File.Exists("/dev/zero"), "/dev/zero");
        var e = BoundedThrows(() => SigningKey.Load("/dev/zero"));
        Assert.That(e, Is.InstanceOf<KeyFormatException>(), e?.ToString());
        Assert.That(((KeyFormatException)e!).Code, Is.EqualTo("SB1700"));
        Assert.That(e.Message, Does.Contain("character device"));
        var fifo = MakeFifo(Path.Combine(_dir, "key"));
        Assert.That(((KeyFormatException?)BoundedThrows(() => PublicKey.Load(fifo)))?.Code, Is.EqualTo("SB1700"));
    }

    [Test]
    public void A_directory_is_refused()
    {
        ExpectRefused(BoundedThrows(() => InputFile.ReadAllBytes(_dir, InputKind.Lock)), InputFileProblem.NotRegularFile, "a directory", "lock file");
        Assert.That(InputFile.Exists(_dir), Is.True, "a directory where a file is expected counts as there, not as missing");
        Assert.That(InputFile.Exists(Path.Combine(_dir, "nothing")), Is.False);
    }

    [TestCase(InputKind.Key, "65,536")]
    [TestCase(InputKind.Layout, "268,435,456")]
    [TestCase(InputKind.Link, "268,435,456")]
    [TestCase(InputKind.Bundle, "67,108,864")]
    [TestCase(InputKind.TrustedRoot, "16,777,216")]
    [TestCase(InputKind.Lock, "67,108,864")]
    [TestCase(InputKind.Metadata, "16,777,216")]
    [TestCase(InputKind.Assets, "1,073,741,824")]
    [TestCase(InputKind.Cache, "268,435,456")]
    [TestCase(InputKind.Compared, "1,073,741,824")]
    public void Each_kind_refuses_a_file_one_byte_over_its_limit(InputKind kind, string limit)
    {
        var path = Path.Combine(_dir, "big");
        using (var stream = new FileStream(path, FileMode.CreateNew))
        {
            stream.SetLength(InputFile.Limit(kind) + 1); // sparse: nothing is written
        }

        ExpectRefused(BoundedThrows(() => InputFile.ReadAllBytes(path, kind)), InputFileProblem.TooLarge, "SB1701", path, limit, InputFile.Describe(kind));
    }

    [Test]
    public void A_key_at_its_limit_is_read()
    {
        var path = Path.Combine(_dir, "key");
        File.WriteAllBytes(path, new byte[InputFile.Limit(InputKind.Key)]);
        Assert.That(InputFile.ReadAllBytes(path, InputKind.Key), Has.Length.EqualTo(65536));
    }

    [Test]
    public void An_oversize_key_file_is_an_SB1701_key_error()
    {
        var path = Path.Combine(_dir, "key.pem");
        using (var stream = new FileStream(path, FileMode.CreateNew))
        {
            stream.SetLength(64 * 1024 + 1);
        }

        var e = BoundedThrows(() => SigningKey.Load(path));
        Assert.That((e as KeyFormatException)?.Code, Is.EqualTo("SB1701"), e?.ToString());
        Assert.That(e!.Message, Does.Contain("65,536").And.Contain("key file"));
    }

    [Test]
    public void A_file_whose_size_the_kernel_does_not_report_is_read_to_its_end()
    {
        Assume.That(File.Exists("/proc/self/status"), "/proc");
        var text = InputFile.ReadAllText("/proc/self/status", InputKind.Metadata);
        Assert.That(text, Does.Contain("Pid:"));
    }

    [Test]
    public void A_link_out_of_the_tree_is_refused_and_one_inside_is_followed()
    {
        Assume.That(File.Exists("/proc/self/environ"), "/proc");
        var tree = Directory.CreateDirectory(Path.Combine(_dir, "tree")).FullName;
        File.WriteAllText(Path.Combine(tree, "real.txt"), "inside");
        File.CreateSymbolicLink(Path.Combine(tree, "env.txt"), "/proc/self/environ");
        File.CreateSymbolicLink(Path.Combine(tree, "same.txt"), "real.txt");
        File.WriteAllText(Path.Combine(_dir, "outside.txt"), "outside");
        File.CreateSymbolicLink(Path.Combine(tree, "up.txt"), "../outside.txt");

        ExpectRefused(BoundedThrows(() => InputFile.ReadAllBytes(Path.Combine(tree, "env.txt"), InputKind.Compared, tree)), InputFileProblem.OutsideTree, "SB1702", "env.txt", "/proc/");
        ExpectRefused(BoundedThrows(() => InputFile.ReadAllBytes(Path.Combine(tree, "up.txt"), InputKind.Compared, tree)), InputFileProblem.OutsideTree, "outside.txt");
        Assert.That(InputFile.ReadAllText(Path.Combine(tree, "same.txt"), InputKind.Compared, tree), Is.EqualTo("inside"));

        // A file the user names (no tree): its link is followed.
        Assert.That(InputFile.ReadAllText(Path.Combine(tree, "up.txt"), InputKind.Key), Is.EqualTo("outside"));
    }

    [Test]
    public void A_tree_reached_through_a_linked_directory_is_still_inside()
    {
        var real = Directory.CreateDirectory(Path.Combine(_dir, "real")).FullName;
        File.WriteAllText(Path.Combine(real, "a.txt"), "a");
        var linked = Path.Combine(_dir, "linked");
        Directory.CreateSymbolicLink(linked, real);
        Assert.That(InputFile.ReadAllText(Path.Combine(linked, "a.txt"), InputKind.Compared, linked), Is.EqualTo("a"));
    }

    /// <summary>
    /// Over 2 GiB, where <c>int</c> offsets and File.ReadAllBytes stop: 2 GiB + 1 MiB of zeros ending in "tail!", so
    /// the last mebibyte and the tail lie past 2^31. Then the same file cut to 1 GiB + 1 MiB (+ "tail!"), over the
    /// 1 GiB above which a Sigstore artifact is hashed as it is read instead of loaded. The expected digests are
    /// constants, each computed once outside .NET by both Python's hashlib and coreutils' sha256sum over the same sparse
    /// file (`truncate -s $((SIZE - 5)) f; printf 'tail!' >> f; sha256sum f`), instead of another pass in the test.
    /// </summary>
    [Test]
    public void A_sparse_artifact_over_2_GiB_digests_like_sha256sum()
    {
        var path = Path.Combine(_dir, "big.bin");
        try
        {
            using var stream = new FileStream(path, FileMode.CreateNew);
            WriteTail(stream, (1L << 31) + (1L << 20));
        }
        catch (IOException e)
        {
            Assert.Ignore($"this file system cannot hold a sparse 2 GiB file: {e.Message}");
        }

        Assume.That(AllocatedKiB(path), Is.LessThan(1024 * 1024), "this file system does not make sparse files (it would write 2 GiB)");

        Assert.That(Sha256Hex.OfFile(path), Is.EqualTo("860746375c9882c79425f6f5e682b9edf418aea77408a67806522f3dbc792e49"));

        // A Sigstore bundle's artifact over 1 GiB: digested as it is read, not loaded.
        long size = (1L << 30) + (1L << 20);
        Assert.That(size, Is.GreaterThan(InputFile.Limit(InputKind.Compared)), "the artifact is above the size that is loaded");
        using (var stream = new FileStream(path, FileMode.Open))
        {
            WriteTail(stream, size);
        }

        var artifact = SigstoreArtifact.FromFile(path);
        Assert.That(artifact.Bytes, Is.Null, "not loaded into memory");
        Assert.That(Convert.ToHexString(artifact.Digest("SHA-256")!).ToLowerInvariant(), Is.EqualTo("c95a01c7095b7b5ecce082e9001d3ec298a281b8b33412029f26aa1ed546d6ff"));
    }

    /// <summary>Makes the file <paramref name="size"/> bytes: zeros (a hole where the file system allows) ending in "tail!".</summary>
    private static void WriteTail(FileStream stream, long size)
    {
        stream.SetLength(size - 5);
        stream.SetLength(size);
        stream.Position = size - 5;
        stream.Write("tail!"u8);
    }

    private static long AllocatedKiB(string path)
    {
        var psi = new ProcessStartInfo("du", new[] { "-k", path }) { RedirectStandardOutput = true, UseShellExecute = false };
        using var du = Process.Start(psi)!;
        var output = du.StandardOutput.ReadToEnd();
        du.WaitForExit();
        return long.TryParse(output.Split('\t')[0], out var kib) ? kib : long.MaxValue;
    }
}

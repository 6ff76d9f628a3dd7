using SecureBuild.Core.IO;
using SecureBuild.Core.Locking;

namespace SecureBuild.Locking.Tests;

/// <summary>The cross-process mutex around lock updates: exclusive, and its file in the temporary directory is removed.</summary>
public sealed class LockMutexTests
{
    private static string MutexFiles(string lockPath)
    {
        using var sha = System.Security.Cryptography.SHA256.Create();
        var id = string.Concat(sha.ComputeHash(System.Text.Encoding.UTF8.GetBytes(Path.GetFullPath(lockPath))).Take(12).Select(b => b.ToString("x2")));
        return Path.Combine(Path.GetTempPath(), "securebuild-lock-" + id + ".lck");
    }

    [Test]
    public void The_mutex_file_is_removed_when_the_lock_is_released_also_after_a_failed_update()
    {
        Assume.That(FileStatus.Available, Is.True, "removal is done where the holder can check the file it holds (Linux)");
        var lockPath = Path.Combine(Path.GetTempPath(), "sb-mutex-" + Guid.NewGuid().ToString("N"), "securebuild.lock.json");
        using (LockFile.AcquireMutex(lockPath, TimeSpan.FromSeconds(10)))
        {
            Assert.That(File.Exists(MutexFiles(lockPath)), Is.True);
        }

        Assert.That(File.Exists(MutexFiles(lockPath)), Is.False, "no securebuild-lock-*.lck left in the temporary directory");

        Assert.Throws<InvalidOperationException>(() => LockFile.Update(lockPath, _ => throw new InvalidOperationException("update failed")));
        Assert.That(File.Exists(MutexFiles(lockPath)), Is.False, "not after a failed update either");
        Assert.That(File.Exists(lockPath), Is.False, "and no lock was written");
    }

    [Test]
    public void Holders_never_overlap_while_the_file_is_removed_and_recreated()
    {
        var lockPath = Path.Combine(Path.GetTempPath(), "sb-mutex-" + Guid.NewGuid().ToString("N"), "securebuild.lock.json");
        int inside = 0, most = 0, entries = 0;
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            for (int i = 0; i < 40; i++)
            {
                using (LockFile.AcquireMutex(lockPath, TimeSpan.FromSeconds(60)))
                {
                    var now = Interlocked.Increment(ref inside);
                    InterlockedMax(ref most, now);
                    Thread.Sleep(1);
                    Interlocked.Increment(ref entries);
                    Interlocked.Decrement(ref inside);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.That(t.Join(TimeSpan.FromSeconds(120)), Is.True, "a holder never let go"));
        Assert.That(entries, Is.EqualTo(160));
        Assert.That(most, Is.EqualTo(1), "two holders at once");
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}

using SecureBuild.Core.Crypto;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>With no key configured, links are signed with a per-user development key, created once, with a warning once per build.</summary>
public sealed class DevelopmentKeyTests : TaskTestBase
{
    private string DevKey => Dir.Path("home/.securebuild/development-key");

    private RecordStepProducts WithDevelopmentKey(FakeBuildEngine engine, string step, string? devKey = null)
    {
        var task = Products(engine, step, Dir.Write($"repo/App/bin/{step}.dll", step));
        task.SigningKey = null;
        task.DevelopmentKeyFile = devKey ?? DevKey;
        task.FallbackMaterials = Items(ProjectFile);
        return task;
    }

    [Test]
    public void The_development_key_is_created_once_and_signs_the_links()
    {
        var engine = new FakeBuildEngine();
        var task = WithDevelopmentKey(engine, "compile");

        Assert.That(task.Execute(), Is.True, engine.Log);

        Assert.That(File.Exists(DevKey), Is.True);
        Assert.That(File.Exists(DevKey + ".pub"), Is.True);
        var key = SigningKey.Load(DevKey);
        Assert.That(key.Type, Is.EqualTo(KeyType.Ed25519));
        Assert.That(PublicKey.Load(DevKey + ".pub").KeyId, Is.EqualTo(key.KeyId));
        Assert.That(task.LinkFile, Is.EqualTo(Path.Combine(LinkDir, LinkName("compile", key.Public))));
        LoadLink(task.LinkFile!, key.Public);
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(DevKey)!).Select(Path.GetFileName),
            Is.EquivalentTo(new[] { "development-key", "development-key.pub" }), "no temporary files left beside the key");

        var bytes = File.ReadAllBytes(DevKey);
        var again = WithDevelopmentKey(new FakeBuildEngine(), "pack");
        Assert.That(again.Execute(), Is.True);
        Assert.That(File.ReadAllBytes(DevKey), Is.EqualTo(bytes), "an existing development key is never replaced");
        LoadLink(again.LinkFile!, key.Public);
    }

    [Test]
    public void A_missing_public_key_beside_an_existing_development_key_is_restored()
    {
        Assert.That(WithDevelopmentKey(new FakeBuildEngine(), "compile").Execute(), Is.True);
        var keyId = SigningKey.Load(DevKey).KeyId;
        File.Delete(DevKey + ".pub");

        var engine = new FakeBuildEngine();
        Assert.That(WithDevelopmentKey(engine, "pack").Execute(), Is.True, engine.Log);
        Assert.That(PublicKey.Load(DevKey + ".pub").KeyId, Is.EqualTo(keyId));
    }

    [Test]
    [Platform(Exclude = "Win")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_development_key_is_readable_by_the_owner_only()
    {
        var engine = new FakeBuildEngine();
        Assert.That(WithDevelopmentKey(engine, "compile").Execute(), Is.True, engine.Log);

        Assert.That(File.GetUnixFileMode(DevKey), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(File.GetUnixFileMode(Path.GetDirectoryName(DevKey)!) & (UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite),
            Is.EqualTo((UnixFileMode)0), "a directory the key lives in that we create is private too");
    }

    [Test]
    public void SB2001_is_warned_once_per_build_engine()
    {
        var engine = new FakeBuildEngine();

        Assert.That(WithDevelopmentKey(engine, "restore").Execute(), Is.True, engine.Log);
        Assert.That(WithDevelopmentKey(engine, "compile").Execute(), Is.True, engine.Log);
        Assert.That(WithDevelopmentKey(engine, "pack").Execute(), Is.True, engine.Log);

        Assert.That(engine.WarningCodes, Is.EqualTo(new[] { "SB2001" }), engine.Log);
        Assert.That(engine.Warnings.Single().Message, Does.Contain(DevKey).And.Contain("SecureBuildSigningKey"));
        Assert.That(engine.Errors, Is.Empty);

        var nextBuild = new FakeBuildEngine();
        Assert.That(WithDevelopmentKey(nextBuild, "compile").Execute(), Is.True, nextBuild.Log);
        Assert.That(nextBuild.WarningCodes, Is.EqualTo(new[] { "SB2001" }), "the next build warns again");
    }

    [Test]
    public void Concurrent_tasks_create_one_key_and_all_sign_with_it()
    {
        const int threads = 8;
        for (var round = 0; round < 3; round++)
        {
            var devKey = Dir.Path($"concurrent-{round}/development-key");
            var tasks = Enumerable.Range(0, threads).Select(i =>
            {
                var t = WithDevelopmentKey(new FakeBuildEngine(), $"step{i}", devKey);
                t.LinkDirectory = Dir.Path($"links-{round}-{i}");
                return t;
            }).ToArray();
            var results = new bool[threads];
            var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            using var barrier = new Barrier(threads);
            var workers = Enumerable.Range(0, threads).Select(i => new Thread(() =>
            {
                try
                {
                    barrier.SignalAndWait();
                    results[i] = tasks[i].Execute();
                }
                catch (Exception e)
                {
                    failures.Enqueue(e);
                }
            })).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());

            Assert.That(failures, Is.Empty);
            Assert.That(results, Has.All.True, string.Join("\n", tasks.Select(t => ((FakeBuildEngine)t.BuildEngine).Log)));
            var key = SigningKey.Load(devKey);
            foreach (var task in tasks)
            {
                LoadLink(task.LinkFile!, key.Public); // every link verifies with the one key on disk
            }
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(devKey)!).Select(Path.GetFileName),
                Is.EquivalentTo(new[] { "development-key", "development-key.pub" }));
            Assert.That(PublicKey.Load(devKey + ".pub").KeyId, Is.EqualTo(key.KeyId), "the public key beside it is the same key's");
        }
    }

    [Test]
    public void Concurrent_creation_reports_exactly_one_creator_and_never_replaces_the_key()
    {
        // The race is narrow (between "the key does not exist yet" and the rename), so it is run many times.
        const int threads = 16;
        for (var round = 0; round < 100; round++)
        {
            var path = Dir.Path($"race-{round}/development-key");
            var created = 0;
            var failures = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
            var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
            using var barrier = new Barrier(threads);
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
            {
                try
                {
                    barrier.SignalAndWait();
                    if (Core.Crypto.SigningKeyResolver.EnsureDevelopmentKey(path))
                    {
                        Interlocked.Increment(ref created);
                    }
                    seen.Add(SigningKey.Load(path).KeyId); // what this thread would sign with
                }
                catch (Exception e)
                {
                    failures.Enqueue(e);
                }
            })).ToList();
            workers.ForEach(w => w.Start());
            workers.ForEach(w => w.Join());

            Assert.That(failures, Is.Empty, $"round {round}");
            Assert.That(created, Is.EqualTo(1), $"round {round}: exactly one thread creates the key");
            var onDisk = SigningKey.Load(path).KeyId;
            Assert.That(seen.Distinct(), Is.EqualTo(new[] { onDisk }), $"round {round}: every thread uses the key that stays on disk");
            Assert.That(PublicKey.Load(path + ".pub").KeyId, Is.EqualTo(onDisk), $"round {round}: the .pub file belongs to the key");
        }
    }
}

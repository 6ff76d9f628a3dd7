using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.TestSupport;

namespace SecureBuild.Core.Tests;

/// <summary>
/// Which key signs a build's links, decided in Core without MSBuild: the configured key, else an error when one is
/// required, else the per-user development key (created once, private, never replaced). Bad keys give a resolution
/// with the SB code, cause and fix, never an exception.
/// </summary>
public sealed class SigningKeyResolverTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = ScratchDirectory.Create("sb-key-resolver");

    [TearDown]
    public void TearDown() => ScratchDirectory.TryDelete(_dir);

    private string DevKey => Path.Combine(_dir, "home", ".securebuild", "development-key");

    [Test]
    public void A_configured_key_signs_and_no_development_key_is_made_or_warned_about()
    {
        var key = SigningKey.Generate(KeyType.Ed25519);
        var file = Path.Combine(_dir, "build.key");
        File.WriteAllText(file, key.ExportPrivate(), new UTF8Encoding(false));

        var resolution = SigningKeyResolver.Resolve("  " + file + " ", DevKey, requireSigningKey: true);

        Assert.That(resolution.Key?.KeyId, Is.EqualTo(key.KeyId));
        Assert.That(resolution.Source, Is.EqualTo(SigningKeySource.Configured));
        Assert.That(resolution.KeyFile, Is.EqualTo(file));
        Assert.That(resolution.Error, Is.Null);
        Assert.That(resolution.DevelopmentKeyWarning, Is.Null);
        Assert.That(File.Exists(DevKey), Is.False);
        Assert.That(SigningKeyResolver.ExistingKeyFile(file, DevKey, requireSigningKey: true), Is.EqualTo(file));
    }

    [Test]
    public void SB1007_when_a_key_is_required_and_none_is_configured()
    {
        var resolution = SigningKeyResolver.Resolve(" ", DevKey, requireSigningKey: true);

        Assert.That(resolution.Key, Is.Null);
        Assert.That(resolution.ErrorCode, Is.EqualTo("SB1007"));
        Assert.That(resolution.Error, Does.Contain("SecureBuildSigningKey").And.Contain("securebuild keygen"));
        Assert.That(File.Exists(DevKey), Is.False, "no development key stands in for a required one");
        Assert.That(SigningKeyResolver.ExistingKeyFile(null, DevKey, requireSigningKey: true), Is.Null);
    }

    [Test]
    public void A_configured_key_that_is_not_a_key_is_an_error_naming_the_property_with_its_fix()
    {
        var file = Path.Combine(_dir, "build.key");
        File.WriteAllText(file, "not a key");

        var resolution = SigningKeyResolver.Resolve(file, DevKey, requireSigningKey: false);

        Assert.That(resolution.Key, Is.Null);
        Assert.That(resolution.ErrorCode, Does.StartWith("SB10"));
        Assert.That(resolution.Error, Does.StartWith("SecureBuildSigningKey: "));
        Assert.That(File.Exists(DevKey), Is.False, "a broken configured key is reported, not replaced by the development key");
    }

    [Test]
    public void The_development_key_is_created_once_then_reused_and_each_time_a_warning_says_which_it_was()
    {
        Assert.That(SigningKeyResolver.ExistingKeyFile(null, DevKey, requireSigningKey: false), Is.Null, "nothing to load yet");

        var first = SigningKeyResolver.Resolve(null, DevKey, requireSigningKey: false);
        var second = SigningKeyResolver.Resolve(null, DevKey, requireSigningKey: false);

        Assert.That(first.Source, Is.EqualTo(SigningKeySource.DevelopmentKeyCreated));
        Assert.That(second.Source, Is.EqualTo(SigningKeySource.DevelopmentKeyExisting));
        Assert.That(second.Key!.KeyId, Is.EqualTo(first.Key!.KeyId));
        Assert.That(first.Key.Type, Is.EqualTo(KeyType.Ed25519));
        Assert.That(PublicKey.Load(DevKey + ".pub").KeyId, Is.EqualTo(first.Key.KeyId));
        Assert.That(first.DevelopmentKeyWarning, Does.StartWith("SecureBuild created a development signing key at " + DevKey));
        Assert.That(second.DevelopmentKeyWarning, Does.StartWith("SecureBuild signed this build's links with the development key at " + DevKey));
        Assert.That(SigningKeyResolver.ExistingKeyFile(null, DevKey, requireSigningKey: false), Is.EqualTo(DevKey));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(DevKey)!).Select(Path.GetFileName),
            Is.EquivalentTo(new[] { "development-key", "development-key.pub" }), "no temporary file is left");
    }

    [Test]
    public void A_development_key_missing_its_public_half_is_not_ready_to_load_and_resolving_restores_it()
    {
        var keyId = SigningKeyResolver.Resolve(null, DevKey, requireSigningKey: false).Key!.KeyId;
        File.Delete(DevKey + ".pub");

        Assert.That(SigningKeyResolver.ExistingKeyFile(null, DevKey, requireSigningKey: false), Is.Null);
        var again = SigningKeyResolver.Resolve(null, DevKey, requireSigningKey: false);

        Assert.That(again.Key!.KeyId, Is.EqualTo(keyId));
        Assert.That(again.Source, Is.EqualTo(SigningKeySource.DevelopmentKeyExisting));
        Assert.That(PublicKey.Load(DevKey + ".pub").KeyId, Is.EqualTo(keyId));
    }

    [Test]
    public void A_key_file_replaced_by_another_key_is_loaded_again_not_served_from_the_cache()
    {
        var file = Path.Combine(_dir, "build.key");
        var a = SigningKey.Generate(KeyType.Ed25519);
        var b = SigningKey.Generate(KeyType.Ed25519);
        File.WriteAllText(file, a.ExportPrivate());
        Assert.That(SigningKeyResolver.Resolve(file, null, false).Key!.KeyId, Is.EqualTo(a.KeyId));

        File.WriteAllText(file, b.ExportPrivate());

        Assert.That(SigningKeyResolver.Resolve(file, null, false).Key!.KeyId, Is.EqualTo(b.KeyId));
    }

    [Test]
    [Platform(Exclude = "Win")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_development_key_and_the_directories_made_for_it_are_private_to_the_owner()
    {
        SigningKeyResolver.Resolve(null, DevKey, requireSigningKey: false);

        var others = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
        Assert.That(File.GetUnixFileMode(DevKey), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(File.GetUnixFileMode(Path.GetDirectoryName(DevKey)!) & others, Is.EqualTo((UnixFileMode)0));
        Assert.That(File.GetUnixFileMode(Path.Combine(_dir, "home")) & others, Is.EqualTo((UnixFileMode)0), "every missing parent it made too");
    }

    [Test]
    public void Concurrent_first_uses_agree_on_one_development_key()
    {
        var keyIds = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var barrier = new Barrier(4);
        var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
        {
            barrier.SignalAndWait();
            keyIds.Add(SigningKeyResolver.Resolve(null, DevKey, requireSigningKey: false).Key!.KeyId);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.That(keyIds.Distinct().Count(), Is.EqualTo(1));
        Assert.That(SigningKey.Load(DevKey).KeyId, Is.EqualTo(keyIds.First()));
    }
}

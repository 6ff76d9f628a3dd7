using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.IntegrationTests.Infrastructure;

namespace SecureBuild.IntegrationTests;

/// <summary>
/// The securebuild tool as `dotnet tool install SecureBuild.Tool` gets it from the packed packages (SdkFeed installs it
/// into a temporary --tool-path): on linux-x64 the Native AOT executable, and every command tried here works in it.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class ToolPackageTests
{
    private static readonly byte[] ElfMagic = { 0x7F, (byte)'E', (byte)'L', (byte)'F' };

    /// <summary>The file the installed command runs (the tool path holds a link or shim to it).</summary>
    private static string InstalledTarget()
    {
        var target = File.ResolveLinkTarget(SdkFeed.Executable, returnFinalTarget: true);
        return target?.FullName ?? SdkFeed.Executable;
    }

    [Test]
    public void The_feed_holds_the_pointer_the_framework_dependent_fallbacks_and_the_native_package()
    {
        var packages = Directory.GetFiles(SdkFeed.FeedDirectory, "SecureBuild.Tool*.nupkg").Select(Path.GetFileName).ToList();
        var expected = new List<string>
        {
            $"SecureBuild.Tool.{SdkFeed.Version}.nupkg",
            $"SecureBuild.Tool.any.{SdkFeed.Version}.nupkg",
            $"SecureBuild.Tool.linux-musl-x64.{SdkFeed.Version}.nupkg",
        };
        if (SdkFeed.NativeToolRid is { } rid)
        {
            expected.Add($"SecureBuild.Tool.{rid}.{SdkFeed.Version}.nupkg");
        }
        Assert.That(packages, Is.EquivalentTo(expected));

        var pointer = ToolSettings($"SecureBuild.Tool.{SdkFeed.Version}.nupkg", "tools/any/any/DotnetToolSettings.xml");
        Assert.That(pointer.Descendants("RuntimeIdentifierPackage").Select(e => ((string?)e.Attribute("RuntimeIdentifier"), (string?)e.Attribute("Id"))),
            Is.EquivalentTo(new[]
            {
                ((string?)"linux-x64", (string?)"SecureBuild.Tool.linux-x64"),
                ("linux-musl-x64", "SecureBuild.Tool.linux-musl-x64"),
                ("any", "SecureBuild.Tool.any"),
            }));
    }

    [TestCase("any")]
    [TestCase("linux-musl-x64")]
    public void Fallback_packages_are_framework_dependent_and_run(string rid)
    {
        // musl imports linux-x64 in the RID graph, so it needs its own package or it would get the glibc executable.
        var package = Path.Combine(SdkFeed.FeedDirectory, $"SecureBuild.Tool.{rid}.{SdkFeed.Version}.nupkg");
        var command = ToolSettings(Path.GetFileName(package), $"tools/net10.0/{rid}/DotnetToolSettings.xml").Descendants("Command").Single();
        Assert.That((string?)command.Attribute("Runner"), Is.EqualTo("dotnet"));
        Assert.That((string?)command.Attribute("EntryPoint"), Is.EqualTo("securebuild.dll"));

        var extracted = Path.Combine(SdkFeed.WorkRoot, "extracted-" + rid + "-" + Guid.NewGuid().ToString("N"));
        System.IO.Compression.ZipFile.ExtractToDirectory(package, extracted);
        var dll = Path.Combine(extracted, "tools", "net10.0", rid, "securebuild.dll");
        var runtimeConfig = File.ReadAllText(Path.Combine(extracted, "tools", "net10.0", rid, "securebuild.runtimeconfig.json"));
        Assert.That(runtimeConfig, Does.Contain("\"version\": \"10.0.0\""), "starts on any .NET 10 runtime, not only the newest patch");
        var version = Run.Process("dotnet", new[] { dll, "--version" }, extracted);
        Assert.That(version.ExitCode, Is.EqualTo(0), version.ToString());
        Assert.That(version.Output.Trim(), Does.StartWith(SdkFeed.Version));
    }

    private static System.Xml.Linq.XDocument ToolSettings(string packageFileName, string entryName)
    {
        using var zip = System.IO.Compression.ZipFile.OpenRead(Path.Combine(SdkFeed.FeedDirectory, packageFileName));
        var entry = zip.GetEntry(entryName);
        Assert.That(entry, Is.Not.Null, $"{packageFileName} has no {entryName}: {string.Join(", ", zip.Entries.Select(e => e.FullName))}");
        using var stream = entry!.Open();
        return System.Xml.Linq.XDocument.Load(stream);
    }

    [Test]
    public void Linux_x64_gets_the_native_executable()
    {
        if (SdkFeed.NativeToolRid is null)
        {
            Assert.Ignore($"{System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier} gets the framework-dependent SecureBuild.Tool.any.");
        }
        var target = InstalledTarget();
        var directory = Path.GetDirectoryName(target)!;
        Assert.That(target.Replace('\\', '/'), Does.Contain("/securebuild.tool.linux-x64/").And.EndWith("/tools/any/linux-x64/securebuild"),
            "the command comes from the RID-specific package");
        var head = new byte[4];
        using (var stream = File.OpenRead(target))
        {
            Assert.That(stream.Read(head, 0, 4), Is.EqualTo(4));
        }
        Assert.That(head, Is.EqualTo(ElfMagic), $"{target} is an ELF executable");
        // The one assembly beside it is the MSBuild logger `securebuild trace` hands to traced builds: MSBuild loads it,
        // the tool never does.
        Assert.That(Directory.GetFiles(directory).Select(Path.GetFileName), Is.EquivalentTo(new[] { "securebuild", "DotnetToolSettings.xml", "SecureBuild.TraceLogger.dll" }),
            "a Native AOT tool: no securebuild.dll, runtimeconfig or deps.json, no assembly of the tool next to the executable");

        var version = SdkFeed.Securebuild(SdkFeed.WorkRoot, "--version");
        Assert.That(version.ExitCode, Is.EqualTo(0), version.ToString());
        Assert.That(version.Output.Trim(), Does.StartWith(SdkFeed.Version));
    }

    [Test]
    public void Installed_tool_makes_keys_and_a_layout_verifies_a_chain_and_rejects_tampering()
    {
        var dir = Path.Combine(SdkFeed.WorkRoot, "tool-chain-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);

        // keygen: every key type the tool writes, each readable by SecureBuild.Core.
        var functionary = Links.Keygen(dir, "ed25519", "build.key");
        var second = Links.Keygen(dir, "ecdsa", "second.key");
        var owner = Links.Keygen(dir, "rsa", "owner.key");
        Assert.That(new[] { functionary.Public.Type, second.Public.Type, owner.Public.Type }, Is.EqualTo(new[] { KeyType.Ed25519, KeyType.Ecdsa, KeyType.Rsa }));

        // A two-step chain (compile -> pack) signed by the functionary, with the files' real hashes.
        var links = Path.Combine(dir, "links");
        Directory.CreateDirectory(links);
        File.WriteAllText(Path.Combine(dir, "Program.cs"), "class P { static void Main() { } }\n");
        File.WriteAllText(Path.Combine(dir, "app.dll"), "compiled\n");
        File.WriteAllText(Path.Combine(dir, "app.nupkg"), "packed\n");
        var signer = SigningKey.Load(functionary.PrivatePath);
        WriteLink(links, signer, "compile", new[] { "dotnet", "build" }, dir, new[] { "Program.cs" }, new[] { "app.dll" });
        WriteLink(links, signer, "pack", new[] { "dotnet", "pack" }, dir, new[] { "app.dll" }, new[] { "app.nupkg" });

        // layout new (unsigned), then layout sign.
        var layout = Path.Combine(dir, "root.layout");
        var created = SdkFeed.Securebuild(dir, "layout", "new", "--link-dir", links, "--functionary", functionary.PrivatePath + ".pub", "-o", layout);
        Assert.That(created.ExitCode, Is.EqualTo(0), created.ToString());
        Assert.That(created.Output, Does.Contain("2 steps (compile, pack), 0 signature(s)"));
        var signed = SdkFeed.Securebuild(dir, "layout", "sign", "--layout", layout, "--key", owner.PrivatePath);
        Assert.That(signed.ExitCode, Is.EqualTo(0), signed.ToString());
        Assert.That(Metablock.Load(layout).VerifySignature(owner.Public), Is.True, "the layout carries the owner's signature");

        string[] Verify(string ownerPub, string type) => new[] { "verify", "-l", layout, "-k", ownerPub, "-t", type, "-d", links };

        var passed = SdkFeed.Securebuild(dir, Verify(owner.PrivatePath + ".pub", "rsa"));
        Assert.That(passed.ExitCode, Is.EqualTo(0), passed.ToString());
        Assert.That(passed.Output, Does.Contain("PASSED"));
        var reference = InToto.Verify(dir, layout, links, (owner.PrivatePath + ".pub", "rsa"));
        Assert.That(reference.ExitCode, Is.EqualTo(0), "the reference in-toto-verify accepts the same chain:\n" + reference);

        // Layout signed by someone else's key: exit 1.
        var wrongOwner = SdkFeed.Securebuild(dir, Verify(second.PrivatePath + ".pub", "ecdsa"));
        Assert.That(wrongOwner.ExitCode, Is.EqualTo(1), wrongOwner.ToString());

        // A product hash edited after signing: the compile link no longer verifies, exit 1.
        var compileLink = Path.Combine(links, Links.FileName("compile", functionary.Public));
        var text = File.ReadAllText(compileLink);
        var hash = Links.Sha256(Path.Combine(dir, "app.dll"));
        Assert.That(text, Does.Contain(hash));
        File.WriteAllText(compileLink, text.Replace(hash, new string('0', 64), StringComparison.Ordinal));
        var tampered = SdkFeed.Securebuild(dir, Verify(owner.PrivatePath + ".pub", "rsa"));
        Assert.That(tampered.ExitCode, Is.EqualTo(1), tampered.ToString());
        Assert.That(tampered.Output, Does.Contain("securebuild verify: ").And.Not.Contain("PASSED"));

        // Unreadable input is a usage error (2), not a crash.
        var missing = SdkFeed.Securebuild(dir, "verify", "-l", Path.Combine(dir, "nope.layout"), "-k", owner.PrivatePath + ".pub", "-d", links);
        Assert.That(missing.ExitCode, Is.EqualTo(2), missing.ToString());
    }

    [Test]
    public void Installed_tool_runs_diff_and_lock_help()
    {
        var dir = Path.Combine(SdkFeed.WorkRoot, "tool-diff-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "a"));
        Directory.CreateDirectory(Path.Combine(dir, "b"));
        File.WriteAllText(Path.Combine(dir, "a", "x.json"), "{\"k\": 1}\n");
        File.WriteAllText(Path.Combine(dir, "b", "x.json"), "{\"k\": 2}\n");
        var different = SdkFeed.Securebuild(dir, "diff", "a", "b");
        Assert.That(different.ExitCode, Is.EqualTo(1), different.ToString());
        Assert.That(different.Output, Does.Contain("DIFFERENT"));
        File.Copy(Path.Combine(dir, "a", "x.json"), Path.Combine(dir, "b", "x.json"), overwrite: true);
        var same = SdkFeed.Securebuild(dir, "diff", "a", "b");
        Assert.That(same.ExitCode, Is.EqualTo(0), same.ToString());

        var help = SdkFeed.Securebuild(dir, "lock", "--help");
        Assert.That(help.ExitCode, Is.EqualTo(0), help.ToString());
        Assert.That(help.Output, Does.Contain("--update").And.Contain("--pin-sdk"));
    }

    private static void WriteLink(string linkDir, SigningKey key, string step, string[] command, string root, string[] materials, string[] products)
    {
        var link = new Link(step) { Command = command };
        foreach (var m in materials)
        {
            link.Materials[m] = new Dictionary<string, string> { ["sha256"] = Links.Sha256(Path.Combine(root, m)) };
        }
        foreach (var p in products)
        {
            link.Products[p] = new Dictionary<string, string> { ["sha256"] = Links.Sha256(Path.Combine(root, p)) };
        }
        var metablock = new Metablock(link.ToJson());
        metablock.Sign(key);
        metablock.Save(Path.Combine(linkDir, Links.FileName(step, key.Public)));
    }
}

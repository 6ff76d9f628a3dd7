using SecureBuild.Core.Locking;

namespace SecureBuild.Locking.Tests;

public sealed class LockComparerTests
{
    private static LockObservation Observe(RepositoryLock l, Action<LockObservation>? change = null)
    {
        var project = l.Projects["App/App.csproj"];
        var o = new LockObservation
        {
            Project = "App/App.csproj",
            Framework = "net10.0",
            SdkVersion = l.SdkVersion,
            GlobalJsonObserved = true,
            GlobalJson = l.GlobalJson,
            Tools = new SortedDictionary<string, LockedTool>(l.Tools, StringComparer.Ordinal),
            Sources = new SortedSet<string>(l.Sources, StringComparer.Ordinal),
            FrameworkState = project.Frameworks["net10.0"].Clone(),
            Packages = new SortedDictionary<string, LockedPackage>(l.Packages, StringComparer.Ordinal),
            Packs = new SortedDictionary<string, LockedPack>(l.Packs, StringComparer.Ordinal),
            Files = new SortedDictionary<string, string>(project.Files, StringComparer.Ordinal),
        };
        change?.Invoke(o);
        return o;
    }

    [Test]
    public void What_the_lock_says_is_no_drift()
    {
        var l = LockFileTests.Sample();
        Assert.That(LockComparer.Compare(l, Observe(l)), Is.Empty);
    }

    [Test]
    public void Each_change_is_named_precisely()
    {
        var l = LockFileTests.Sample();
        var d = LockComparer.Compare(l, Observe(l, o =>
        {
            o.SdkVersion = "10.0.402";
            o.FrameworkState!.References!["newtonsoft.json"] = "2.0.0";
            o.FrameworkState.Packages!.Remove("zzz.last");
            o.FrameworkState.Packages["new.one"] = "3.0.0";
            o.Packages!["aaa.first/1.0.0"] = new LockedPackage { ContentHash = "other", Signature = l.Packages["aaa.first/1.0.0"].Signature };
            o.Sources!.Add("https://evil.test/v3/index.json");
            o.Files!["https://example.test/tool.zip"] = new string('c', 64);
            o.Tools!.Clear();
        }));
        var text = string.Join("\n", d.Select(x => $"{x.ErrorCode} {x.Description}"));
        Assert.That(text, Does.Contain("SB1410 the .NET SDK running this build is 10.0.402, the lock pins 10.0.401"));
        Assert.That(text, Does.Contain("SB1420 App/App.csproj (net10.0): PackageReference newtonsoft.json changed from 1.0.0 to 2.0.0"));
        Assert.That(text, Does.Contain("SB1421 App/App.csproj (net10.0): package new.one 3.0.0 was added (not in the lock)"));
        Assert.That(text, Does.Contain("SB1421 App/App.csproj (net10.0): package zzz.last 1.0.0 was removed (the lock has it)"));
        Assert.That(text, Does.Contain("SB1421 App/App.csproj (net10.0): package aaa.first/1.0.0 has content hash other"));
        Assert.That(text, Does.Contain("SB1414 App/App.csproj restores from package source https://evil.test/v3/index.json"));
        Assert.That(text, Does.Contain("SB1424 App/App.csproj: the file downloaded from https://example.test/tool.zip changed"));
        Assert.That(text, Does.Contain("SB1413 tool manifest: tool dotnet-example 1.0.0 was removed"));
        Assert.That(d.Select(x => x.WarningCode), Has.All.StartWith("SB24"));
    }

    [Test]
    public void A_project_or_framework_missing_from_the_lock_is_drift()
    {
        var l = LockFileTests.Sample();
        Assert.That(LockComparer.Compare(l, Observe(l, o => o.Project = "Other/Other.csproj")).Select(x => x.Description), Has.Some.Contain("project Other/Other.csproj is not in the lock"));
        Assert.That(LockComparer.Compare(l, Observe(l, o => o.Framework = "net8.0")).Single().Description, Does.Contain("target framework net8.0 is not in the lock"));
    }

    [Test]
    public void Global_json_and_a_changed_signer_are_drift()
    {
        var l = LockFileTests.Sample();
        var d = LockComparer.Compare(l, Observe(l, o =>
        {
            o.GlobalJson = new GlobalJsonPin { SdkVersion = "10.0.400", RollForward = "latestPatch" };
            var p = o.Packages!["newtonsoft.json/1.0.0"];
            o.Packages["newtonsoft.json/1.0.0"] = new LockedPackage { ContentHash = p.ContentHash, Signature = new LockedSignature { Signed = true, Repository = "CD" } };
        }));
        var text = string.Join("\n", d.Select(x => x.Description));
        Assert.That(text, Does.Contain("global.json sdk.version changed from 10.0.401 to 10.0.400"));
        Assert.That(text, Does.Contain("global.json msbuild-sdks: SecureBuild.Sdk 0.1.0 was removed"));
        Assert.That(text, Does.Contain("the signature of package newtonsoft.json/1.0.0 changed from repository AB to repository CD"));
    }

    [Test]
    public void Merge_records_an_observation_so_that_it_compares_clean_and_drops_what_nothing_uses()
    {
        var source = LockFileTests.Sample();
        var observation = Observe(source);
        var target = new RepositoryLock();
        LockComparer.Merge(target, observation, new[] { "net10.0" });
        target.Signers["AB"] = source.Signers["AB"];
        Assert.That(LockComparer.Compare(target, observation), Is.Empty);

        observation.FrameworkState!.Packages!.Remove("zzz.last");
        observation.Packages!.Remove("zzz.last/1.0.0");
        LockComparer.Merge(target, observation, new[] { "net10.0" });
        Assert.That(target.Packages.Keys, Does.Not.Contain("zzz.last/1.0.0"), "unreferenced packages are removed");

        var other = Observe(source, o => o.Framework = "net8.0");
        LockComparer.Merge(target, other, new[] { "net8.0" });
        Assert.That(target.Projects["App/App.csproj"].Frameworks.Keys, Is.EqualTo(new[] { "net8.0" }), "frameworks the project no longer has are dropped");
    }
}

using SecureBuild.Core.Locking;

namespace SecureBuild.Locking.Tests;

/// <summary>The steps VerifyDependencies runs after restore, without MSBuild: what is verified, what is observed, what is judged.</summary>
public sealed class DependencyVerificationTests
{
    private static readonly DateTime Later = DateTime.UtcNow.AddMinutes(10);
    private string _root = "";
    private string _packages = "";

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("sb-depverify-").FullName;
        _packages = Path.Combine(_root, "packages");
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private static string Hash(string nupkg) => ExtractedPackages.ContentHash(nupkg);

    private string Extract(string id, string version) => ExtractedPackages.Extract(_packages, id, version);

    private ProjectAssets Assets(string demoHash, string nativeHash = "bbbb")
    {
        var file = Path.Combine(_root, "project.assets.json");
        File.WriteAllText(file, $$"""
            {
              "version": 3,
              "targets": {
                "net8.0": { "Demo.Package/1.0.0": { "type": "package" }, "Other/2.0.0": { "type": "project" } },
                "net8.0/linux-x64": { "Demo.Package/1.0.0": { "type": "package" }, "runtime.linux-x64.Native/1.0.0": { "type": "package" } }
              },
              "libraries": {
                "Demo.Package/1.0.0": { "sha512": "{{demoHash}}", "type": "package", "path": "demo.package/1.0.0" },
                "runtime.linux-x64.Native/1.0.0": { "sha512": "{{nativeHash}}", "type": "package", "path": "runtime.linux-x64.native/1.0.0" },
                "Other/2.0.0": { "type": "project", "path": "../Other/Other.csproj" }
              },
              "packageFolders": { "{{_packages.Replace("\\", "/")}}/": {} },
              "project": {
                "restore": { "sources": { "https://api.nuget.org/v3/index.json": {} } },
                "frameworks": { "net8.0": { "targetAlias": "net8.0", "downloadDependencies": [ { "name": "Some.Pack", "version": "[3.0.0, 3.0.0]" } ] } }
              }
            }
            """);
        return ProjectAssets.Load(file);
    }

    [Test]
    public void Every_restored_package_download_and_MSBuild_SDK_is_verified_once_with_what_the_assets_and_the_lock_expect()
    {
        var demo = Extract("Demo.Package", "1.0.0");
        var assets = Assets(demo);
        var lockModel = new RepositoryLock();
        lockModel.Packages["demo.package/1.0.0"] = new LockedPackage { ContentHash = "locked-hash" };
        var packages = DependencyVerification.PackagesToVerify(assets, new[] { "My.Sdk/2.0.0", "demo.package/1.0.0" }, lockModel, _packages);

        Assert.That(packages.Select(p => p.Key), Is.EqualTo(new[] { "demo.package/1.0.0", "my.sdk/2.0.0", "runtime.linux-x64.native/1.0.0", "some.pack/3.0.0" }));
        var first = packages[0];
        Assert.That(first.Directory, Is.EqualTo(Path.Combine(_packages, "demo.package", "1.0.0")));
        Assert.That(first.ExpectedContentHashes, Is.EqualTo(new[]
        {
            new KeyValuePair<string, string>("project.assets.json", demo),
            new KeyValuePair<string, string>("securebuild.lock.json", "locked-hash"),
        }));
        Assert.That(packages.Single(p => p.Id == "Some.Pack" || p.Id == "some.pack").ExpectedContentHashes, Is.Empty);
    }

    [Test]
    public void The_framework_observation_leaves_out_runtime_specific_packages_and_packs_that_are_not_there()
    {
        var assets = Assets("aaaa");
        var pack = Path.Combine(_root, "packs", "Demo.Ref", "8.0.0");
        Directory.CreateDirectory(pack);
        var packs = new[]
        {
            new TargetingPackFolder("Demo.Ref", "8.0.0", pack),
            new TargetingPackFolder("Gone.Ref", "8.0.0", Path.Combine(_root, "packs", "gone")),
            new TargetingPackFolder("Microsoft.NETCore.App.Runtime.linux-x64", "8.0.0", pack),
        };
        var state = DependencyVerification.ObserveFramework(assets, "net8.0", packs, out var locked);
        Assert.That(state.Packages!.Keys, Is.EqualTo(new[] { "demo.package" }));
        Assert.That(state.Downloads!.Keys, Is.EqualTo(new[] { "some.pack" }));
        Assert.That(state.Packs, Is.EqualTo(new SortedDictionary<string, string> { ["demo.ref"] = "8.0.0" }));
        Assert.That(locked, Is.EquivalentTo(new[] { "demo.package/1.0.0", "some.pack/3.0.0" }));
    }

    [Test]
    public void The_cache_packs_and_signatures_are_verified_observed_and_judged_and_a_tampered_package_is_a_problem()
    {
        var demo = Extract("Demo.Package", "1.0.0");
        Extract("Some.Pack", "3.0.0");
        var native = Extract("runtime.linux-x64.Native", "1.0.0");
        var assets = Assets(demo, native);
        var packDir = Path.Combine(_root, "packs", "Demo.Ref", "8.0.0");
        Directory.CreateDirectory(packDir);
        File.WriteAllText(Path.Combine(packDir, "Demo.dll"), "reference");
        var packs = new[] { new TargetingPackFolder("Demo.Ref", "8.0.0", packDir) };
        var observation = new LockObservation { MSBuildSdks = RepositoryLock.Sorted<LockedPackage>() };
        observation.FrameworkState = DependencyVerification.ObserveFramework(assets, "net8.0", packs, out var locked);
        var state = PackageVerificationState.InMemory();
        // The signature inspector's text: Demo.Package signed by an author nobody trusts, the others unsigned.
        string Signature(string nupkg) => nupkg.Contains("demo.package", StringComparison.Ordinal)
            ? new PackageSignatureInfo { Signed = true, Author = "AA", AuthorSubject = "CN=Author" }.ToText()
            : new PackageSignatureInfo().ToText();
        var verification = new DependencyVerification(state, new ConfirmedFolders(), Hash, Signature, () => Later);
        var toVerify = DependencyVerification.PackagesToVerify(assets, Array.Empty<string>(), null, _packages);

        var verdicts = verification.VerifyCache(toVerify);
        Assert.That(verdicts.Select(v => v.Ok), Is.All.True);
        verification.HashPacks(packs, observation);
        Assert.That(observation.Packs!.Keys, Is.EqualTo(new[] { "demo.ref/8.0.0" }));
        Assert.That(observation.Packs["demo.ref/8.0.0"].Files, Is.EqualTo(1));

        var outcomes = DependencyVerification.EvaluateSignatures(verdicts, new[] { new TrustedSigner("BB", "author", null) }, requireSigned: false, locked, observation);
        Assert.That(outcomes.Single(o => o.PackageKey == "demo.package/1.0.0").Finding, Is.EqualTo(SignatureFinding.Untrusted));
        Assert.That(outcomes.Single(o => o.PackageKey == "some.pack/3.0.0").Finding, Is.EqualTo(SignatureFinding.Unsigned));
        Assert.That(observation.Packages!.Keys, Is.EqualTo(new[] { "demo.package/1.0.0", "some.pack/3.0.0" }), "only what the framework locks; not the RID graph's package");
        Assert.That(observation.Packages["demo.package/1.0.0"].ContentHash, Is.EqualTo(demo));
        Assert.That(observation.Signers!.Keys, Is.EqualTo(new[] { "AA" }));
        Assert.That(DependencyVerification.FoldersInUse(toVerify, packs), Does.Contain("tree:" + packDir));

        // Tampered after it passed: the next build's verification names the file, and a failed package is not judged.
        File.AppendAllText(Path.Combine(_packages, "demo.package", "1.0.0", "lib", "a.dll"), "tampered");
        var next = new DependencyVerification(PackageVerificationState.InMemory(), new ConfirmedFolders(), Hash, Signature, () => Later);
        var again = next.VerifyCache(toVerify);
        var failed = again.Single(v => !v.Ok);
        Assert.That((failed.Package.Key, failed.Problems.Single().Kind, failed.Problems.Single().Code), Is.EqualTo(("demo.package/1.0.0", PackageProblemKind.Modified, "SB1430")));
        var rejudged = DependencyVerification.EvaluateSignatures(again, Array.Empty<TrustedSigner>(), requireSigned: true, locked, new LockObservation());
        Assert.That(rejudged.Select(o => o.PackageKey), Does.Not.Contain("demo.package/1.0.0"));
        Assert.That(rejudged.Select(o => o.Finding), Is.All.EqualTo(SignatureFinding.UnsignedNotAllowed));
    }
}

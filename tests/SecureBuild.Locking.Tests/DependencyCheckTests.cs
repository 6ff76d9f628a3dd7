using SecureBuild.Core.Crypto;
using SecureBuild.Core.Diagnostics;
using SecureBuild.Core.Locking;

namespace SecureBuild.Locking.Tests;

/// <summary>
/// The check VerifyDependencies runs after restore as one Core call (<see cref="DependencyCheck.Run"/>): what it
/// reports with which code, what it writes into the lock, and the statement it signs.
/// </summary>
public sealed class DependencyCheckTests
{
    private static readonly DateTime Later = DateTime.UtcNow.AddMinutes(10);
    private string _root = "";
    private string _packages = "";
    private string _assets = "";
    private string _demoHash = "";

    [SetUp]
    public void SetUp()
    {
        _root = Directory.CreateTempSubdirectory("sb-depcheck-").FullName;
        _packages = Path.Combine(_root, "packages");
        _demoHash = Extract("Demo.Package", "1.0.0");
        File.WriteAllText(Path.Combine(_root, "App.csproj"), "<Project />");
        _assets = Path.Combine(_root, "obj", "project.assets.json");
        Directory.CreateDirectory(Path.GetDirectoryName(_assets)!);
        File.WriteAllText(_assets, $$"""
            {
              "version": 3,
              "targets": { "net8.0": { "Demo.Package/1.0.0": { "type": "package" } } },
              "libraries": { "Demo.Package/1.0.0": { "sha512": "{{_demoHash}}", "type": "package", "path": "demo.package/1.0.0" } },
              "packageFolders": { "{{_packages.Replace("\\", "/")}}/": {} },
              "project": { "restore": { "sources": { "https://api.nuget.org/v3/index.json": {} } }, "frameworks": { "net8.0": { "targetAlias": "net8.0" } } }
            }
            """);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private static string Hash(string nupkg) => ExtractedPackages.ContentHash(nupkg);

    private string Extract(string id, string version) => ExtractedPackages.Extract(_packages, id, version);

    private string LockPath => Path.Combine(_root, RepositoryLock.DefaultFileName);

    /// <summary>A request as the task makes it for App.csproj (net8.0); the package signed by author "AA" when <paramref name="signed"/>.</summary>
    private DependencyCheckRequest Request(RepositoryLock? lockModel = null, bool strict = false, bool update = false, bool signed = false, SigningKey? key = null) =>
        new(_assets, new LockObservation { MSBuildSdks = RepositoryLock.Sorted<LockedPackage>(), Tools = RepositoryLock.Sorted<LockedTool>() })
        {
            Lock = lockModel,
            LockPath = LockPath,
            Strict = strict,
            Update = update,
            Root = _root,
            ProjectKey = "App.csproj",
            TargetFramework = "net8.0",
            TargetFrameworks = new[] { "net8.0" },
            StateFile = Path.Combine(_root, "obj", "securebuild", "packages.verified"),
            Confirmed = new ConfirmedFolders(),
            ContentHash = Hash,
            Signature = _ => (signed ? new PackageSignatureInfo { Signed = true, Author = "AA", AuthorSubject = "CN=Author" } : new PackageSignatureInfo()).ToText(),
            AttestationDirectory = key is null ? null : Path.Combine(_root, "attestations"),
            SigningKey = () => key,
            UtcNow = () => Later,
        };

    private static IEnumerable<(string Code, DiagnosticLevel Level)> Coded(DependencyCheckResult result) =>
        result.Diagnostics.Where(d => d.Code.Length > 0).Select(d => (d.Code, d.Level));

    [Test]
    public void Updating_records_the_project_into_the_lock_and_the_next_check_against_it_passes_and_signs_one_statement()
    {
        var updated = DependencyCheck.Run(Request(update: true));
        Assert.That(Coded(updated), Is.Empty);
        Assert.That(updated.Verdicts.Select(v => (v.Package.Key, v.Ok)), Is.EqualTo(new[] { ("demo.package/1.0.0", true) }));
        Assert.That(updated.Diagnostics.Last().Text, Does.StartWith("SecureBuild: recorded App.csproj (net8.0) in "));
        var lockModel = LockFile.Load(LockPath);
        Assert.That(lockModel.Projects.Keys, Is.EqualTo(new[] { "App.csproj" }));

        var key = SigningKey.Generate(KeyType.Ed25519);
        var checkedAgainst = DependencyCheck.Run(Request(lockModel, strict: true, key: key));
        Assert.That(Coded(checkedAgainst), Is.Empty);
        Assert.That(checkedAgainst.Failed, Is.False);
        var statement = Path.Combine(_root, "attestations", $"dependencies.{key.KeyId.Substring(0, 8)}.intoto.jsonl");
        Assert.That(File.Exists(statement), Is.True);

        // The same verdicts again: the statement is not signed anew.
        File.SetLastWriteTimeUtc(statement, DateTime.UtcNow.AddDays(-1));
        var written = File.GetLastWriteTimeUtc(statement);
        DependencyCheck.Run(Request(lockModel, strict: true, key: key));
        Assert.That(File.GetLastWriteTimeUtc(statement), Is.EqualTo(written));
    }

    [Test]
    public void A_package_that_differs_from_the_lock_is_a_warning_and_in_strict_mode_an_error_with_the_update_hint()
    {
        DependencyCheck.Run(Request(update: true));
        var lockModel = LockFile.Load(LockPath);
        lockModel.Projects["App.csproj"].Frameworks["net8.0"].Packages!["demo.package"] = "0.9.0";

        var warned = DependencyCheck.Run(Request(lockModel));
        Assert.That(Coded(warned).Select(c => c.Level), Is.Not.Empty.And.All.EqualTo(DiagnosticLevel.Warning));
        Assert.That(warned.Failed, Is.False);
        var warning = warned.Diagnostics.First(d => d.Level == DiagnosticLevel.Warning);
        Assert.That(warning.Code, Is.EqualTo("SB2421"));
        Assert.That(warning.Text, Does.StartWith("Lock drift: ").And.EndWith(LockDifference.UpdateHint));

        var failed = DependencyCheck.Run(Request(lockModel, strict: true));
        Assert.That(failed.Failed, Is.True);
        Assert.That(Coded(failed), Does.Contain(("SB1421", DiagnosticLevel.Error)));
    }

    [Test]
    public void A_tampered_package_fails_the_check_before_the_lock_is_touched()
    {
        File.AppendAllText(Path.Combine(_packages, "demo.package", "1.0.0", "lib", "a.dll"), "tampered");

        var result = DependencyCheck.Run(Request(update: true));

        Assert.That(result.Failed, Is.True);
        Assert.That(Coded(result), Is.EqualTo(new[] { ("SB1430", DiagnosticLevel.Error) }));
        Assert.That(result.Verdicts.Single().Ok, Is.False);
        Assert.That(File.Exists(LockPath), Is.False, "nothing is recorded from a package that failed");
    }

    [Test]
    public void An_untrusted_signer_is_a_warning_and_an_error_in_strict_mode_or_when_updating()
    {
        var trusted = new[] { new TrustedSigner("BB", "author", null) };
        var request = Request(signed: true);
        request.TrustedSigners = trusted;
        Assert.That(Coded(DependencyCheck.Run(request)), Is.EqualTo(new[] { ("SB2441", DiagnosticLevel.Warning) }));

        var strict = Request(signed: true, strict: true);
        strict.TrustedSigners = trusted;
        Assert.That(Coded(DependencyCheck.Run(strict)), Is.EqualTo(new[] { ("SB1441", DiagnosticLevel.Error) }));

        var update = Request(signed: true, update: true);
        update.TrustedSigners = trusted;
        Assert.That(Coded(DependencyCheck.Run(update)), Is.EqualTo(new[] { ("SB1441", DiagnosticLevel.Error) }));
        Assert.That(File.Exists(LockPath), Is.False);
    }

    [Test]
    public void Unsigned_packages_are_errors_only_when_signatures_are_required()
    {
        Assert.That(Coded(DependencyCheck.Run(Request())), Is.Empty);
        var required = Request();
        required.RequireSignedPackages = true;
        Assert.That(Coded(DependencyCheck.Run(required)), Is.EqualTo(new[] { ("SB1440", DiagnosticLevel.Error) }));
    }
}

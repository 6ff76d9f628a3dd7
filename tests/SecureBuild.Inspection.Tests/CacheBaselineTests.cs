using SecureBuild.Core.Inspection;

namespace SecureBuild.Inspection.Tests;

/// <summary>The baseline from NuGet's global packages folder: by PackageId@Version, or the previous release.</summary>
public sealed class CacheBaselineTests
{
    /// <summary>A global packages folder laid out as restore lays it out, holding P 0.9.0, 1.0.0-beta.2 and 2.0.0.</summary>
    private static string PackagesFolder(TempDirectory temp)
    {
        foreach (var version in new[] { "0.9.0", "1.0.0-beta.2", "2.0.0" })
        {
            temp.Write($"packages/p/{version}/p.{version}.nupkg", Packages.Zip(
                ("P.nuspec", Packages.Nuspec("P", version, "Dep." + version)),
                ("lib/net8.0/P.dll", Packages.SmallLibrary)));
        }

        temp.Write("packages/p/0.5.0/p.nuspec", Packages.Text("<package />")); // an extracted folder without its .nupkg: not a release to compare with
        return Path.Combine(temp.Path, "packages");
    }

    private static string Current(TempDirectory temp) => temp.Write("P.1.0.0.nupkg", Packages.Zip(
        ("P.nuspec", Packages.Nuspec("P", "1.0.0", "Dep.current")),
        ("lib/net8.0/P.dll", Packages.SmallLibrary)));

    [Test]
    public void Baseline_Id_at_Version_takes_that_release_from_the_cache_with_id_and_version_normalized()
    {
        using var temp = new TempDirectory();
        var folder = PackagesFolder(temp);

        var report = PackageInspector.Inspect(new InspectionOptions { Input = Current(temp), Baseline = "P@0.9", PackagesFolder = folder });

        Assert.That(report.Baseline, Is.EqualTo(Path.Combine(folder, "p", "0.9.0", "p.0.9.0.nupkg")));
        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.NewCapability).Select(f => f.Subject), Is.EqualTo(new[] { "SB4330 dep.current" }));
    }

    [Test]
    public void Baseline_from_cache_takes_the_highest_release_below_the_packages_own_version()
    {
        using var temp = new TempDirectory();

        var report = PackageInspector.Inspect(new InspectionOptions { Input = Current(temp), BaselineFromCache = true, PackagesFolder = PackagesFolder(temp) });

        Assert.That(Path.GetFileName(report.Baseline), Is.EqualTo("p.1.0.0-beta.2.nupkg"), "1.0.0-beta.2 precedes 1.0.0; 2.0.0 is later; 0.5.0 has no .nupkg");
    }

    [TestCase("P@3.0.0", "the baseline P 3.0.0 is not in the NuGet global packages folder")]
    [TestCase("Other@1.0.0", "the baseline Other 1.0.0 is not in the NuGet global packages folder")]
    [TestCase("P@not-a-version", "is not a package id and version")]
    public void A_baseline_the_cache_does_not_have_is_SB4345_naming_where_it_looked(string baseline, string expected)
    {
        using var temp = new TempDirectory();
        var folder = PackagesFolder(temp);

        var e = Assert.Throws<InspectionException>(() =>
            PackageInspector.Inspect(new InspectionOptions { Input = Current(temp), Baseline = baseline, PackagesFolder = folder }));

        Assert.That(e!.Code, Is.EqualTo(InspectionCodes.BaselineNotInCache));
        Assert.That(e.Message, Does.Contain(expected));
    }

    [Test]
    public void Baseline_from_cache_with_no_earlier_release_is_SB4345()
    {
        using var temp = new TempDirectory();
        var oldest = temp.Write("P.0.1.0.nupkg", Packages.Zip(("P.nuspec", Packages.Nuspec("P", "0.1.0")), ("lib/net8.0/P.dll", Packages.SmallLibrary)));

        var e = Assert.Throws<InspectionException>(() =>
            PackageInspector.Inspect(new InspectionOptions { Input = oldest, BaselineFromCache = true, PackagesFolder = PackagesFolder(temp) }));

        Assert.That(e!.Code, Is.EqualTo(InspectionCodes.BaselineNotInCache));
        Assert.That(e.Message, Does.Contain("no release of P earlier than 0.1.0"));
    }

    [Test]
    public void The_cli_looks_in_NUGET_PACKAGES_and_says_so_with_exit_2_when_the_release_is_not_there()
    {
        using var temp = new TempDirectory();
        var folder = PackagesFolder(temp);
        var before = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        try
        {
            Environment.SetEnvironmentVariable("NUGET_PACKAGES", folder);
            var (found, stdout, stderr) = Cli.Run("inspect", Current(temp), "--baseline-from-cache", "--format", "json");
            var (missing, _, missingErr) = Cli.Run("inspect", Current(temp), "--baseline", "P@1.5.0");
            var (both, _, bothErr) = Cli.Run("inspect", Current(temp), "--baseline", "P@0.9.0", "--baseline-from-cache");

            Assert.That(found, Is.EqualTo(0), stderr);
            Assert.That(stdout, Does.Contain("p.1.0.0-beta.2.nupkg"));
            Assert.That(missing, Is.EqualTo(2));
            Assert.That(missingErr, Does.Contain("SB4345").And.Contain(Path.Combine(folder, "p", "1.5.0", "p.1.5.0.nupkg")));
            Assert.That(both, Is.EqualTo(2));
            Assert.That(bothErr, Does.Contain("SB4346"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("NUGET_PACKAGES", before);
        }
    }
}

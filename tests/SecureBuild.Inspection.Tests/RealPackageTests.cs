using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;
using SecureBuild.Core.Inspection;

namespace SecureBuild.Inspection.Tests;

/// <summary>
/// A real published package: NUnit3TestAdapter, which this project's own restore puts into the NuGet cache (it has
/// build/ props and targets and ships assemblies there). What inspect lists is checked against the package's entries,
/// read here independently of the inspector.
/// </summary>
public sealed class RealPackageTests
{
    [Test]
    public void Inspect_lists_the_build_files_binaries_and_dependencies_NUnit3TestAdapter_really_contains()
    {
        var package = RestoredPackage("NUnit3TestAdapter");

        var (exit, _, stderr) = Cli.Run("inspect", package);
        Assert.That(exit, Is.EqualTo(0), stderr);
        var report = PackageInspector.Inspect(new InspectionOptions { Input = package });

        using var zip = ZipFile.OpenRead(package);
        var names = zip.Entries.Where(e => !e.FullName.EndsWith("/", StringComparison.Ordinal)).Select(e => e.FullName).ToList();
        Assert.That(report.Files.Select(f => f.File.Path), Is.EquivalentTo(names));

        var buildFiles = names.Where(n => (n.StartsWith("build/", StringComparison.Ordinal) || n.StartsWith("buildTransitive/", StringComparison.Ordinal) || n.StartsWith("buildMultiTargeting/", StringComparison.Ordinal)) &&
            (n.EndsWith(".props", StringComparison.Ordinal) || n.EndsWith(".targets", StringComparison.Ordinal))).ToList();
        Assert.That(buildFiles, Is.Not.Empty);
        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.BuildFile).Select(f => f.Path), Is.EquivalentTo(buildFiles));

        var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/')).Open());
        var dependencies = nuspec.Descendants().Where(e => e.Name.LocalName == "dependency").Select(e => e.Attribute("id")!.Value.ToLowerInvariant()).Distinct();
        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.Dependency).Select(f => f.Subject), Is.EquivalentTo(dependencies));

        // Every assembly of the package was read (none unreadable), and each was checked for determinism.
        var dlls = names.Where(n => n.EndsWith(".dll", StringComparison.Ordinal)).ToList();
        Assert.That(dlls, Is.Not.Empty);
        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.UnreadableAssembly), Is.Empty);
        Assert.That(report.Failed, Is.False);
        foreach (var dll in dlls)
        {
            using var stream = zip.GetEntry(dll)!.Open();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            using var pe = new System.Reflection.PortableExecutable.PEReader(new MemoryStream(copy.ToArray()));
            var reproducible = pe.ReadDebugDirectory().Any(d => d.Type == System.Reflection.PortableExecutable.DebugDirectoryEntryType.Reproducible);
            Assert.That(report.Findings.Any(f => f.Path == dll && f.Code == InspectionCodes.NotDeterministic), Is.EqualTo(!reproducible), dll);
        }
    }

    /// <summary>The .nupkg of a package this test project restored, in the NuGet cache.</summary>
    private static string RestoredPackage(string id)
    {
        var deps = Path.Combine(TestContext.CurrentContext.TestDirectory, "SecureBuild.Inspection.Tests.deps.json");
        using var document = JsonDocument.Parse(File.ReadAllText(deps));
        var library = document.RootElement.GetProperty("libraries").EnumerateObject()
            .Select(p => p.Name).FirstOrDefault(n => n.StartsWith(id + "/", StringComparison.OrdinalIgnoreCase));
        if (library is null)
        {
            Assert.Ignore($"{id} is not in this project's deps.json, so the restore did not bring it");
        }

        var version = library!.Substring(id.Length + 1);
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var nupkg = Path.Combine(cache, id.ToLowerInvariant(), version, $"{id.ToLowerInvariant()}.{version}.nupkg");
        if (!File.Exists(nupkg))
        {
            Assert.Ignore($"{nupkg} is not in the NuGet cache (a restore from a fallback folder or an offline copy): nothing real to inspect");
        }

        return nupkg;
    }
}

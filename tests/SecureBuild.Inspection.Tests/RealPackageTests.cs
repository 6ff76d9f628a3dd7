using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;
using SecureBuild.Core.Inspection;
using SecureBuild.Core.Processes;
using SecureBuild.TestSupport;

namespace SecureBuild.Inspection.Tests;

/// <summary>
/// Real published packages. NUnit3TestAdapter, which this project's own restore puts into the NuGet cache (it has
/// build/ props and targets and ships assemblies there); and, restored by the test itself with `dotnet restore` of a
/// generated project of PackageDownload items from the configured feed into the NuGet global packages folder (so the
/// test does not depend on what a machine's cache happens to hold): Newtonsoft.Json, NuGet.Packaging, a package with
/// build targets and a task assembly (Microsoft.SourceLink.GitHub) and one with native runtimes (the .NET runtime pack).
/// What inspect lists is checked against the package's entries, read here independently of the inspector.
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

    /// <summary>The packages the test restores, at pinned versions (all on nuget.org).</summary>
    private static readonly (string Id, string Version)[] Downloaded =
    {
        ("Newtonsoft.Json", "13.0.3"),
        ("NuGet.Packaging", "7.9.0"),
        ("Microsoft.SourceLink.GitHub", "8.0.0"),
        ("Microsoft.NETCore.App.Runtime.linux-x64", "10.0.12"),
    };

    private static readonly Lazy<string?> Restore = new(RestoreDownloaded, LazyThreadSafetyMode.ExecutionAndPublication);

    [TestCase("Newtonsoft.Json", "13.0.3")]
    [TestCase("NuGet.Packaging", "7.9.0")]
    [TestCase("Microsoft.SourceLink.GitHub", "8.0.0")]
    [TestCase("Microsoft.NETCore.App.Runtime.linux-x64", "10.0.12")]
    public void Inspect_reads_every_file_of_a_real_published_package_and_passes_it(string id, string version)
    {
        var package = DownloadedPackage(id, version);

        var (exit, stdout, stderr) = Cli.Run("inspect", package);

        Assert.That(exit, Is.EqualTo(0), stderr + stdout);
        var report = PackageInspector.Inspect(new InspectionOptions { Input = package });
        using var zip = ZipFile.OpenRead(package);
        Assert.That(report.Files.Select(f => f.File.Path), Is.EquivalentTo(zip.Entries.Where(e => !e.FullName.EndsWith("/", StringComparison.Ordinal)).Select(e => e.FullName)));
        Assert.That(report.Findings.Where(f => f.Severity == FindingSeverity.Error).Select(f => f.Code + " " + f.Path), Is.Empty);
    }

    [Test]
    public void Inspect_names_the_build_files_and_the_task_assemblies_Microsoft_SourceLink_GitHub_really_has()
    {
        var package = DownloadedPackage("Microsoft.SourceLink.GitHub", "8.0.0");
        var report = PackageInspector.Inspect(new InspectionOptions { Input = package });

        using var zip = ZipFile.OpenRead(package);
        var buildFiles = zip.Entries.Select(e => e.FullName).Where(n => (n.StartsWith("build/", StringComparison.Ordinal) || n.StartsWith("buildTransitive/", StringComparison.Ordinal) ||
            n.StartsWith("buildMultiTargeting/", StringComparison.Ordinal)) && (n.EndsWith(".props", StringComparison.Ordinal) || n.EndsWith(".targets", StringComparison.Ordinal))).ToList();
        Assert.That(buildFiles, Is.Not.Empty);
        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.BuildFile).Select(f => f.Path), Is.EquivalentTo(buildFiles));

        var usingTasks = buildFiles.SelectMany(n => XDocument.Load(zip.GetEntry(n)!.Open()).Descendants()
            .Where(e => e.Name.LocalName == "UsingTask" && e.Attribute("AssemblyFile") is not null)
            .Select(e => (n, e.Attribute("TaskName")!.Value))).ToList();
        Assert.That(usingTasks, Is.Not.Empty, "SourceLink loads its tasks from the package");
        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.TaskAssembly).Select(f => (f.Path, f.Subject.Split(' ')[0])), Is.EquivalentTo(usingTasks));
        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.BuildExec), Is.Empty, "SourceLink's targets run no Exec");
    }

    [Test]
    public void Inspect_names_each_native_binary_of_the_runtime_pack_with_its_RID()
    {
        var package = DownloadedPackage("Microsoft.NETCore.App.Runtime.linux-x64", "10.0.12");
        var report = PackageInspector.Inspect(new InspectionOptions { Input = package });

        using var zip = ZipFile.OpenRead(package);
        var elf = new List<string>();
        foreach (var entry in zip.Entries.Where(e => !e.FullName.EndsWith("/", StringComparison.Ordinal)))
        {
            using var stream = entry.Open();
            var magic = new byte[4];
            if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic[0] == 0x7F && magic[1] == (byte)'E' && magic[2] == (byte)'L' && magic[3] == (byte)'F')
            {
                elf.Add(entry.FullName);
            }
        }

        Assert.That(elf, Has.Some.EndsWith("libcoreclr.so"));
        var native = report.Findings.Where(f => f.Code == InspectionCodes.NativeBinary).ToList();
        Assert.That(native.Select(f => f.Path), Is.EquivalentTo(elf));
        Assert.That(native.Where(f => f.Path.StartsWith("runtimes/linux-x64/native/", StringComparison.Ordinal)).Select(f => f.Message), Has.All.Contain("ELF binary for linux-x64"));
    }

    /// <summary>The .nupkg of a package <see cref="Restore"/> brought into the NuGet global packages folder.</summary>
    private static string DownloadedPackage(string id, string version)
    {
        if (Restore.Value is { } failure)
        {
            Assert.Ignore("the packages to inspect could not be restored from the configured feed (offline?), so there is nothing real to inspect:\n" + failure);
        }

        var nupkg = Path.Combine(PackagesFolder(), id.ToLowerInvariant(), version, $"{id.ToLowerInvariant()}.{version}.nupkg");
        Assert.That(File.Exists(nupkg), Is.True, $"the restore succeeded but {nupkg} is not there");
        return nupkg;
    }

    /// <summary>Restores <see cref="Downloaded"/> with a generated project; null on success, else why not.</summary>
    private static string? RestoreDownloaded()
    {
        var root = ScratchDirectory.Create("sbinspect-real-");
        try
        {
            File.WriteAllText(Path.Combine(root, "Directory.Build.props"), "<Project />\n");
            File.WriteAllText(Path.Combine(root, "Directory.Packages.props"), "<Project />\n");
            File.WriteAllText(Path.Combine(root, "Fetch.csproj"), "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>\n  <ItemGroup>\n" +
                string.Concat(Downloaded.Select(p => $"    <PackageDownload Include=\"{p.Id}\" Version=\"[{p.Version}]\" />\n")) + "  </ItemGroup>\n</Project>\n");
            var environment = new Dictionary<string, string>();
            DotnetEnvironment.MakeQuiet(environment);
            var restore = new ProcessRunner().Run(new ProcessSpec("dotnet", new[] { "restore", "Fetch.csproj", "-nologo" }, root)
            {
                AddedEnvironment = environment,
                Timeout = TimeSpan.FromMinutes(10),
            });
            return restore.ExitCode == 0 ? null : $"dotnet restore exited with {restore.ExitCode}:\n{restore.Output}";
        }
        finally
        {
            ScratchDirectory.TryDelete(root);
        }
    }

    private static string PackagesFolder() => Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
        ? configured
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

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
        var nupkg = Path.Combine(PackagesFolder(), id.ToLowerInvariant(), version, $"{id.ToLowerInvariant()}.{version}.nupkg");
        if (!File.Exists(nupkg))
        {
            Assert.Ignore($"{nupkg} is not in the NuGet cache (a restore from a fallback folder or an offline copy): nothing real to inspect");
        }

        return nupkg;
    }
}

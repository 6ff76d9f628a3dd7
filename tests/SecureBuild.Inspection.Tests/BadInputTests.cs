using SecureBuild.Core.Inspection;
using SecureBuild.Testing.Fuzz;

namespace SecureBuild.Inspection.Tests;

/// <summary>Crafted and broken packages: a clear finding or exit 2, never a pass, a crash or a file written.</summary>
public sealed class BadInputTests
{
    [Test]
    public void A_zip_bomb_is_refused_with_exit_2_before_it_is_decompressed()
    {
        using var temp = new TempDirectory();
        var bomb = temp.Write("bomb.nupkg", Packages.Zip(("lib/net8.0/zeros.dll", new byte[16 << 20])));

        var (exit, stdout, stderr) = Cli.Run("inspect", bomb);

        Assert.That(exit, Is.EqualTo(2), stdout);
        Assert.That(stderr, Does.Contain("SB4300").And.Contain("SB1904"));
    }

    [Test]
    public void A_package_beyond_the_total_size_limit_is_refused_as_a_2_GB_package_would_be()
    {
        using var temp = new TempDirectory();
        var random = new Random(15);
        var noise = new byte[600 * 1024];
        random.NextBytes(noise);
        var package = temp.Write("big.nupkg", Packages.Zip(("lib/a.bin", noise), ("lib/b.bin", noise)));

        var e = Assert.Throws<InspectionException>(() => PackageInspector.Inspect(new InspectionOptions
        {
            Input = package,
            Limits = new SecureBuild.Core.Archives.ArchiveLimits { MaxTotalBytes = 1024 * 1024 },
        }));

        Assert.That(e!.Code, Is.EqualTo(InspectionCodes.UnreadableInput));
        Assert.That(e.Message, Does.Contain("SB1903"));
    }

    [Test]
    public void A_real_2_GB_package_is_refused_by_its_declared_entry_size_before_it_is_hashed_or_read()
    {
        using var temp = new TempDirectory();
        var package = Path.Combine(temp.Path, "big.nupkg");
        const long size = (2L << 30) + 4096; // the bytes are there: a sparse file of 2 GB, not a small file that lies
        using (var file = new FileStream(package, FileMode.CreateNew))
        using (var writer = new BinaryWriter(file))
        {
            var name = System.Text.Encoding.ASCII.GetBytes("lib/net8.0/Big.dll");
            writer.Write(0x04034B50u); writer.Write((ushort)20); writer.Write((ushort)0); writer.Write((ushort)0); writer.Write(0u);
            writer.Write(0u); writer.Write((uint)size); writer.Write((uint)size); writer.Write((ushort)name.Length); writer.Write((ushort)0); writer.Write(name);
            writer.Flush();
            file.Seek(size, SeekOrigin.Current);
            var directory = file.Position;
            writer.Write(0x02014B50u); writer.Write((ushort)20); writer.Write((ushort)20); writer.Write((ushort)0); writer.Write((ushort)0); writer.Write(0u);
            writer.Write(0u); writer.Write((uint)size); writer.Write((uint)size); writer.Write((ushort)name.Length); writer.Write((ushort)0); writer.Write((ushort)0);
            writer.Write((ushort)0); writer.Write((ushort)0); writer.Write(0u); writer.Write(0u); writer.Write(name);
            var directorySize = file.Position - directory;
            writer.Write(0x06054B50u); writer.Write((ushort)0); writer.Write((ushort)0); writer.Write((ushort)1); writer.Write((ushort)1);
            writer.Write((uint)directorySize); writer.Write((uint)directory); writer.Write((ushort)0);
        }

        Assert.That(new FileInfo(package).Length, Is.GreaterThan(2L << 30));

        var (exit, stdout, stderr) = Cli.Run("inspect", package, "--format", "json");

        Assert.That(exit, Is.EqualTo(2), stdout);
        Assert.That(stderr, Does.Contain("SB4300").And.Contain("SB1902").And.Contain("lib/net8.0/Big.dll"));
        Assert.That(stdout, Is.Empty);
    }

    [Test]
    public void Files_beyond_what_one_package_may_keep_for_analysis_are_reported_not_analysed_and_fail()
    {
        using var temp = new TempDirectory();
        var package = temp.Write("p.nupkg", Packages.Zip(
            ("lib/net8.0/A.dll", Packages.SmallLibrary), ("lib/net8.0/B.dll", Packages.SmallLibrary), ("lib/net8.0/C.dll", Packages.SmallLibrary)));

        var report = PackageInspector.Inspect(new InspectionOptions { Input = package, MaxAnalysedTotalBytes = Packages.SmallLibrary.Length + 1 });

        var notAnalysed = report.Findings.Where(f => f.Code == InspectionCodes.UnreadableAssembly).ToList();
        Assert.That(notAnalysed.Select(f => f.Path), Is.EqualTo(new[] { "lib/net8.0/B.dll", "lib/net8.0/C.dll" }));
        Assert.That(notAnalysed.Select(f => f.Message), Has.All.Contain($"beyond the {Packages.SmallLibrary.Length + 1} bytes of a package analysed in all"));
        Assert.That(report.Files.Select(f => f.File.Sha256), Has.All.EqualTo(report.Files[0].File.Sha256), "still hashed, so still accounted");
        Assert.That(report.Failed, Is.True);
    }

    [TestCase("../evil.targets")]
    [TestCase("build/../../evil.targets")]
    [TestCase("/etc/evil.targets")]
    public void An_entry_name_that_leaves_the_package_is_refused_with_exit_2(string name)
    {
        using var temp = new TempDirectory();
        var package = temp.Write("p.nupkg", Packages.Zip(("lib/net8.0/P.dll", Packages.SmallLibrary), (name, Packages.Targets("<Exec Command=\"id\" />"))));

        var (exit, _, stderr) = Cli.Run("inspect", package);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB4300").And.Contain("SB1901"));
        Assert.That(File.Exists(Path.Combine(temp.Path, "..", "evil.targets")), Is.False);
    }

    [Test]
    public void Duplicate_entries_fail_with_SB4302_naming_the_entry()
    {
        using var temp = new TempDirectory();
        var package = temp.Write("p.nupkg", Packages.Zip(
            ("lib/net8.0/P.dll", Packages.SmallLibrary),
            ("build/P.targets", Packages.Targets("<Message Text=\"harmless\" />")),
            ("build/p.TARGETS", Packages.Targets("<Exec Command=\"id\" />"))));

        var (exit, stdout, _) = Cli.Run("inspect", package);

        Assert.That(exit, Is.EqualTo(1), stdout);
        Assert.That(stdout, Does.Contain("error SB4302 build/P.targets:"));
        Assert.That(stdout, Does.Contain("SB4310"), "both copies are still analysed");
    }

    [Test]
    public void A_truncated_assembly_fails_with_SB4327()
    {
        using var temp = new TempDirectory();
        var package = temp.Write("p.nupkg", Packages.Zip(("lib/net8.0/P.dll", Packages.SmallLibrary.Take(400).ToArray()), ("lib/net8.0/Q.dll", Packages.Text("MZ"))));

        var (exit, stdout, _) = Cli.Run("inspect", package);

        Assert.That(exit, Is.EqualTo(1), stdout);
        Assert.That(stdout, Does.Contain("error SB4327 lib/net8.0/P.dll:").And.Contain("error SB4327 lib/net8.0/Q.dll:"));
    }

    [Test]
    public void A_nuspec_with_an_external_entity_is_refused_and_the_entity_is_never_read()
    {
        using var temp = new TempDirectory();
        var secret = temp.Write("secret.txt", Packages.Text("CANARY-7f3a9"));
        var nuspec = Packages.Text($"""
            <?xml version="1.0"?>
            <!DOCTYPE package [ <!ENTITY xxe SYSTEM "file://{secret}"> <!ENTITY lol "lollollol"> ]>
            <package><metadata><id>P</id><version>1.0.0</version><description>&xxe;</description>
            <dependencies><dependency id="&lol;" version="1.0.0" /></dependencies></metadata></package>
            """);
        var targets = Packages.Text($"""
            <?xml version="1.0"?>
            <!DOCTYPE Project [ <!ENTITY xxe SYSTEM "file://{secret}"> ]>
            <Project><Target Name="T"><Message Text="x" /></Target><PropertyGroup><P>&xxe;</P></PropertyGroup></Project>
            """);
        var package = temp.Write("p.nupkg", Packages.Zip(("P.nuspec", nuspec), ("build/P.targets", targets)));

        var (exit, stdout, stderr) = Cli.Run("inspect", package, "--format", "json");

        Assert.That(exit, Is.EqualTo(1), stdout);
        Assert.That(stdout.Split('\n').Count(l => l.Contains("\"SB4314\"")), Is.EqualTo(2), stdout);
        Assert.That(stdout + stderr, Does.Not.Contain("CANARY-7f3a9").IgnoreCase);
        Assert.That(stdout, Does.Not.Contain("lollollol"), "no entity is expanded");
    }

    [Test]
    public void A_file_that_is_not_a_zip_and_a_missing_file_are_exit_2()
    {
        using var temp = new TempDirectory();
        Assert.That(Cli.Run("inspect", temp.Write("p.nupkg", Packages.Text("PK\u0003\u0004 truncated"))).Exit, Is.EqualTo(2));
        var (exit, _, stderr) = Cli.Run("inspect", Path.Combine(temp.Path, "absent.nupkg"));
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("SB4300"));
    }

    [Test]
    public void Mutated_packages_never_crash_and_never_pass_silently()
    {
        var corpus = new[]
        {
            ("capabilities", Packages.Zip(
                ("P.nuspec", Packages.Nuspec("P", "1.0.0", "Dep")),
                ("lib/net8.0/P.dll", Packages.Assembly("P", "public static class C { [System.Runtime.InteropServices.DllImport(\"x\")] public static extern int F(); public static string U = \"http://a.example/\"; }")),
                ("build/P.targets", Packages.Targets("<Exec Command=\"echo\" />")))),
        };
        using var temp = new TempDirectory();
        var path = Path.Combine(temp.Path, "fuzz.nupkg");
        var problems = FuzzRun.Run("inspect-package", corpus, 300, Mutator.Binary, bytes =>
        {
            File.WriteAllBytes(path, bytes);
            try
            {
                var report = PackageInspector.Inspect(new InspectionOptions { Input = path });
                report.ToText();
                SecureBuild.Core.Json.JsonText.Write(report.ToJson());
                return null;
            }
            catch (InspectionException e)
            {
                return e.Code == InspectionCodes.UnreadableInput ? null : "unexpected code " + e.Code;
            }
        });

        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }
}

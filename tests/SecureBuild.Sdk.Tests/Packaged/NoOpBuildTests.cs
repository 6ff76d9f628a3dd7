using SecureBuild.Core.Crypto;

namespace SecureBuild.Sdk.Tests.Packaged;

/// <summary>
/// A no-op build loads no SecureBuild code: MSBuild skips every recording and verification target by its stamp
/// (SecureBuild.UpToDate.targets), which its binary log shows as no task of SecureBuild.Tasks.dll at all. And each kind
/// of change still runs the step's task and records it again: a source edit, a new key whose file is older than the
/// links, a setting, a deleted link, a nuget.config appearing next to the project (restore's upward search).
/// </summary>
public sealed class NoOpBuildTests
{
    private const string TasksAssembly = "SecureBuild.Tasks";

    [Test]
    public void A_no_op_build_runs_no_SecureBuild_task_and_each_kind_of_change_records_again()
    {
        var directory = Path.Combine(PackagedSdk.Feed.WorkRoot, "noop-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        PackagedSdk.Feed.WriteConsumerConfiguration(directory);
        Write(directory, "App/App.csproj", """
            <Project Sdk="SecureBuild.Sdk">
              <PropertyGroup><TargetFrameworks>net8.0;net10.0</TargetFrameworks></PropertyGroup>
            </Project>
            """);
        var source = Write(directory, "App/Greeter.cs", "namespace App; public static class Greeter { public static string Hello => \"hello\"; }\n");
        var key = Path.Combine(directory, "build.key");
        File.WriteAllText(key, SigningKey.Generate(KeyType.Ed25519).ExportPrivate());
        var environment = new Dictionary<string, string?> { ["SecureBuildSigningKey"] = key };
        var links = Path.Combine(directory, "App", "bin", "Debug", "attestations");

        Build(directory, environment, "first");
        // Files younger than two seconds are not trusted by their write time: the tasks keep no no-op state for them,
        // so the build after the first records again (or confirms) and keeps it; the one after is the no-op.
        Thread.Sleep(TimeSpan.FromSeconds(2.5));
        Build(directory, environment, "second");
        var noop = Build(directory, environment, "noop");
        Assert.That(noop.TasksFrom(TasksAssembly).Select(t => $"{t.TargetName}: {t.Name} ({t.TargetFramework})"), Is.Empty,
            "a no-op build must not run (or load) any SecureBuild task");
        Assert.That(noop.SkippedTargets("App.csproj"), Is.SupersetOf(new[] { "SecureBuildRecordCompileMaterials", "SecureBuildRecordCompile", "SecureBuildRecordRestore", "SecureBuildVerifyDependencies" }),
            "the recording targets are skipped as up to date, not left out");

        // A source edit: both frameworks' compile steps record the new source.
        File.WriteAllText(source, "namespace App; public static class Greeter { public static string Hello => \"jello\"; }\n");
        var edited = Build(directory, environment, "edit");
        Assert.That(edited.Tasks("RecordStepProducts").Where(t => t.TargetName == "SecureBuildRecordCompile").Select(t => t.TargetFramework),
            Is.EquivalentTo(new[] { "net8.0", "net10.0" }));
        Assert.That(edited.TasksFrom(TasksAssembly), Is.Not.Empty, "the log names the SecureBuild tasks' assembly (or the no-op check above would prove nothing)");
        foreach (var framework in new[] { "net8.0", "net10.0" })
        {
            Assert.That(LinkFile.Records(Link(links, "compile-" + framework).Materials, source), Is.True, $"compile-{framework} records the edited source");
        }

        // Another key whose file is older than every link: a time that went back counts as much as one that moved on.
        var other = SigningKey.Generate(KeyType.Ed25519);
        File.WriteAllText(key, other.ExportPrivate());
        File.SetLastWriteTimeUtc(key, DateTime.UtcNow.AddDays(-1));
        Build(directory, environment, "rekey");
        var keyId8 = other.KeyId.Substring(0, 8);
        foreach (var step in new[] { "restore", "compile-net8.0", "compile-net10.0" })
        {
            Assert.That(File.Exists(Path.Combine(links, $"{step}.{keyId8}.link")), Is.True, $"{step} is signed again with the new key");
        }

        // A setting: the digests the links record.
        var sha512 = new Dictionary<string, string?>(environment) { ["SecureBuildHashAlgorithms"] = "sha256;sha512" };
        Build(directory, sha512, "setting");
        Assert.That(File.ReadAllText(Path.Combine(links, $"compile-net10.0.{keyId8}.link")), Does.Contain("\"sha512\""));

        // A deleted link (and its statement).
        foreach (var file in Directory.GetFiles(links, "compile-net8.0.*"))
        {
            File.Delete(file);
        }
        var deleted = Build(directory, sha512, "deleted");
        Assert.That(deleted.Tasks("RecordStepProducts").Where(t => t.TargetName == "SecureBuildRecordCompile").Select(t => t.TargetFramework),
            Is.EqualTo(new[] { "net8.0" }), "only the step whose link is gone records again");
        Assert.That(File.Exists(Path.Combine(links, $"compile-net8.0.{keyId8}.link")), Is.True);

        // A nuget.config next to the project: a material of restore that only restore's upward search finds.
        var config = Write(directory, "App/nuget.config", "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<configuration />\n");
        Build(directory, sha512, "config");
        Assert.That(LinkFile.Records(LinkFile.Load(Path.Combine(links, $"restore.{keyId8}.link")).Materials, config), Is.True, "restore records the new nuget.config");

        Thread.Sleep(TimeSpan.FromSeconds(2.5));
        Build(directory, sha512, "settle");
        var again = Build(directory, sha512, "noop-again");
        Assert.That(again.TasksFrom(TasksAssembly).Select(t => $"{t.TargetName}: {t.Name} ({t.TargetFramework})"), Is.Empty,
            "after the changes were recorded, the next build is a no-op again");
    }

    private static BuildLog Build(string directory, IDictionary<string, string?> environment, string name)
    {
        var log = Path.Combine(directory, name + ".binlog");
        var result = Run.Process("dotnet", new[] { "build", "App/App.csproj", "-nologo", "-bl:" + log }, directory, environment, TimeSpan.FromMinutes(10));
        Assert.That(result.ExitCode, Is.EqualTo(0), $"the {name} build failed:\n{result.Output}");
        return BuildLog.Read(log);
    }

    private static LinkFile Link(string directory, string step)
    {
        var files = Directory.GetFiles(directory, step + ".*.link");
        Assert.That(files, Has.Length.EqualTo(1), $"one {step} link expected in {directory}");
        return LinkFile.Load(files[0]);
    }

    private static string Write(string directory, string relative, string content)
    {
        var path = Path.Combine(directory, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }
}

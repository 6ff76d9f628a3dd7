using System.Text.RegularExpressions;
using SecureBuild.Core.Reproducibility;

namespace SecureBuild.Reproducibility.Tests.Integration;

/// <summary>
/// Debian's reprotest builds samples/NonDeterministic/BuildTimestamp twice under its own variations and diffoscope
/// compares the outputs; every file diffoscope finds different, `securebuild diff` finds different too, with a cause.
/// </summary>
public sealed class ReprotestCrossCheckTests
{
    [Test]
    public void Where_reprotest_and_diffoscope_find_a_difference_securebuild_finds_and_explains_it()
    {
        var install = Feed.Process("bash", new[] { Path.Combine(Feed.RepoRoot, "build", "install-repro-tools.sh") }, Feed.RepoRoot, timeout: TimeSpan.FromMinutes(10));
        Assert.That(install.ExitCode, Is.EqualTo(0), "reprotest and diffoscope are needed for the cross-check and could not be installed (build/install-repro-tools.sh):\n" + install.Output);

        var sample = Feed.CopySample("NonDeterministic/BuildTimestamp", "reprotest");
        var store = Path.Combine(Feed.WorkRoot, "reprotest-store-" + Guid.NewGuid().ToString("N"));
        var cliHome = Path.Combine(Feed.WorkRoot, "reprotest-home");
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        // reprotest's home variation would break the dotnet CLI; its time/user/fileordering variations need faketime,
        // sudo and disorderfs. The variations below are those a plain Debian install runs.
        var command = $"export DOTNET_CLI_HOME={cliHome} NUGET_PACKAGES={packages} MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0 UseSharedCompilation=false; dotnet build -c Release -nologo -v q";
        var run = Feed.Process("reprotest", new[] { "--vary=-all,+build_path,+environment,+timezone,+locales,+umask", "--store-dir=" + store, command, "bin/Release/net10.0/*" },
            sample, timeout: TimeSpan.FromMinutes(8));
        Assert.That(run.ExitCode, Is.EqualTo(1), "reprotest should report the sample as not reproducible:\n" + run.Output);

        var diffoscope = File.ReadAllText(Path.Combine(store, "experiment-1.diffoscope.out"));
        var experiment = Path.Combine(store, "experiment-1");
        var theirs = Regex.Matches(diffoscope, @"\+\+\+ (\S+)").Select(m => m.Groups[1].Value)
            .Where(p => p.StartsWith(experiment + "/", StringComparison.Ordinal) && File.Exists(p))
            .Select(p => p.Substring(experiment.Length + 1))
            .Distinct().ToList();
        Assert.That(theirs, Is.Not.Empty, "diffoscope named no differing file:\n" + diffoscope);

        var ours = ArtifactDiffer.Compare(Path.Combine(store, "control"), experiment);
        foreach (var file in theirs)
        {
            var artifact = ours.Artifacts.SingleOrDefault(a => a.Path == file);
            Assert.That(artifact?.Status, Is.EqualTo(ArtifactStatus.Different), $"diffoscope found {file} different; securebuild diff says {artifact?.Status}");
            var roots = ours.Differences.Where(d => d.IsRootCause && (d.Artifact == file || d.Artifact.StartsWith(file + "!/", StringComparison.Ordinal))).ToList();
            Assert.That(roots.Count + ours.Differences.Count(d => d.Artifact == file && !d.IsRootCause), Is.GreaterThan(0), file);
            Assert.That(roots.Select(d => d.Cause.Id), Has.None.EqualTo(Causes.Unknown.Id), $"{file}: {ReportWriters.Text(ours)}");
        }

        var dll = ours.Differences.Where(d => d.IsRootCause && d.Artifact == "source-root/bin/Release/net10.0/BuildTimestamp.dll").ToList();
        Assert.That(dll.Select(d => d.Cause.Id), Does.Contain(Causes.Timestamp.Id), ReportWriters.Text(ours));
    }
}

using SecureBuild.Core.Reproducibility;
using SecureBuild.Reproducibility.Tests.Infrastructure;

namespace SecureBuild.Reproducibility.Tests;

/// <summary>Packages and zips (entries, order, timestamps, recursion), JSON, text, the byte fallback and directory trees.</summary>
public sealed class PackageAndTextDiffTests
{
    private const string Plain = "namespace S; public static class C { public static string M() => \"hello\"; }";

    private static DiffReport Diff(string name, byte[] left, byte[] right) => ArtifactDiffer.CompareContents(name, left, right);

    private static byte[] Nuspec(string commit) => Zips.Text($"<?xml version=\"1.0\"?>\n<package>\n  <metadata>\n    <id>S</id>\n    <version>1.0.0</version>\n    <repository type=\"git\" commit=\"{commit}\" />\n  </metadata>\n</package>\n");

    [Test]
    public void Package_entry_timestamps_are_named_and_nothing_else()
    {
        var dll = Compiler.Compile("/s", Plain).Dll;
        var a = Zips.Create(new[] { ("S.nuspec", Nuspec("a1b2c3d"), Zips.Epoch1), ("lib/net8.0/S.dll", dll, Zips.Epoch1) });
        var b = Zips.Create(new[] { ("S.nuspec", Nuspec("a1b2c3d"), Zips.Epoch2), ("lib/net8.0/S.dll", dll, Zips.Epoch2) });
        var report = Diff("S.1.0.0.nupkg", a, b);
        var only = report.Differences.Single();
        Assert.That(only.Cause.Id, Is.EqualTo(Causes.ZipTimestamps.Id));
        Assert.That(only.Aspect, Does.Contain("2 of 2 entries"));
        Assert.That(report.Artifacts.Single(x => x.Path == "S.1.0.0.nupkg!/lib/net8.0/S.dll").Status, Is.EqualTo(ArtifactStatus.Identical));
    }

    [Test]
    public void A_package_packed_on_a_branch_and_on_a_detached_head_of_one_commit_names_the_branch_and_one_without_git_names_that()
    {
        const string commit = "0123456789abcdef0123456789abcdef01234567";
        byte[] Package(string repository) => Zips.Create(new[] { ("S.nuspec", Zips.Text($"<?xml version=\"1.0\"?>\n<package>\n  <metadata>\n    <id>S</id>\n    <version>1.0.0</version>\n{repository}  </metadata>\n</package>\n"), Zips.Epoch1) });
        var branch = Package($"    <repository type=\"git\" url=\"https://github.com/o/r\" branch=\"main\" commit=\"{commit}\" />\n");
        var detached = Package($"    <repository type=\"git\" url=\"https://github.com/o/r\" commit=\"{commit}\" />\n");
        var noGit = Package("");

        var report = Diff("S.1.0.0.nupkg", branch, detached);
        var root = report.Differences.Single(d => d.IsRootCause);
        Assert.That(root.Cause.Id, Is.EqualTo(Causes.GitBranch.Id), ReportWriters.Text(report));
        Assert.That(ReportWriters.Text(report), Does.Contain("detached HEAD").And.Not.Contain("different-commit"));

        var archive = Diff("S.1.0.0.nupkg", detached, noGit);
        Assert.That(archive.Differences.Single(d => d.IsRootCause).Cause.Id, Is.EqualTo(Causes.NoGitRepository.Id), ReportWriters.Text(archive));
        Assert.That(ReportWriters.Text(archive), Does.Contain("without a git repository"));
    }

    [Test]
    public void Package_entries_are_compared_recursively_and_copies_of_one_assembly_are_reported_once()
    {
        var a = Compiler.Compile("/build/one", Plain);
        var b = Compiler.Compile("/elsewhere/two", Plain);
        using var left = new TempDirectory();
        using var right = new TempDirectory();
        foreach (var (dir, c) in new[] { (left, a), (right, b) })
        {
            dir.Write("bin/Release/net8.0/S.dll", c.Dll);
            dir.Write("bin/Release/net8.0/S.pdb", c.Pdb);
            dir.Write("bin/Release/S.1.0.0.nupkg", Zips.Create(new[] { ("S.nuspec", Nuspec("a1b2c3d"), Zips.Epoch1), ("lib/net8.0/S.dll", c.Dll, Zips.Epoch1) }));
        }

        var report = ArtifactDiffer.Compare(left.Path, right.Path);
        var roots = report.Differences.Where(d => d.IsRootCause).ToList();
        Assert.That(roots.Select(d => d.Artifact).Distinct(), Is.EquivalentTo(new[] { "bin/Release/net8.0/S.dll", "bin/Release/net8.0/S.pdb" }), ReportWriters.Text(report));
        var packaged = report.Differences.Where(d => d.Artifact == "bin/Release/S.1.0.0.nupkg!/lib/net8.0/S.dll").ToList();
        Assert.That(packaged, Is.Not.Empty);
        Assert.That(packaged.All(d => !d.IsRootCause), Is.True);
        Assert.That(packaged.Single(d => d.Aspect.Contains("CodeView PDB path")).ConsequenceOf, Is.EqualTo("same file as bin/Release/net8.0/S.dll"));
    }

    [Test]
    public void The_assemblys_pdb_id_points_to_the_pdbs_own_differences()
    {
        var a = Compiler.Compile("/s", Plain);
        var b = Compiler.Compile("/s", Plain.Replace("\"hello\"", "  \"hello\""));
        using var left = new TempDirectory();
        using var right = new TempDirectory();
        left.Write("bin/S.dll", a.Dll);
        left.Write("bin/S.pdb", a.Pdb);
        right.Write("bin/S.dll", b.Dll);
        right.Write("bin/S.pdb", b.Pdb);
        var report = ArtifactDiffer.Compare(left.Path, right.Path);
        var pdbId = report.Differences.Single(d => d.Artifact == "bin/S.dll" && d.Aspect.StartsWith("PE debug directory: PDB id", StringComparison.Ordinal));
        Assert.That(pdbId.ConsequenceOf, Is.EqualTo("bin/S.pdb"), ReportWriters.Text(report));
        Assert.That(report.Differences.Where(d => d.IsRootCause).Select(d => d.Cause.Id), Does.Contain(Causes.SourceContent.Id));
    }

    [Test]
    public void Entry_order_psmdcp_name_signature_and_missing_entries_are_each_named()
    {
        var a = Zips.Create(new[]
        {
            ("a.txt", Zips.Text("a"), Zips.Epoch1), ("b.txt", Zips.Text("b"), Zips.Epoch1),
            ("package/services/metadata/core-properties/0123456789abcdef0123456789abcdef.psmdcp", Zips.Text("p"), Zips.Epoch1),
            (".signature.p7s", Zips.Text("sig"), Zips.Epoch1),
        });
        var b = Zips.Create(new[]
        {
            ("b.txt", Zips.Text("b"), Zips.Epoch1), ("a.txt", Zips.Text("a"), Zips.Epoch1),
            ("package/services/metadata/core-properties/fedcba9876543210fedcba9876543210.psmdcp", Zips.Text("p"), Zips.Epoch1),
        });
        var causes = Diff("S.nupkg", a, b).Differences.Select(d => d.Cause.Id).ToList();
        Assert.That(causes, Is.EquivalentTo(new[] { Causes.PsmdcpName.Id, Causes.PackageSignature.Id, Causes.ZipOrder.Id }));
    }

    [Test]
    public void A_nuspec_with_another_commit_is_a_different_commit()
    {
        var a = Zips.Create(new[] { ("S.nuspec", Nuspec("0123456789abcdef0123456789abcdef01234567"), Zips.Epoch1) });
        var b = Zips.Create(new[] { ("S.nuspec", Nuspec("89abcdef0123456789abcdef0123456789abcdef"), Zips.Epoch1) });
        var report = Diff("S.nupkg", a, b);
        var d = report.Differences.Single();
        Assert.That(d.Artifact, Is.EqualTo("S.nupkg!/S.nuspec"));
        Assert.That(d.Cause.Id, Is.EqualTo(Causes.Commit.Id));
        Assert.That(d.Detail, Does.Contain("-    <repository type=\"git\" commit=\"0123"));
    }

    [Test]
    public void Deps_json_differences_are_reported_by_json_path()
    {
        var a = Zips.Text("{\"runtimeTarget\":{\"name\":\".NETCoreApp,Version=v8.0\"},\"libraries\":{\"Newtonsoft.Json/13.0.1\":{\"type\":\"package\"}}}");
        var b = Zips.Text("{\"runtimeTarget\":{\"name\":\".NETCoreApp,Version=v8.0\"},\"libraries\":{\"Newtonsoft.Json/13.0.3\":{\"type\":\"package\"}}}");
        var report = Diff("App.deps.json", a, b);
        var d = report.Differences.Single();
        Assert.That(d.Aspect, Is.EqualTo("members of $.libraries"));
        Assert.That((d.Left, d.Right), Is.EqualTo(("Newtonsoft.Json/13.0.1", "Newtonsoft.Json/13.0.3")));
        Assert.That(d.Cause.Id, Is.EqualTo(Causes.Version.Id));
    }

    [Test]
    public void Json_arrays_in_another_order_are_ordering()
    {
        var report = Diff("x.json", Zips.Text("{\"files\":[\"a\",\"b\",\"c\"]}"), Zips.Text("{\"files\":[\"c\",\"a\",\"b\"]}"));
        Assert.That(report.Differences.Single().Cause.Id, Is.EqualTo(Causes.Ordering.Id));
    }

    [Test]
    public void Text_lines_in_another_order_are_ordering_and_changed_lines_are_classified_one_by_one()
    {
        Assert.That(Diff("list.txt", Zips.Text("one\ntwo\nthree\n"), Zips.Text("three\none\ntwo\n")).Differences.Single().Cause.Id, Is.EqualTo(Causes.Ordering.Id));
        var report = Diff("info.txt", Zips.Text("name: x\npath: /home/a/src/x.cs\nkeep\nid: 3f2504e0-4f89-11d3-9a0c-0305e82c3301\n"),
            Zips.Text("name: x\npath: /tmp/b/src/x.cs\nkeep\nid: 9a7b1c22-0d4e-4b6a-8c1e-5f3a2b7d9e10\n"));
        Assert.That(report.Differences.Select(d => (d.Aspect, d.Cause.Id)), Is.EqualTo(new[] { ("line 2", Causes.PathInContent.Id), ("line 4", Causes.RandomGuid.Id) }));
    }

    [Test]
    public void Binary_files_fall_back_to_bytes_and_read_the_text_around_the_first_difference()
    {
        var a = new byte[] { 0, 1, 2, 0 }.Concat(Zips.Text("stamp 2024-01-01 10:00:00")).ToArray();
        var b = new byte[] { 0, 1, 2, 0 }.Concat(Zips.Text("stamp 2024-01-01 10:00:07")).ToArray();
        var d = Diff("data.bin", a, b).Differences.Single();
        Assert.That(d.Aspect, Does.StartWith("bytes from offset 0x1c"));
        Assert.That(d.Cause.Id, Is.EqualTo(Causes.Timestamp.Id));
        Assert.That(Diff("data.bin", new byte[] { 0, 1 }, new byte[] { 0, 2 }).Differences.Single().Cause.Id, Is.EqualTo(Causes.Unknown.Id));
    }

    [Test]
    public void Files_in_one_tree_only_and_skipped_directories_are_reported()
    {
        using var left = new TempDirectory();
        using var right = new TempDirectory();
        left.Write("bin/a.txt", "same");
        right.Write("bin/a.txt", "same");
        left.Write("bin/extra.txt", "x");
        left.Write("bin/attestations/step.link", "1");
        right.Write("bin/attestations/step.link", "2");
        var options = new DiffOptions();
        options.SkipDirectoryNames["attestations/"] = "signed per build";
        var report = ArtifactDiffer.Compare(left.Path, right.Path, options);
        Assert.That(report.Differences.Single().Cause.Id, Is.EqualTo(Causes.OnlyInOneBuild.Id));
        Assert.That(report.Artifacts.Single(a => a.Path == "bin/extra.txt").Status, Is.EqualTo(ArtifactStatus.OnlyLeft));
        Assert.That(report.Skipped.Single().Key, Is.EqualTo("bin/attestations/"));
    }

    [Test]
    public void Comparing_a_file_with_a_directory_is_a_usage_error()
    {
        using var dir = new TempDirectory();
        var file = dir.Write("f.txt", "x");
        Assert.Throws<ArgumentException>(() => ArtifactDiffer.Compare(file, dir.Path));
        Assert.Throws<ArgumentException>(() => ArtifactDiffer.Compare(file, Path.Combine(dir.Path, "missing")));
    }
}

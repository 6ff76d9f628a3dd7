using SecureBuild.Core.Recording;
using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Recording;

public sealed class RepositoryRootTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory("reporoot");

    [TearDown]
    public void TearDown() => _dir.Dispose();

    private void AssumeNoMarkerAbove(string directory)
    {
        for (var d = new DirectoryInfo(directory).Parent; d is not null; d = d.Parent)
        {
            Assume.That(Directory.Exists(Path.Combine(d.FullName, ".git")) || File.Exists(Path.Combine(d.FullName, ".git")) ||
                        File.Exists(Path.Combine(d.FullName, "global.json")), Is.False,
                $"{d.FullName} holds .git or global.json, so the temp directory is not a neutral place for this test");
        }
    }

    [Test]
    public void A_git_directory_marks_the_root()
    {
        _dir.CreateDirectory("repo/.git");
        var project = _dir.CreateDirectory("repo/src/App");

        Assert.That(RepositoryRoot.Find(project), Is.EqualTo(_dir.Path("repo")));
    }

    [Test]
    public void A_git_file_marks_the_root_of_a_worktree_or_submodule()
    {
        _dir.CreateDirectory("super/.git");
        _dir.Write("super/modules/sub/.git", "gitdir: ../../.git/modules/sub\n");
        var project = _dir.CreateDirectory("super/modules/sub/src/Lib");

        Assert.That(RepositoryRoot.Find(project), Is.EqualTo(_dir.Path("super/modules/sub")));
    }

    [Test]
    public void Git_wins_over_a_nearer_global_json()
    {
        _dir.CreateDirectory("repo/.git");
        _dir.Write("repo/src/global.json", "{}");
        var project = _dir.CreateDirectory("repo/src/App");

        Assert.That(RepositoryRoot.Find(project), Is.EqualTo(_dir.Path("repo")));
    }

    [Test]
    public void Without_git_the_nearest_global_json_marks_the_root()
    {
        AssumeNoMarkerAbove(_dir.FullPath);
        _dir.Write("ws/global.json", "{}");
        _dir.Write("ws/src/global.json", "{}");
        var project = _dir.CreateDirectory("ws/src/App");

        Assert.That(RepositoryRoot.Find(project), Is.EqualTo(_dir.Path("ws/src")));
    }

    [Test]
    public void Without_any_marker_the_start_directory_is_the_root()
    {
        AssumeNoMarkerAbove(_dir.FullPath);
        var project = _dir.CreateDirectory("plain/App");

        Assert.That(RepositoryRoot.Find(project), Is.EqualTo(project));
    }

    [Test]
    public void The_start_directory_itself_may_be_the_root()
    {
        _dir.CreateDirectory("repo/.git");

        Assert.That(RepositoryRoot.Find(_dir.Path("repo")), Is.EqualTo(_dir.Path("repo")));
    }

    [Test]
    public void FindUpward_finds_the_names_case_insensitively_from_the_start_up_to_and_including_the_root()
    {
        var root = _dir.CreateDirectory("repo");
        _dir.Write("nuget.config", "above the root: never");
        _dir.Write("repo/NuGet.Config", "root");
        _dir.Write("repo/global.json", "root");
        _dir.Write("repo/src/nuget.config", "middle");
        _dir.Write("repo/src/App/NUGET.CONFIG", "project");
        _dir.Write("repo/src/App/other.txt", "not asked for");
        _dir.Write("repo/src/App/sub/nuget.config", "below the start: never");
        var project = _dir.Path("repo/src/App");

        var found = RepositoryRoot.FindUpward(project, root, new[] { "nuget.config", "global.json" }).ToList();

        Assert.That(found, Is.EquivalentTo(new[]
        {
            _dir.Path("repo/src/App/NUGET.CONFIG"),
            _dir.Path("repo/src/nuget.config"),
            _dir.Path("repo/NuGet.Config"),
            _dir.Path("repo/global.json"),
        }));
        Assert.That(found.Take(1), Is.EqualTo(new[] { _dir.Path("repo/src/App/NUGET.CONFIG") }), "nearest first");
    }

    [Test]
    public void FindUpward_accepts_a_root_with_a_trailing_separator()
    {
        var root = _dir.CreateDirectory("repo");
        _dir.Write("global.json", "above");
        _dir.Write("repo/global.json", "root");

        var found = RepositoryRoot.FindUpward(_dir.CreateDirectory("repo/a"), root + Path.DirectorySeparatorChar, new[] { "global.json" });

        Assert.That(found, Is.EqualTo(new[] { _dir.Path("repo/global.json") }));
    }

    [Test]
    public void FindUpward_skips_directories_that_do_not_exist()
    {
        var root = _dir.CreateDirectory("repo");
        _dir.Write("repo/global.json", "root");

        var found = RepositoryRoot.FindUpward(_dir.Path("repo/not/yet/created"), root, new[] { "global.json" });

        Assert.That(found, Is.EqualTo(new[] { _dir.Path("repo/global.json") }));
    }

    [Test]
    public void FindUpward_finds_nothing_when_the_start_is_outside_the_root()
    {
        var root = _dir.CreateDirectory("repo");
        _dir.Write("repo/nuget.config", "root");
        _dir.Write("other/nuget.config", "outside");
        _dir.Write("nuget.config", "above");

        Assert.That(RepositoryRoot.FindUpward(_dir.CreateDirectory("other"), root, new[] { "nuget.config" }), Is.Empty);
    }

    [Test]
    public void FindUpward_does_not_treat_a_sibling_whose_name_starts_with_the_root_as_inside_it()
    {
        var root = _dir.CreateDirectory("repo");
        _dir.Write("repo/nuget.config", "root");
        _dir.Write("repo-fork/nuget.config", "a sibling directory, not below the root");

        Assert.That(RepositoryRoot.FindUpward(_dir.CreateDirectory("repo-fork"), root, new[] { "nuget.config" }), Is.Empty);
    }
}

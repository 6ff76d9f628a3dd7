using SecureBuild.Tasks.Tests.Infrastructure;

namespace SecureBuild.Tasks.Tests.Tasks;

/// <summary>The package timestamp's source: HEAD's committer time from git, else the fallback (1980-01-01).</summary>
[NonParallelizable]
public class CommitTimeTaskTests : TaskTestBase
{
    [Test]
    public void Gives_the_committer_time_of_HEAD_and_the_fallback_outside_a_repository_or_before_the_first_commit()
    {
        Directory.Delete(Dir.Path("repo/.git"));
        Assert.That(Run(ProjectDir), Is.EqualTo("315532800"), "not a repository (the temporary folder is none either)");
        Git("init", "-q", ".");
        Assert.That(Run(ProjectDir), Is.EqualTo("315532800"), "no commit yet");

        var saved = Environment.GetEnvironmentVariable("GIT_COMMITTER_DATE");
        Environment.SetEnvironmentVariable("GIT_COMMITTER_DATE", "1700000000 +0000");
        try
        {
            Git("add", "-A");
            Git("-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "init");
        }
        finally
        {
            Environment.SetEnvironmentVariable("GIT_COMMITTER_DATE", saved);
        }
        Assert.That(Run(ProjectDir), Is.EqualTo("1700000000"));
    }

    private static string Run(string directory)
    {
        var engine = new FakeBuildEngine();
        var task = new CommitTime { BuildEngine = engine, Directory = directory, Fallback = "315532800" };
        Assert.That(task.Execute(), Is.True, engine.Log);
        return task.Seconds;
    }
}

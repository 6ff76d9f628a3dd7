using SecureBuild.Core.Processes;
using SecureBuild.TestSupport;

namespace SecureBuild.Inspection.Tests;

/// <summary>The HTML report, opened in a real browser (Debian's chromium, installed by build/install-chromium.sh).</summary>
public sealed class HtmlReportTests
{
    [Test]
    public void The_html_report_shows_the_verdict_and_findings_in_chromium_and_a_crafted_command_stays_text()
    {
        var repo = RepositoryRoot.Path;
        var runner = new ProcessRunner();
        var install = runner.Run(new ProcessSpec("bash", new[] { Path.Combine(repo, "build", "install-chromium.sh") }, repo) { Timeout = TimeSpan.FromMinutes(10), CaptureStandardOutput = true });
        Assert.That(install.ExitCode, Is.EqualTo(0), "chromium is needed to test the HTML report and could not be installed (build/install-chromium.sh):\n" + install.Output);
        var chromium = install.StandardOutput.Trim().Split('\n').Last().Trim();

        using var temp = new TempDirectory();
        var package = temp.Write("Evil.1.0.0.nupkg", Packages.Zip(
            ("buildTransitive/Evil.targets", Packages.Targets("<Exec Command=\"&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;b id='injected'&gt;x&lt;/b&gt;\" />"))));
        var (exit, html, stderr) = Cli.Run("inspect", package, "--links", BuiltLibrary.Shared.Links, "--format", "html");
        Assert.That(exit, Is.EqualTo(1), stderr);
        var page = temp.Write("report.html", Packages.Text(html));

        var profile = Path.Combine(temp.Path, "chromium-profile");
        var common = new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + profile };
        var dom = runner.Run(new ProcessSpec(chromium, common.Concat(new[] { "--dump-dom", new Uri(page).AbsoluteUri }), temp.Path) { Timeout = TimeSpan.FromMinutes(2), CaptureStandardOutput = true });
        Assert.That(dom.ExitCode, Is.EqualTo(0), dom.Output);
        var text = dom.StandardOutput;
        Assert.That(text, Does.Match("id=\"verdict\"[^>]*>FAIL — 1 error\\(s\\)"));
        Assert.That(text, Does.Contain("data-code=\"SB4301\"").And.Contain("buildTransitive/Evil.targets"));
        Assert.That(text, Does.Contain("data-code=\"SB4310\""));
        Assert.That(text, Does.Contain("&lt;script&gt;document.title='pwned'&lt;/script&gt;"), "the command is shown as text");
        Assert.That(text, Does.Not.Contain("id=\"injected\"").And.Not.Contain("<title>pwned"), "nothing from the package became markup or ran");

        var png = Path.Combine(temp.Path, "report.png");
        var shot = runner.Run(new ProcessSpec(chromium, common.Concat(new[] { "--window-size=1280,1000", "--screenshot=" + png, new Uri(page).AbsoluteUri }), temp.Path) { Timeout = TimeSpan.FromMinutes(2) });
        Assert.That(shot.ExitCode, Is.EqualTo(0), shot.Output);
        Assert.That(new FileInfo(png).Length, Is.GreaterThan(10_000), "the screenshot of the report is (nearly) empty");
    }
}

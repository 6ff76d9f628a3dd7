using System.Text.RegularExpressions;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Reproducibility.Tests.Integration;

/// <summary>
/// One `securebuild rebuild` of samples/NonDeterministic (real builds, every variation): each project is found
/// different for the reason it was written to show, the HTML report shows it in a real browser, and the signed
/// attestation says not-reproducible, and no rebuild link is signed for bytes the rebuilder could not reproduce.
/// </summary>
public sealed class NonDeterministicSampleTests
{
    private string _sample = "";
    private string _reportDir = "";
    private (int Exit, string Out, string Err) _run;
    private JsonMap _report = new();
    private PublicKey _key = null!;

    [OneTimeSetUp]
    public void RebuildOnce()
    {
        _sample = Feed.CopySample("NonDeterministic");
        _reportDir = Path.Combine(_sample, "report");
        var key = SigningKey.Generate(KeyType.Ed25519);
        var keyPath = Path.Combine(Feed.WorkRoot, "nd-" + Guid.NewGuid().ToString("N") + ".key");
        File.WriteAllText(keyPath, key.ExportPrivate());
        _key = key.Public;
        _run = Feed.Securebuild(_sample, null, "rebuild", "NonDeterministic.sln", "--command", "build", "--report", _reportDir, "--format", "json", "--key", keyPath,
            "--link-key", keyPath, "--link-dir", Path.Combine(_sample, "links"));
        Assert.That(_run.Exit, Is.EqualTo(1), $"the samples are not reproducible, so exit 1\n{_run.Err}");
        _report = (JsonMap)JsonParser.Parse(_run.Out);
    }

    [Test]
    public void A_rebuilder_signs_no_rebuild_link_for_builds_that_differ()
    {
        Assert.That(_run.Err, Does.Contain("SB5272").And.Contain("no rebuild link was written"));
        Assert.That(Directory.Exists(Path.Combine(_sample, "links")) ? Directory.GetFiles(Path.Combine(_sample, "links")) : Array.Empty<string>(), Is.Empty);
    }

    private IEnumerable<JsonMap> RootDifferences(string project) =>
        ((JsonList)_report["differences"]).Cast<JsonMap>()
            .Where(d => ((JsonBool)d["root"]).Value && ((JsonString)d["artifact"]).Value.StartsWith(project + "/bin/", StringComparison.Ordinal));

    private static string CauseId(JsonMap d) => ((JsonString)((JsonMap)d["cause"])["id"]).Value;

    [TestCase("AbsolutePath", "absolute-path-in-code", "/AbsolutePath/Log.cs")]
    [TestCase("BuildTimestamp", "build-timestamp", "built at ")]
    [TestCase("RandomGuid", "random-guid", "build-id: ")]
    [TestCase("UnorderedGlob", "ordering", "alpha")]
    [TestCase("EnvironmentValue", "environment-value", "builder-a")]
    public void Each_sample_is_detected_with_its_cause(string project, string cause, string valueFragment)
    {
        var roots = RootDifferences(project).ToList();
        Assert.That(roots, Is.Not.Empty, $"{project}: no root difference\n{_run.Out}");
        var matching = roots.Where(d => CauseId(d) == cause).ToList();
        Assert.That(matching, Is.Not.Empty, $"{project}: causes found: {string.Join(", ", roots.Select(CauseId))}");
        Assert.That(matching.Any(d => d["left"] is JsonString s && s.Value.Contains(valueFragment)), Is.True,
            $"{project}: the difference shows the value: {string.Join(" | ", matching.Select(d => d["left"].ToString()))}");
        Assert.That(roots.Select(CauseId), Has.None.EqualTo("unexplained"), project);
    }

    [Test]
    public void The_environment_value_names_the_variable()
    {
        var env = RootDifferences("EnvironmentValue").First(d => CauseId(d) == "environment-value");
        Assert.That(((JsonString)((JsonMap)env["cause"])["title"]).Value, Does.Contain("USER"));
    }

    [Test]
    public void The_signed_attestation_says_not_reproducible()
    {
        var line = File.ReadAllLines(Path.Combine(_reportDir, "reproducibility.intoto.jsonl")).Single();
        var envelope = DsseEnvelope.Parse(line);
        Assert.That(envelope.Verify(_key, DsseEnvelope.InTotoPayloadType).Verified, Is.True);
        var statement = InTotoStatement.Parse(envelope.Payload);
        Assert.That(((JsonString)statement.Predicate!["verdict"]).Value, Is.EqualTo("not-reproducible"));
        var dll = statement.Subjects.Single(s => s.Name == "BuildTimestamp/bin/Release/net10.0/BuildTimestamp.dll");
        Assert.That(((JsonBool)dll.Annotations!["reproduced"]).Value, Is.False);
    }

    [Test]
    public void The_html_report_shows_the_differences_and_causes_in_a_real_browser()
    {
        var install = Feed.Process("bash", new[] { Path.Combine(Feed.RepoRoot, "build", "install-chromium.sh") }, Feed.RepoRoot, timeout: TimeSpan.FromMinutes(10));
        Assert.That(install.ExitCode, Is.EqualTo(0), "chromium is needed to test the HTML report and could not be installed (build/install-chromium.sh):\n" + install.Output);
        var chromium = install.Output.Trim().Split('\n').Last().Trim();
        Assert.That(File.Exists(chromium), Is.True, $"build/install-chromium.sh printed '{chromium}', which does not exist");

        var html = Path.Combine(_reportDir, "report.html");
        var profile = Path.Combine(Feed.WorkRoot, "chromium-" + Guid.NewGuid().ToString("N"));
        var common = new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir=" + profile };
        var dom = Feed.Process(chromium, common.Concat(new[] { "--dump-dom", new Uri(html).AbsoluteUri }), _sample, timeout: TimeSpan.FromMinutes(2));
        Assert.That(dom.ExitCode, Is.EqualTo(0), dom.Output);
        var text = dom.Output;
        Assert.That(text, Does.Match("id=\"verdict\"[^>]*>Different — \\d+ of \\d+ files differ"));
        foreach (var cause in new[] { "absolute-path-in-code", "build-timestamp", "random-guid", "ordering", "environment-value" })
        {
            Assert.That(text, Does.Contain($"class=\"cause\" data-cause=\"{cause}\""), cause);
            Assert.That(text, Does.Contain($"class=\"difference root\" data-cause=\"{cause}\""), cause);
        }

        Assert.That(text, Does.Contain("BuildTimestamp/bin/Release/net10.0/BuildTimestamp.dll"));
        Assert.That(Regex.Matches(text, "<strong>Fix:</strong>").Count, Is.GreaterThanOrEqualTo(5));

        var png = Path.Combine(Feed.WorkRoot, "report-" + Guid.NewGuid().ToString("N") + ".png");
        var shot = Feed.Process(chromium, common.Concat(new[] { "--window-size=1280,2000", "--screenshot=" + png, new Uri(html).AbsoluteUri }), _sample, timeout: TimeSpan.FromMinutes(2));
        Assert.That(shot.ExitCode, Is.EqualTo(0), shot.Output);
        Assert.That(new FileInfo(png).Length, Is.GreaterThan(20_000), "the screenshot of the report is (nearly) empty");
    }
}

using SecureBuild.Core.Json;
using SecureBuild.Core.Reproducibility;
using SecureBuild.Reproducibility.Tests.Infrastructure;

namespace SecureBuild.Reproducibility.Tests;

/// <summary>The value classifier, variation parsing, and the three report formats.</summary>
public sealed class ClassifierAndReportTests
{
    [TestCase("/home/alice/src/App/Program.cs", "/build/agent/_work/3/s/App/Program.cs", "absolute-path")]
    [TestCase(@"C:\src\App\Program.cs", @"D:\a\1\s\App\Program.cs", "absolute-path")]
    [TestCase("built on 2024-01-01", "built on 2024-01-02", "build-timestamp")]
    [TestCase("ts=1718000000", "ts=1718000123", "build-timestamp")]
    [TestCase("{3F2504E0-4F89-11D3-9A0C-0305E82C3301}", "{9A7B1C22-0D4E-4B6A-8C1E-5F3A2B7D9E10}", "random-guid")]
    [TestCase("a;b;c", "c;a;b", "ordering")]
    [TestCase("1.0.0+abcdef1", "1.0.0+1234567", "different-commit")]
    [TestCase("red", "blue", "unexplained")]
    // A branch checkout vs a detached HEAD of one commit (the nuspec's repository element): not a different commit.
    [TestCase("<repository type=\"git\" url=\"https://github.com/o/r\" branch=\"main\" commit=\"0123456789abcdef0123456789abcdef01234567\" />",
        "<repository type=\"git\" url=\"https://github.com/o/r\" commit=\"0123456789abcdef0123456789abcdef01234567\" />", "git-branch")]
    [TestCase("<repository type=\"git\" branch=\"main\" commit=\"0123456789abcdef0123456789abcdef01234567\" />",
        "<repository type=\"git\" branch=\"feature/x\" commit=\"0123456789abcdef0123456789abcdef01234567\" />", "git-branch")]
    [TestCase("<repository type=\"git\" branch=\"main\" commit=\"0123456789abcdef0123456789abcdef01234567\" />",
        "<repository type=\"git\" commit=\"fedcba9876543210fedcba9876543210fedcba98\" />", "different-commit")]
    [TestCase("<repository type=\"git\" commit=\"0123456789abcdef0123456789abcdef01234567\" />",
        "<repository type=\"git\" commit=\"fedcba9876543210fedcba9876543210fedcba98\" />", "different-commit")]
    // One build without .git: no +commit in the version, no repository element in the nuspec, no Source Link.
    [TestCase("1.0.0+0123456789abcdef0123456789abcdef01234567", "1.0.0", "no-git-repository")]
    [TestCase("1.0.0", "1.0.0+0123456789abcdef0123456789abcdef01234567", "no-git-repository")]
    [TestCase("    <repository type=\"git\" url=\"https://github.com/o/r\" commit=\"0123456789abcdef0123456789abcdef01234567\" />", "", "no-git-repository")]
    [TestCase("{\"documents\":{\"/_/*\":\"https://raw.githubusercontent.com/o/r/0123456789abcdef0123456789abcdef01234567/*\"}}", "", "no-git-repository")]
    [TestCase("1.0.0+0123456789abcdef0123456789abcdef01234567", "1.0.0-beta", "unexplained")]
    public void Values_are_classified(string left, string right, string cause) =>
        Assert.That(new ValueClassifier().Classify(left, right, Causes.Unknown).Id, Is.EqualTo(cause));

    [Test]
    public void A_known_variation_wins_and_a_build_path_variation_is_a_path()
    {
        var classifier = new ValueClassifier(new[]
        {
            new KnownVariation("build path", "/tmp/w/a/src", "/tmp/w/rebuild-b/nested/source", Causes.PathInContent.Id),
            new KnownVariation("TZ", "Etc/GMT+12", "Etc/GMT-14"),
        });
        Assert.That(classifier.Classify("file /tmp/w/a/src/x.cs", "file /tmp/w/rebuild-b/nested/source/x.cs", Causes.Unknown, Causes.PathInCode).Id, Is.EqualTo(Causes.PathInCode.Id));
        var tz = classifier.Classify("zone Etc/GMT+12", "zone Etc/GMT-14", Causes.Unknown);
        Assert.That(tz.Id, Is.EqualTo(Causes.Environment.Id));
        Assert.That(tz.Title, Does.Contain("TZ"));
        Assert.That(classifier.Classify(null, "x", Causes.Unknown).Id, Is.EqualTo(Causes.Unknown.Id));
    }

    [Test]
    public void Variation_lists_parse_like_reprotest()
    {
        Assert.That(Variations.Parse(null), Is.EquivalentTo(Variations.All));
        Assert.That(Variations.Parse("all,-home,-user"), Does.Not.Contain(Variations.Home).And.Not.Contain(Variations.User));
        Assert.That(Variations.Parse("none,+build_path,tz"), Is.EquivalentTo(new[] { Variations.BuildPath, Variations.TimeZone }));
        Assert.Throws<ArgumentException>(() => Variations.Parse("all,-kernelz"));
    }

    private static DiffReport SampleReport()
    {
        var a = Compiler.Compile("/build/one", "namespace S; public static class C { public static string M() => \"<b>&\"; }");
        var b = Compiler.Compile("/build/two", "namespace S; public static class C { public static string M() => \"<b>&\"; }");
        return ArtifactDiffer.CompareContents("S.dll", a.Dll, b.Dll, new DiffOptions { Variations = new[] { new KnownVariation("TZ", "Etc/GMT+12", "Etc/GMT-14") } });
    }

    [Test]
    public void The_text_report_lists_root_causes_with_fixes_before_consequences()
    {
        var text = ReportWriters.Text(SampleReport());
        Assert.That(text, Does.StartWith("DIFFERENT:"));
        Assert.That(text.IndexOf("Root causes:", StringComparison.Ordinal), Is.LessThan(text.IndexOf("follows from:", StringComparison.Ordinal)));
        Assert.That(text, Does.Contain("[absolute-path-codeview]").And.Contain("fix: Set ContinuousIntegrationBuild=true"));
    }

    [Test]
    public void The_json_report_parses_and_carries_every_difference()
    {
        var report = SampleReport();
        var json = (JsonMap)JsonParser.Parse(ReportWriters.JsonText(report));
        Assert.That(((JsonString)json["schema"]).Value, Is.EqualTo(ReportWriters.JsonSchema));
        Assert.That(((JsonBool)json["identical"]).Value, Is.False);
        Assert.That(((JsonList)json["differences"]).Count, Is.EqualTo(report.Differences.Count));
        var first = (JsonMap)((JsonList)json["differences"])[0];
        Assert.That(((JsonBool)first["root"]).Value, Is.True);
        Assert.That(((JsonString)((JsonMap)first["cause"])["id"]).Value, Is.EqualTo(Causes.CodeViewPath.Id));
        Assert.That(((JsonList)json["variations"]).Count, Is.EqualTo(1));
    }

    [Test]
    public void The_html_report_is_self_contained_and_escapes_values()
    {
        var html = ReportWriters.Html(SampleReport());
        Assert.That(html, Does.StartWith("<!DOCTYPE html>"));
        Assert.That(html, Does.Not.Match("(src|href)\\s*=").And.Not.Contain("<script").And.Not.Contain("@import").And.Not.Contain("url("));
        Assert.That(html, Does.Contain("id=\"verdict\" class=\"verdict bad\"").And.Contain("data-cause=\"absolute-path-codeview\""));
        var identical = ReportWriters.Html(ArtifactDiffer.CompareContents("x.txt", Zips.Text("a"), Zips.Text("a")));
        Assert.That(identical, Does.Contain("class=\"verdict ok\""));
        var escaped = ReportWriters.Html(ArtifactDiffer.CompareContents("x.txt", Zips.Text("<script>alert(1)</script>"), Zips.Text("<b>")));
        Assert.That(escaped, Does.Not.Contain("<script>alert").And.Contain("&lt;script&gt;"));
    }
}

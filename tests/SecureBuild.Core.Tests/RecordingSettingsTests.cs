using SecureBuild.Core.Recording;

namespace SecureBuild.Core.Tests;

/// <summary>The project's recording settings as the SDK's one settings item carries them (metadata by name).</summary>
public sealed class RecordingSettingsTests
{
    [Test]
    public void Every_named_setting_is_read_trimmed_and_a_missing_one_is_empty()
    {
        var metadata = new Dictionary<string, string>
        {
            ["ProjectDirectory"] = " /src/App ", ["LinkDirectory"] = "/src/App/bin/attestations/", ["ExcludeDirectories"] = "/a/; ;/b/",
            ["RequireSigningKey"] = "True", ["Signing"] = "keyless", ["RekorUrl"] = "http://127.0.0.1:1", ["SdkVersion"] = "10.0.100",
        };

        var settings = RecordingSettings.FromMetadata(n => metadata.TryGetValue(n, out var v) ? v : null);

        Assert.That(settings.ProjectDirectory, Is.EqualTo("/src/App"));
        Assert.That(settings.LinkDirectory, Is.EqualTo("/src/App/bin/attestations/"));
        Assert.That(settings.ExcludeDirectories, Is.EqualTo(new[] { "/a/", "/b/" }));
        Assert.That(settings.RequireSigningKey, Is.True);
        Assert.That(settings.SigningKey, Is.Empty);
        Assert.That(settings.SdkVersion, Is.EqualTo("10.0.100"));
        Assert.That(settings.Values.Keys, Is.EquivalentTo(RecordingSettings.Names));
        Assert.That(settings.Signing.Select(s => s.Key), Is.EqualTo(RecordingSettings.SigningNames));
        Assert.That(settings.Signing.Single(s => s.Key == "RekorUrl").Value, Is.EqualTo("http://127.0.0.1:1"));
        Assert.That(RecordingSettings.SigningNames.Except(RecordingSettings.Names), Is.Empty, "the signing settings travel in the same item");
    }

    [TestCase("", false)]
    [TestCase("false", false)]
    [TestCase("FALSE", false)]
    [TestCase("true", true)]
    public void A_yes_no_setting_is_true_or_false_or_empty(string value, bool expected) =>
        Assert.That(RecordingSettings.FromMetadata(n => n == "RequireSigningKey" ? value : "").RequireSigningKey, Is.EqualTo(expected));

    [TestCase("yes")]
    [TestCase("1")]
    public void SB1601_a_yes_no_setting_that_is_neither(string value)
    {
        var e = Assert.Throws<RecordingSettingsException>(() => RecordingSettings.FromMetadata(n => n == "RequireSigningKey" ? value : ""))!;
        Assert.That(e.Code, Is.EqualTo("SB1601"));
        Assert.That(e.Message, Does.Contain("SecureBuildRequireSigningKey").And.Contain(value));
    }
}

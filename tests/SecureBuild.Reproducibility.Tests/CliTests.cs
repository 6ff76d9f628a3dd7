using SecureBuild.Cli;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Reproducibility;
using SecureBuild.Reproducibility.Tests.Infrastructure;

namespace SecureBuild.Reproducibility.Tests;

/// <summary>`securebuild diff` and `securebuild compare` in process: output formats and exit codes 0/1/2.</summary>
public sealed class CliTests
{
    /// <summary>In process, or as the executable SECUREBUILD_TEST_CLI names (e.g. the Native AOT `securebuild`).</summary>
    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        if (Environment.GetEnvironmentVariable("SECUREBUILD_TEST_CLI") is { Length: > 0 } executable)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(executable)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in args)
            {
                psi.ArgumentList.Add(a);
            }
            using var process = System.Diagnostics.Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {executable}");
            var stdoutTask = process.StandardOutput.ReadToEndAsync();
            var stderrTask = process.StandardError.ReadToEndAsync();
            process.WaitForExit();
            return (process.ExitCode, stdoutTask.Result, stderrTask.Result);
        }
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = CliApplication.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public void Diff_exits_0_for_identical_1_for_different_2_for_usage()
    {
        using var dir = new TempDirectory();
        var a = dir.Write("a/x.txt", "one\n");
        var b = dir.Write("b/x.txt", "one\n");
        var c = dir.Write("c/x.txt", "two\n");
        Assert.That(Run("diff", a, b).Exit, Is.EqualTo(0));
        var different = Run("diff", a, c);
        Assert.That(different.Exit, Is.EqualTo(1));
        Assert.That(different.Out, Does.StartWith("DIFFERENT"));
        Assert.That(Run("diff", a, Path.Combine(dir.Path, "missing")).Exit, Is.EqualTo(2));
        Assert.That(Run("diff", a).Exit, Is.EqualTo(2));
        Assert.That(Run("diff", a, c, "--format", "yaml").Exit, Is.EqualTo(2));
        Assert.That(Run("diff", Path.Combine(dir.Path, "a"), Path.Combine(dir.Path, "c")).Exit, Is.EqualTo(1), "directories");
    }

    [Test]
    public void Diff_writes_json_and_html()
    {
        using var dir = new TempDirectory();
        var a = dir.Write("a.txt", "id 3f2504e0-4f89-11d3-9a0c-0305e82c3301\n");
        var b = dir.Write("b.txt", "id 9a7b1c22-0d4e-4b6a-8c1e-5f3a2b7d9e10\n");
        var json = Run("diff", a, b, "--format", "json");
        var parsed = (JsonMap)JsonParser.Parse(json.Out);
        Assert.That(((JsonString)((JsonMap)((JsonList)parsed["rootCauses"])[0])["id"]).Value, Is.EqualTo("random-guid"));
        var html = Path.Combine(dir.Path, "r.html");
        Assert.That(Run("diff", a, b, "--format", "html", "-o", html).Exit, Is.EqualTo(1));
        Assert.That(File.ReadAllText(html), Does.Contain("data-cause=\"random-guid\""));
    }

    [Test]
    public void Rebuild_rejects_bad_options_with_2()
    {
        Assert.That(Run("rebuild", ".", "--variations", "all,-nonsense").Exit, Is.EqualTo(2));
        Assert.That(Run("rebuild", ".", "--attestation", "x.jsonl").Exit, Is.EqualTo(2));
        Assert.That(Run("rebuild", "/nonexistent/dir/x.csproj").Exit, Is.EqualTo(2));
        Assert.That(Run("rebuild", ".", "--command", "publish").Exit, Is.EqualTo(2));
    }

    [Test]
    public void Rebuild_and_lock_take_msbuild_properties_in_every_form_users_type_and_reject_malformed_ones()
    {
        // Accepted by the parser: the run goes on to find that the project does not exist.
        var accepted = Run("rebuild", "/nonexistent/dir/x.csproj", "-p:WarningsNotAsErrors=NU1603", "-p", "TargetFrameworks=net8.0;net10.0", "--property", "A=", "-p:B=\"x;y\"");
        Assert.That(accepted.Exit, Is.EqualTo(2));
        Assert.That(accepted.Err, Does.Contain("does not exist").And.Not.Contain("SB3471"), accepted.Err);
        foreach (var verb in new[] { "rebuild", "lock" })
        {
            foreach (var bad in new[] { "NoValue", "=value", "1Name=x", "-p:=x" })
            {
                var rejected = Run(verb, "-p", bad);
                Assert.That(rejected.Exit, Is.EqualTo(2), $"{verb} -p {bad}: {rejected.Err}");
                Assert.That(rejected.Err, Does.Contain("SB3471").And.Contain("expected Name=Value"), rejected.Err);
            }
        }
    }

    [TestCase("TargetFrameworks=net8.0;net10.0", "-p:TargetFrameworks=\"net8.0;net10.0\"")]
    [TestCase("-p:DefineConstants=A,B", "-p:DefineConstants=\"A,B\"")]
    [TestCase("Configuration=Release", "-p:Configuration=Release")]
    [TestCase("Empty=", "-p:Empty=")]
    [TestCase("Name=\"a;b\"", "-p:Name=\"a;b\"")]
    [TestCase("Name=say \"hi\"", "-p:Name=\"say %22hi%22\"")]
    [TestCase("Url=https://x/?a=b", "-p:Url=https://x/?a=b")]
    public void Properties_are_passed_on_quoted_where_msbuild_would_split_them(string typed, string passed) =>
        Assert.That(PropertyArgument.ToSwitch(PropertyArgument.Parse(typed)), Is.EqualTo(passed));

    [Test]
    public void Compare_checks_k_of_n_from_files()
    {
        using var dir = new TempDirectory();
        var alice = SigningKey.Generate(KeyType.Ed25519);
        var bob = SigningKey.Generate(KeyType.Ecdsa);
        var alicePub = dir.Write("alice.pub", alice.ExportPublic());
        var bobPub = dir.Write("bob.pub", bob.ExportPublic());
        string Write(string name, SigningKey key, string digest)
        {
            var input = AgreementTests.Attest(key, AttestationAgreement.SlsaProvenanceV1, digest);
            return dir.Write(name, JsonText.Write(input.Envelope.ToJson(), indented: false) + "\n");
        }

        var sha = new string('a', 64);
        var a = Write("a.intoto.jsonl", alice, sha);
        var b = Write("b.intoto.jsonl", bob, sha);
        var c = Write("c.intoto.jsonl", bob, new string('b', 64));
        var ok = Run("compare", "--key", alicePub, "--key", bobPub, "--threshold", "2", a, b);
        Assert.That(ok.Exit, Is.EqualTo(0), ok.Out + ok.Err);
        Assert.That(ok.Out, Does.Contain("PASSED"));
        var bad = Run("compare", "--key", alicePub, "--key", bobPub, "--threshold", "2", a, c);
        Assert.That(bad.Exit, Is.EqualTo(1));
        Assert.That(bad.Out, Does.Contain("CONFLICT"));
        Assert.That(Run("compare", "--key", alicePub, "--threshold", "2", a, b).Exit, Is.EqualTo(2), "threshold above the number of keys");
        Assert.That(Run("compare", "--key", alicePub, "--threshold", "1", dir.Write("junk.jsonl", "{not json")).Exit, Is.EqualTo(2));
    }
}

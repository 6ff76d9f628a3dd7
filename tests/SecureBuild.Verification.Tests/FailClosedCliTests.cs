using System.CommandLine;
using SecureBuild.Cli;
using SecureBuild.Core.Crypto;
using SecureBuild.Verification.Tests.Infrastructure;

namespace SecureBuild.Verification.Tests;

/// <summary>
/// No stack trace reaches a user of `securebuild`: the known crashes are refused at their cause with an SB code and
/// exit 2 (or the verb's own failure code), and an exception nobody expected is SB3900 on one line, exit 2.
/// </summary>
[TestFixture]
[NonParallelizable] // Cli.Run changes the process's current directory
public class FailClosedCliTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = TestData.NewTempDir("fail-closed");

    [TearDown]
    public void TearDown() => TestData.DeleteDirectory(_dir);

    private static void AssertNoStackTrace(string stderr) =>
        Assert.That(stderr, Does.Not.Contain("   at ").And.Not.Contain("Unhandled exception"), stderr);

    [Test]
    public void An_exception_no_verb_expected_is_SB3900_on_one_line_and_exit_2()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var root = CliApplication.CreateRoot(stdout, stderr);
        var crash = new Command("crash");
        crash.SetAction(_ => ((object)"text") is int n ? n : throw new InvalidCastException("Unable to cast object of type 'System.String' to type 'System.Int32'."));
        root.Subcommands.Add(crash);

        int code = CliApplication.Invoke(root, new[] { "crash" }, stdout, stderr);

        Assert.That(code, Is.EqualTo(CliApplication.Usage));
        var lines = stderr.ToString().TrimEnd().Split('\n');
        if (Environment.GetEnvironmentVariable("SECUREBUILD_DEBUG") is null)
        {
            Assert.That(lines, Has.Length.EqualTo(1), stderr.ToString());
            AssertNoStackTrace(stderr.ToString());
        }

        Assert.That(lines[0], Does.StartWith("securebuild crash: SB3900: internal error: InvalidCastException: Unable to cast object of type 'System.String' to type 'System.Int32'."));
        Assert.That(lines[0], Does.Contain("SECUREBUILD_DEBUG=1"));
    }

    [Test]
    public void With_SECUREBUILD_DEBUG_1_the_internal_error_carries_its_stack_trace()
    {
        var previous = Environment.GetEnvironmentVariable("SECUREBUILD_DEBUG");
        Environment.SetEnvironmentVariable("SECUREBUILD_DEBUG", "1");
        try
        {
            var stderr = new StringWriter();
            var root = CliApplication.CreateRoot(new StringWriter(), stderr);
            var crash = new Command("crash");
            crash.SetAction(_ => ThrowFromHere());
            root.Subcommands.Add(crash);

            Assert.That(CliApplication.Invoke(root, new[] { "crash" }, new StringWriter(), stderr), Is.EqualTo(CliApplication.Usage));
            Assert.That(stderr.ToString(), Does.StartWith("securebuild crash: SB3900: internal error: KeyNotFoundException: no such key."));
            Assert.That(stderr.ToString(), Does.Contain(nameof(ThrowFromHere)), "the stack trace follows the one-line message");
        }
        finally
        {
            Environment.SetEnvironmentVariable("SECUREBUILD_DEBUG", previous);
        }
    }

    private static int ThrowFromHere() => throw new KeyNotFoundException("no such key.");

    [Test]
    public void Layout_sign_with_a_directory_as_the_layout_is_SB3901()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "layouts"));
        File.WriteAllText(Path.Combine(_dir, "owner.key"), SigningKey.Generate(KeyType.Ed25519).ExportPrivate());

        var (code, _, stderr) = Cli.Run(_dir, "layout", "sign", "--layout", "layouts", "--key", "owner.key");

        Assert.That(code, Is.EqualTo(2), stderr);
        Assert.That(stderr, Does.Contain("SB3901").And.Contain("layouts is a directory, not an in-toto layout"));
        AssertNoStackTrace(stderr);
    }

    [TestCase("123456789012345678901234567890")]
    [TestCase("-9223372036854775809")]
    public void Lock_with_a_huge_version_number_is_SB1400_not_a_crash(string version)
    {
        Directory.CreateDirectory(Path.Combine(_dir, ".git"));
        File.WriteAllText(Path.Combine(_dir, "securebuild.lock.json"), "{\"digest\": \"sha256:00\", \"version\": " + version + "}\n");

        var (code, _, stderr) = Cli.Run(_dir, "lock", "--root", _dir);

        Assert.That(code, Is.EqualTo(1), stderr);
        Assert.That(stderr, Does.Contain("SB1400").And.Contain("$.version"));
        AssertNoStackTrace(stderr);
    }

    /// <summary>Input a verb cannot read is exit 2 with the verb's code, the cause and a fix.</summary>
    [Test]
    public void Unreadable_inputs_of_diff_compare_layout_new_and_bundle_verify_have_their_codes()
    {
        var key = SigningKey.Generate(KeyType.Ed25519);
        File.WriteAllText(Path.Combine(_dir, "k.pub"), key.ExportPublic());
        File.WriteAllText(Path.Combine(_dir, "a.txt"), "a");
        File.WriteAllText(Path.Combine(_dir, "garbage.intoto.jsonl"), "{not json\n");
        Directory.CreateDirectory(Path.Combine(_dir, "links"));
        LinkFile(key, Path.Combine(_dir, "links"));
        var cases = new (string Code, string[] Args)[]
        {
            ("SB3902", new[] { "diff", "a.txt", "missing.txt" }),
            ("SB3903", new[] { "compare", "--key", "k.pub", "--threshold", "1", "garbage.intoto.jsonl" }),
            ("SB3905", new[] { "layout", "new", "--link-dir", "links", "--functionary", "k.pub", "--expires", "next tuesday", "-o", "x.layout" }),
            ("SB3906", new[] { "bundle", "verify", "--bundle", "missing.sigstore.json", "--trusted-root", "missing.json", "--key", "k.pub", "a.txt" }),
        };
        foreach (var (expected, args) in cases)
        {
            var (code, _, stderr) = Cli.Run(_dir, args);
            Assert.That(code, Is.EqualTo(2), $"{args[0]}: {stderr}");
            Assert.That(stderr, Does.Contain(expected + ": "), $"{args[0]}: {stderr}");
            AssertNoStackTrace(stderr);
        }
    }

    private static void LinkFile(SigningKey key, string dir)
    {
        var link = new Core.InToto.Link("compile") { Command = new[] { "dotnet", "build" } };
        link.Products["App.dll"] = new Dictionary<string, string> { ["sha256"] = new string('a', 64) };
        Core.InToto.LinkFile.WriteSigned(link, key, dir);
    }
}

using System.Text;
using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Testing;
using SecureBuild.Testing.Fuzz;

namespace SecureBuild.Core.Tests.Testing;

/// <summary>
/// The TRX reader and the test-result statement: a VSTest run's results (trimmed from a real NUnit run: results before
/// definitions, storage lower-cased) become PASSED/WARNED/FAILED and the tests by outcome; bad files fail with a code.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class TrxReportTests
{
    private const string Ns = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";

    private static string Trx(string results, string definitions, string summary = "Completed") => $"""
        <?xml version="1.0" encoding="utf-8"?>
        <TestRun id="7b69028d-e9d1-4139-a02f-aa1b64541d84" name="run" xmlns="{Ns}">
          <Results>{results}</Results>
          <TestDefinitions>{definitions}</TestDefinitions>
          <ResultSummary outcome="{summary}"><Counters total="1" /></ResultSummary>
        </TestRun>
        """;

    private static string Result(string id, string name, string outcome) =>
        $"""<UnitTestResult executionId="e-{id}" testId="{id}" testName="{name}" outcome="{outcome}"><Output><StdOut>out</StdOut></Output></UnitTestResult>""";

    private static string Definition(string id, string className, string name, string storage = "/w/tests/bin/release/net10.0/tests.dll") =>
        $"""<UnitTest name="{name}" storage="{storage}" id="{id}"><Execution id="e-{id}" /><TestMethod codeBase="/w/Tests/bin/Release/net10.0/Tests.dll" className="{className}" name="{name}" /></UnitTest>""";

    private static readonly string FailedRun = Trx(
        Result("1", "Adds", "Passed") + Result("2", "Subtracts", "Failed") + Result("3", "Multiplies", "NotExecuted") + Result("4", "Adds_negatives", "Passed"),
        Definition("1", "Tests.CalculatorTests", "Adds") + Definition("2", "Tests.BrokenTests", "Subtracts") + Definition("3", "Tests.BrokenTests", "Multiplies")
        + Definition("4", "Tests.CalculatorTests", "Adds_negatives"),
        "Failed");

    private static TrxReport Read(string xml) => TrxReport.Read(new MemoryStream(Encoding.UTF8.GetBytes(xml)), "test.trx");

    [Test]
    public void Results_are_named_by_class_and_method_and_classified()
    {
        var report = Read(FailedRun);

        Assert.That(report.Tests.Select(t => (t.Name, t.Outcome)), Is.EqualTo(new[]
        {
            ("Tests.CalculatorTests.Adds", TestOutcomeClass.Passed), ("Tests.BrokenTests.Subtracts", TestOutcomeClass.Failed),
            ("Tests.BrokenTests.Multiplies", TestOutcomeClass.Warned), ("Tests.CalculatorTests.Adds_negatives", TestOutcomeClass.Passed),
        }));
        Assert.That(report.RunOutcome, Is.EqualTo("Failed"));
        Assert.That(report.Storages, Is.EqualTo(new[] { "/w/tests/bin/release/net10.0/tests.dll" }));
    }

    [Test]
    public void The_statement_says_FAILED_and_lists_the_tests_by_outcome_with_the_tested_artifacts_as_subjects()
    {
        var digest = new Dictionary<string, string> { ["sha256"] = new string('a', 64) };
        var statement = TestResultStatement.Create(new[] { new Subject("Tests/bin/Release/net10.0/Tests.dll", digest) },
            new[] { ProvenanceStatement.Resource(name: "Tests/Tests.csproj", digest: digest) }, "https://ci.example/runs/1", Read(FailedRun));
        var predicate = (JsonMap)statement["predicate"];

        Assert.That(((JsonString)statement["predicateType"]).Value, Is.EqualTo("https://in-toto.io/attestation/test-result/v0.1"));
        Assert.That(((JsonString)statement["_type"]).Value, Is.EqualTo("https://in-toto.io/Statement/v1"));
        Assert.That(((JsonString)predicate["result"]).Value, Is.EqualTo("FAILED"));
        Assert.That(((JsonString)predicate["url"]).Value, Is.EqualTo("https://ci.example/runs/1"));
        Assert.That(Names(predicate, "passedTests"), Is.EqualTo(new[] { "Tests.CalculatorTests.Adds", "Tests.CalculatorTests.Adds_negatives" }));
        Assert.That(Names(predicate, "warnedTests"), Is.EqualTo(new[] { "Tests.BrokenTests.Multiplies" }));
        Assert.That(Names(predicate, "failedTests"), Is.EqualTo(new[] { "Tests.BrokenTests.Subtracts" }));
        Assert.That(((JsonList)predicate["configuration"]).Count, Is.EqualTo(1));
        Assert.That(((JsonString)((JsonMap)((JsonList)statement["subject"])[0])["name"]).Value, Is.EqualTo("Tests/bin/Release/net10.0/Tests.dll"));
    }

    [TestCase("Passed", "Passed", "Completed", "PASSED")]
    [TestCase("Passed", "NotExecuted", "Completed", "WARNED")]
    [TestCase("Passed", "Inconclusive", "Completed", "WARNED")]
    [TestCase("Passed", "Timeout", "Completed", "FAILED")]
    [TestCase("Passed", "Error", "Completed", "FAILED")]
    [TestCase("Passed", "Passed", "Aborted", "FAILED")]
    public void The_result_is_the_worst_outcome_of_the_tests_and_the_run(string first, string second, string run, string expected)
    {
        var report = Read(Trx(Result("1", "A", first) + Result("2", "B", second), Definition("1", "N.C", "A") + Definition("2", "N.C", "B"), run));

        Assert.That(TestResultStatement.Result(report), Is.EqualTo(expected));
    }

    [Test]
    public void A_run_without_tests_is_WARNED_not_PASSED()
    {
        Assert.That(TestResultStatement.Result(Read(Trx("", ""))), Is.EqualTo("WARNED"));
    }

    [Test]
    public void Data_driven_cases_keep_their_arguments_and_a_result_without_a_definition_keeps_its_display_name()
    {
        var report = Read(Trx(Result("1", "Adds(1,2)", "Passed") + Result("2", "Orphan", "Passed"), Definition("1", "N.C", "Adds")));

        Assert.That(report.Tests.Select(t => t.Name), Is.EqualTo(new[] { "N.C.Adds(1,2)", "Orphan" }));
    }

    [Test]
    public void A_missing_file_is_SB5460_and_a_file_that_is_not_a_test_run_is_SB5461()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sb-trx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var missing = Assert.Throws<TestResultException>(() => TrxReport.Read(Path.Combine(dir, "none.trx")))!;
            Assert.That(missing.Code, Is.EqualTo("SB5460"));

            foreach (var (name, content) in new[]
            {
                ("truncated.trx", FailedRun.Substring(0, FailedRun.Length / 2)),
                ("other-root.trx", $"<Project xmlns=\"{Ns}\" />"),
                ("no-namespace.trx", "<TestRun><Results /></TestRun>"),
                ("dtd.trx", $"<!DOCTYPE TestRun [<!ENTITY x \"y\">]><TestRun xmlns=\"{Ns}\" />"),
                ("no-test-id.trx", Trx("<UnitTestResult testName=\"A\" outcome=\"Passed\" />", "")),
                ("empty.trx", ""),
            })
            {
                var path = Path.Combine(dir, name);
                File.WriteAllText(path, content);
                var e = Assert.Throws<TestResultException>(() => TrxReport.Read(path), name)!;
                Assert.That(e.Code, Is.EqualTo("SB5461"), name);
                Assert.That(e.Message, Does.Contain(path), name);
                Assert.That(e.Fix, Is.Not.Empty, name);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Test]
    public void Mutated_results_files_are_read_or_refused_with_an_xml_error()
    {
        var corpus = new[] { ("failed-run", Encoding.UTF8.GetBytes(FailedRun)) };
        var problems = FuzzRun.Run("trx", corpus, 300, Mutator.Json, bytes =>
        {
            try
            {
                var report = TrxReport.Read(new MemoryStream(bytes), "mutated.trx");
                return report.Tests.Any(t => t.Name.Length == 0) ? "a test without a name" : null;
            }
            catch (System.Xml.XmlException)
            {
                return null;
            }
        });
        Assert.That(problems, Is.Empty, string.Join("\n", problems));
    }

    private static List<string> Names(JsonMap predicate, string field) => ((JsonList)predicate[field]).Select(i => ((JsonString)i).Value).ToList();
}

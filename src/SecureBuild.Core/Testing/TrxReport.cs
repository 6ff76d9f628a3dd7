using System.Xml;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Testing;

/// <summary>How one test ended, in the three classes of the in-toto test-result predicate.</summary>
public enum TestOutcomeClass
{
    Passed,

    /// <summary>Not a pass and not a failure: skipped, ignored, inconclusive, or a pass with a warning.</summary>
    Warned,

    Failed,
}

/// <summary>One test of a run: its full name (class and method, or the display name), its class, and the assembly it came from.</summary>
public sealed record TrxTest(string Name, TestOutcomeClass Outcome, string TrxOutcome, string? Storage);

/// <summary>
/// A Visual Studio test results file (TRX, written by VSTest's trx logger and by Microsoft.Testing.Platform's TRX extension),
/// read as a stream (results can be large) with DTDs prohibited. Only what the test-result attestation needs: each result's
/// test, outcome and assembly.
/// </summary>
public sealed class TrxReport
{
    private const string Namespace = "http://microsoft.com/schemas/VisualStudio/TeamTest/2010";

    private TrxReport(IReadOnlyList<TrxTest> tests, string? runOutcome)
    {
        Tests = tests;
        RunOutcome = runOutcome;
    }

    /// <summary>Every test result, in the file's order (a data-driven test may appear once per case).</summary>
    public IReadOnlyList<TrxTest> Tests { get; }

    /// <summary>ResultSummary's outcome (Completed, Failed, Aborted, ...), when the file has one.</summary>
    public string? RunOutcome { get; }

    /// <summary>The distinct assemblies (as the run named them) the results came from.</summary>
    public IReadOnlyList<string> Storages => Tests.Select(t => t.Storage).OfType<string>().Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Maps a TRX outcome (TestOutcome of the TeamTest 2010 schema) to the predicate's classes.</summary>
    public static TestOutcomeClass Classify(string outcome) => outcome switch
    {
        "Passed" => TestOutcomeClass.Passed,
        "Failed" or "Error" or "Timeout" or "Aborted" => TestOutcomeClass.Failed,
        _ => TestOutcomeClass.Warned, // NotExecuted (skipped), Inconclusive, Warning, PassedButRunAborted, NotRunnable, Disconnected, InProgress, Pending, Completed
    };

    /// <exception cref="TestResultException">SB5460 (missing) or SB5461 (not a TRX test run).</exception>
    public static TrxReport Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new TestResultException(TestResultException.ResultsMissing, $"the test run wrote no results file at {path}.",
                "Let SecureBuild.Sdk add its TRX logger (run `dotnet test` without a trx --logger), or give the trx logger a LogFileName inside the results directory.");
        }
        try
        {
            using var stream = InputFile.OpenRead(path, InputKind.Assets);
            return Read(stream, path);
        }
        catch (Exception e) when (e is XmlException || e is IOException || e is UnauthorizedAccessException)
        {
            throw new TestResultException(TestResultException.ResultsUnreadable, $"the test results file {path} is not a readable TRX test run: {e.Message}",
                "Check that nothing else writes to that file during the run, and run the tests again.", e);
        }
    }

    /// <exception cref="XmlException">Malformed XML, a DTD, or not a TeamTest 2010 TestRun.</exception>
    public static TrxReport Read(Stream stream, string description)
    {
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, IgnoreComments = true, IgnoreWhitespace = true };
        using var reader = XmlReader.Create(stream, settings);
        reader.MoveToContent();
        if (reader.LocalName != "TestRun" || reader.NamespaceURI != Namespace)
        {
            throw new XmlException($"the root element is {reader.LocalName} in '{reader.NamespaceURI}', not TestRun of {Namespace}");
        }
        var results = new List<(string TestId, string Name, string Outcome)>();
        var definitions = new Dictionary<string, (string Name, string? Storage)>(StringComparer.Ordinal);
        string? runOutcome = null;
        string? pendingId = null, pendingStorage = null;
        while (reader.Read())
        {
            if (reader.NodeType != XmlNodeType.Element || reader.NamespaceURI != Namespace)
            {
                continue;
            }
            switch (reader.LocalName)
            {
                case "UnitTestResult":
                    // Inner results of a data-driven test sit inside their parent's InnerResults: each counts.
                    results.Add((Required(reader, "testId"), reader.GetAttribute("testName") ?? "", reader.GetAttribute("outcome") ?? "NotExecuted"));
                    break;
                case "UnitTest":
                    pendingId = Required(reader, "id");
                    pendingStorage = reader.GetAttribute("storage");
                    definitions[pendingId] = (reader.GetAttribute("name") ?? "", pendingStorage);
                    break;
                case "TestMethod" when pendingId is not null:
                    var className = reader.GetAttribute("className");
                    var method = reader.GetAttribute("name");
                    if (!string.IsNullOrEmpty(className) && !string.IsNullOrEmpty(method))
                    {
                        // className may carry the assembly ("Ns.Class, Asm, Version=..."): the type name is enough.
                        var type = className!.Split(',')[0].Trim();
                        definitions[pendingId] = (type + "." + method, pendingStorage ?? reader.GetAttribute("codeBase"));
                    }
                    break;
                case "ResultSummary":
                    runOutcome = reader.GetAttribute("outcome");
                    break;
            }
        }
        var tests = results.Select(r =>
        {
            definitions.TryGetValue(r.TestId, out var definition);
            // The display name tells data-driven cases apart ("Adds(1,2)"); the definition's full name says where it lives.
            var name = definition.Name is { Length: > 0 } full
                ? (r.Name.Length > 0 && r.Name != full && !full.EndsWith("." + r.Name, StringComparison.Ordinal) && r.Name.Contains('(') ? Qualify(full, r.Name) : full)
                : r.Name;
            if (name.Length == 0)
            {
                throw new XmlException($"{description}: the result of test {r.TestId} has no name");
            }
            return new TrxTest(name, Classify(r.Outcome), r.Outcome, definition.Storage);
        }).ToList();
        return new TrxReport(tests, runOutcome);
    }

    private static string Qualify(string fullName, string displayName)
    {
        int dot = fullName.LastIndexOf('.');
        var prefix = dot < 0 ? "" : fullName.Substring(0, dot + 1);
        return displayName.StartsWith(prefix, StringComparison.Ordinal) ? displayName : prefix + displayName;
    }

    private static string Required(XmlReader reader, string attribute) =>
        reader.GetAttribute(attribute) is { Length: > 0 } value ? value : throw new XmlException($"{reader.LocalName} has no {attribute} attribute");
}

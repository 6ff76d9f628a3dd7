using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;

namespace SecureBuild.Core.Testing;

/// <summary>
/// The in-toto test-result attestation (predicate <see cref="PredicateType"/>) of one test run: the artifacts tested as
/// subjects; result, configuration, url and the tests by outcome as the predicate.
/// </summary>
public static class TestResultStatement
{
    public const string PredicateType = "https://in-toto.io/attestation/test-result/v0.1";

    /// <summary>
    /// FAILED when a test failed or the run did not complete (aborted, crashed, timed out); WARNED when a test was skipped,
    /// inconclusive or warned, or the run found no test at all (nothing was proven); else PASSED.
    /// </summary>
    public static string Result(TrxReport report)
    {
        if (report.Tests.Any(t => t.Outcome == TestOutcomeClass.Failed) ||
            report.RunOutcome is { } run && TrxReport.Classify(run) == TestOutcomeClass.Failed)
        {
            return "FAILED";
        }
        return report.Tests.Count == 0 || report.Tests.Any(t => t.Outcome == TestOutcomeClass.Warned) ? "WARNED" : "PASSED";
    }

    /// <summary>The statement (unsigned).</summary>
    /// <param name="subjects">The artifacts tested (the test step's materials), by their artifact names.</param>
    /// <param name="configuration">ResourceDescriptors of what configured the run (project, run settings, filter).</param>
    /// <param name="url">The CI run, when there is one.</param>
    /// <param name="report">The run's results.</param>
    public static JsonMap Create(IEnumerable<Subject> subjects, IEnumerable<JsonMap> configuration, string? url, TrxReport report)
    {
        JsonList Names(TestOutcomeClass outcome) => new(report.Tests.Where(t => t.Outcome == outcome).Select(t => t.Name)
            .Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).Select(n => (JsonItem)n));

        var predicate = new JsonMap
        {
            ["result"] = Result(report),
            ["configuration"] = new JsonList(configuration.Select(c => (JsonItem)c)),
        };
        if (!string.IsNullOrWhiteSpace(url))
        {
            predicate["url"] = url!;
        }
        predicate["passedTests"] = Names(TestOutcomeClass.Passed);
        predicate["warnedTests"] = Names(TestOutcomeClass.Warned);
        predicate["failedTests"] = Names(TestOutcomeClass.Failed);
        return new JsonMap
        {
            ["_type"] = ProvenanceStatement.StatementType,
            ["subject"] = new JsonList(subjects.OrderBy(s => s.Name, StringComparer.Ordinal).Select(s => (JsonItem)s.ToJson())),
            ["predicateType"] = PredicateType,
            ["predicate"] = predicate,
        };
    }

    /// <summary>The run's URL from the CI context (GitHub Actions, Azure Pipelines, GitLab and Jenkins give one), or null.</summary>
    public static string? RunUrl(CiContext ci) =>
        ci.InvocationId is { } id && Uri.TryCreate(id, UriKind.Absolute, out var uri) && (uri.Scheme == "https" || uri.Scheme == "http") ? id : null;
}

using Microsoft.Build.Framework;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Recording;
using SecureBuild.Core.Testing;

namespace SecureBuild.Tasks;

/// <summary>
/// Reads the test run's TRX and writes the signed in-toto test-result attestation
/// (<c>&lt;step&gt;.test-result.intoto.jsonl</c>, and its Sigstore bundle, keyless with SecureBuildSigning=keyless): the
/// step's materials (test assemblies and the outputs under test) are its subjects. A run that tested an assembly the
/// step did not record is SB5463: the attestation would name artifacts that were not tested.
/// </summary>
public sealed class WriteTestResultAttestation : SigningStepTask
{
    /// <summary>The TRX file the run wrote.</summary>
    [Required]
    public string ResultsFile { get; set; } = "";

    /// <summary>The test assemblies the step recorded as materials (each result's assembly must be one of them).</summary>
    public ITaskItem[] TestAssemblies { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>
    /// Referenced projects' assemblies the step recorded where their compile wrote them (ItemSpec), with metadata
    /// <c>Copy</c>: the copy next to the test assembly, which the run loaded. A copy that differs is SB5465.
    /// </summary>
    public ITaskItem[] CopiedMaterials { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Files that configured the run (project file, run settings): configuration ResourceDescriptors with their digest.</summary>
    public ITaskItem[] ConfigurationFiles { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>Settings of the run (metadata Value; empty ones are left out): annotations of the project's descriptor.</summary>
    public ITaskItem[] RunSettings { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>The process environment (tests give their own).</summary>
    internal Func<IEnumerable<KeyValuePair<string, string>>> EnvironmentSource { get; set; } = BuildEnvironment.Current;

    [Output]
    public string? AttestationFile { get; set; }

    /// <summary>PASSED, WARNED or FAILED.</summary>
    [Output]
    public string? Result { get; set; }

    public static string FileName(string step) => $"{step}.test-result.intoto.jsonl";

    public static string BundleFileName(string step) => $"{step}.test-result" + Core.Sigstore.SigstoreBundleWriter.FileSuffix;

    protected override bool ExecuteCore()
    {
        RequireLinkDirectory();
        TrxReport report;
        try
        {
            report = TrxReport.Read(ResultsFile);
            CheckAssemblies(report);
            CheckCopies();
        }
        catch (TestResultException e)
        {
            LogCodedError(e.Code, $"{StepName}: {e.Message} {e.Fix}");
            return false;
        }
        var key = SigningKeyResolver.Resolve(SigningKey, DevelopmentKeyFile, RequireSigningKey, BuildEngine, Log);
        if (key is null)
        {
            return false;
        }
        var recorder = CreateRecorder(loadCache: true, out var cache, out _);
        var materials = StepRecorder.ReadPendingMaterials(MaterialsFile, StepName) ?? recorder.Record(FullPaths(TestAssemblies));
        var configuration = ConfigurationFiles.Where(f => File.Exists(f.GetMetadata("FullPath"))).Select((f, i) =>
        {
            var path = f.GetMetadata("FullPath");
            var annotations = i == 0 ? SettingsJson() : null;
            return ProvenanceStatement.Resource(name: recorder.Namer.Name(path), digest: recorder.Record(new[] { path }).Values.First(), annotations: annotations);
        }).ToList();
        cache.Save();
        var env = EnvironmentSource().GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Value, StringComparer.Ordinal);
        var statement = TestResultStatement.Create(materials.Select(m => new Subject(m.Key, m.Value)), configuration,
            TestResultStatement.RunUrl(CiContext.Detect(env)), report);
        Result = TestResultStatement.Result(report);

        Directory.CreateDirectory(LinkDirectory);
        var path = Path.Combine(LinkDirectory, FileName(StepName));
        try
        {
            using var keyless = CertificateSigning.For(SigningSettings, LogCodedWarning);
            StepAttestations.WriteEnvelope(statement, key, path, Path.Combine(LinkDirectory, BundleFileName(StepName)), keyless);
        }
        catch (Core.Identity.KeylessException e)
        {
            LogCodedError(e.Code, $"{StepName}: keyless signing failed: {e.Message}. {e.Fix}");
            return false;
        }
        AttestationFile = path;
        int Count(TestOutcomeClass c) => report.Tests.Count(t => t.Outcome == c);
        Log.LogMessage(MessageImportance.Normal,
            $"SecureBuild: {StepName} test result {Result} ({Count(TestOutcomeClass.Passed)} passed, {Count(TestOutcomeClass.Warned)} warned, {Count(TestOutcomeClass.Failed)} failed) -> {path}");
        if (report.Tests.Count == 0)
        {
            LogCodedWarning("SB5462", $"{StepName}: the test run found no tests, so the test-result attestation says WARNED and proves nothing about the outputs. " +
                "Check the test adapter package reference and the --filter; a project without tests should not set IsTestProject.");
        }
        return true;
    }

    private JsonMap? SettingsJson()
    {
        var map = new JsonMap();
        foreach (var setting in RunSettings.Where(s => !string.IsNullOrWhiteSpace(s.GetMetadata("Value"))).OrderBy(s => s.ItemSpec, StringComparer.Ordinal))
        {
            map[setting.ItemSpec] = setting.GetMetadata("Value");
        }
        return map.Count == 0 ? null : map;
    }

    /// <summary>SB5463: every result's assembly (TRX "storage") must be one of the recorded test assemblies.</summary>
    private void CheckAssemblies(TrxReport report)
    {
        var recorded = new HashSet<string>(FullPaths(TestAssemblies).Select(Normalize), StringComparer.OrdinalIgnoreCase);
        // TRX writers lower-case the storage path on some platforms: compared without case.
        var foreign = report.Storages.Where(s => !recorded.Contains(Normalize(s))).ToList();
        if (foreign.Count > 0)
        {
            throw new TestResultException(TestResultException.ForeignAssembly,
                $"the results file {ResultsFile} has results from {string.Join(", ", foreign)}, which the test step did not record " +
                $"(it recorded {string.Join(", ", FullPaths(TestAssemblies))}).",
                "Run the tests of one project per `dotnet test` invocation and let the SDK write the results file (do not point several runs at one LogFileName).");
        }
    }

    /// <summary>
    /// SB5465: the step names a referenced project's assembly by compile's name for it, so the copy the run loaded must be
    /// those bytes; otherwise the attestation would vouch for an assembly the tests never ran.
    /// </summary>
    private void CheckCopies()
    {
        foreach (var item in CopiedMaterials)
        {
            var source = item.GetMetadata("FullPath");
            var copy = item.GetMetadata("Copy");
            if (string.IsNullOrEmpty(copy) || !File.Exists(source) || !File.Exists(copy) || Normalize(source) == Normalize(Path.GetFullPath(copy)))
            {
                continue;
            }
            if (Core.Crypto.Sha256Hex.OfFile(source) != Core.Crypto.Sha256Hex.OfFile(copy))
            {
                throw new TestResultException(TestResultException.CopyDiffers,
                    $"the tests loaded {Path.GetFullPath(copy)}, which differs from {source}, the output of the referenced project the test step records.",
                    "Build the test project (not only `dotnet test --no-build`) after the referenced project changed, so the copy next to the test assembly is the referenced project's output.");
            }
        }
    }

    private static string Normalize(string path)
    {
        try
        {
            return Path.GetFullPath(path).Replace('\\', '/');
        }
        catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
        {
            return path;
        }
    }
}

using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;
using SecureBuild.Core.Pipelines;
using SecureBuild.Core.Reproducibility;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild compare`'s verification summary options: --policy (threshold from the policy, its digest recorded),
/// --org-policy (the organisation's floor: builders, threshold, self-hosted), --vsa / --vsa-predicate / --vsa-key (the
/// SLSA verification summary, unsigned or signed), --resource-uri.
/// </summary>
internal sealed class SummaryOptions
{
    private const string Me = "securebuild compare";
    private readonly string? _vsa;
    private readonly string? _predicate;
    private readonly string? _keyPath;
    private readonly string? _resourceUri;
    private readonly string? _policyPath;
    private readonly OrgPolicy? _org;
    private SigningKey? _key;
    private IReadOnlyList<PipelineBuilder>? _builders;
    private (string Uri, string Sha256)? _policy;

    public SummaryOptions(string? vsa, string? predicate, string? keyPath, string? resourceUri, string? policyPath, OrgPolicy? org = null)
    {
        _org = org;
        _vsa = vsa;
        _predicate = predicate;
        _keyPath = keyPath;
        _resourceUri = resourceUri;
        _policyPath = policyPath;
    }

    /// <summary>Checks the options and reads the policy and key before anything is compared; false after a usage error was written.</summary>
    public bool Prepare(bool thresholdGiven, ref int threshold, TextWriter stderr)
    {
        if ((_vsa is not null || _predicate is not null) && string.IsNullOrWhiteSpace(_resourceUri))
        {
            stderr.WriteLine($"{Me}: --vsa and --vsa-predicate need --resource-uri (what was verified, e.g. git+https://github.com/ORG/REPO@COMMIT).");
            return false;
        }

        if (_keyPath is not null && _vsa is null)
        {
            stderr.WriteLine($"{Me}: --vsa-key signs the summary written to --vsa; give --vsa FILE too.");
            return false;
        }

        if (_policyPath is not null)
        {
            try
            {
                var policy = VerificationPolicy.Load(_policyPath);
                if (thresholdGiven && threshold != policy.Threshold)
                {
                    stderr.WriteLine($"{Me}: {PipelineCodes.PolicyUnusable}: --threshold {threshold} contradicts the policy {_policyPath} (threshold {policy.Threshold}). " +
                        "Drop --threshold, or change the policy in a reviewed commit.");
                    return false;
                }

                threshold = policy.Threshold;
                _builders = policy.Builders.Select(PipelineBuilder.Parse).ToList();
                _policy = (_policyPath.Replace('\\', '/'), Sha256Hex.Of(InputFile.ReadAllBytes(_policyPath, InputKind.Metadata)));
            }
            catch (PipelineException e)
            {
                stderr.WriteLine($"{Me}: {e.Message}");
                return false;
            }
        }

        if (_keyPath is not null)
        {
            try
            {
                _key = SigningKey.Load(_keyPath);
            }
            catch (KeyFormatException e)
            {
                stderr.WriteLine($"{Me}: {e.Code}: {e.Message} {e.Fix}");
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The organisation policy's rules (--org-policy) for this verification: the distinct builder keys and the threshold,
    /// and with --policy the builders it names (self-hosted ones), and the runners the builders' provenance names
    /// (a self-hosted worker). False after an SB5453 line per violation was written.
    /// </summary>
    public bool MeetsOrgPolicy(int keys, int threshold, AgreementResult result, TextWriter stderr)
    {
        if (_org is null)
        {
            return true;
        }

        var violations = _org.Violations(keys, threshold).ToList();
        if (_builders is not null)
        {
            violations.AddRange(_org.Violations(_builders, threshold, null).Where(v => !violations.Contains(v)));
        }

        var selfHosted = result.Runners.Where(r => r.Value == "self-hosted").Select(r => r.Key.Substring(0, Math.Min(8, r.Key.Length))).ToList();
        if (!_org.AllowSelfHosted && selfHosted.Count > 0)
        {
            violations.Add($"the provenance of the key(s) {string.Join(", ", selfHosted)} says a self-hosted runner built it, which the organisation policy does not allow (a self-hosted runner keeps state between builds)");
        }

        foreach (var violation in violations)
        {
            stderr.WriteLine($"{Me}: {PipelineCodes.OrgPolicyViolated}: {violation}. Nothing was verified and no summary written: build on more or other builders, or raise the threshold in a reviewed commit.");
        }

        return violations.Count == 0;
    }

    /// <summary>Writes the summary (when asked); false after an SB5451 line was written.</summary>
    public bool Write(AgreementResult result, int threshold, IEnumerable<string> inputFiles, TextWriter stdout, TextWriter stderr)
    {
        if (_vsa is null && _predicate is null)
        {
            return true;
        }

        if (result.Subjects.Count == 0)
        {
            stderr.WriteLine($"{Me}: no verification summary: no trusted attestation named a subject.");
            return true;
        }

        try
        {
            var inputs = inputFiles.Distinct(StringComparer.Ordinal)
                .Select(f => new VerifiedInput(f.Replace('\\', '/'), Sha256Hex.Of(InputFile.ReadAllBytes(f, InputKind.Bundle)))).ToList();
            var statement = VerificationSummary.Create(result, threshold, _resourceUri!, inputs, _policy, DateTimeOffset.UtcNow,
                typeof(SummaryOptions).Assembly.GetName().Version?.ToString(3));
            if (_vsa is not null)
            {
                var text = _key is not null ? statement.SignToJsonLine(_key) : JsonText.Write(statement.ToJson(), indented: true) + "\n";
                CreateParent(_vsa);
                AtomicFile.WriteAllBytes(_vsa, System.Text.Encoding.UTF8.GetBytes(text));
                stdout.WriteLine($"verification summary ({(result.Passed ? "PASSED" : "FAILED")}): {_vsa}{(_key is not null ? $" signed by {_key.KeyId}" : string.Empty)}");
            }

            if (_predicate is not null)
            {
                CreateParent(_predicate);
                AtomicFile.WriteAllBytes(_predicate, System.Text.Encoding.UTF8.GetBytes(JsonText.Write(statement.Predicate!, indented: true) + "\n"));
            }

            return true;
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            stderr.WriteLine($"{Me}: {PipelineCodes.VsaUnwritable}: cannot write the verification summary: {e.Message} Give a writable path to --vsa / --vsa-predicate.");
            return false;
        }
    }

    private static void CreateParent(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }
    }
}

using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;
using SecureBuild.Core.Pipelines;
using SecureBuild.Core.Reproducibility;

namespace SecureBuild.Cli;

/// <summary>
/// `securebuild compare`'s verification summary options: --policy (threshold from the policy, its digest recorded),
/// --vsa / --vsa-predicate / --vsa-key (the SLSA verification summary, unsigned or signed), --resource-uri.
/// </summary>
internal sealed class SummaryOptions
{
    private const string Me = "securebuild compare";
    private readonly string? _vsa;
    private readonly string? _predicate;
    private readonly string? _keyPath;
    private readonly string? _resourceUri;
    private readonly string? _policyPath;
    private SigningKey? _key;
    private (string Uri, string Sha256)? _policy;

    public SummaryOptions(string? vsa, string? predicate, string? keyPath, string? resourceUri, string? policyPath)
    {
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

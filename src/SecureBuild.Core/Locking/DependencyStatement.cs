using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;

namespace SecureBuild.Core.Locking;

/// <summary>
/// The in-toto Statement a build signs when it verified its dependencies against a lock: which lock (name and SHA-256),
/// the mode, the verdicts (lock, package cache, signatures) and each package's content hash and verdict. Predicate type
/// <see cref="PredicateType"/>; written as <c>dependencies[-tfm][-rid].&lt;keyid8&gt;.intoto.jsonl</c>.
/// </summary>
public static class DependencyStatement
{
    public const string PredicateType = "https://securebuild.dev/attestation/dependency-verification/v1";

    /// <param name="project">The project's path relative to the repository root.</param>
    /// <param name="framework">The target framework (empty for none).</param>
    /// <param name="strict">Strict mode (drift is an error) or warn.</param>
    /// <param name="lockName">The lock's path relative to the repository root.</param>
    /// <param name="lockDigest">The lock file's digests (at least sha256).</param>
    /// <param name="verdicts">The package cache verdicts.</param>
    /// <param name="signatures">Signature verdicts by package key (lowercase <see cref="SignatureFinding"/> names); empty when not read.</param>
    /// <param name="differences">What differs from the lock.</param>
    /// <param name="cacheVerified">Whether package folders were verified (SecureBuildVerifyPackageCache).</param>
    /// <param name="signaturesRead">Whether signatures were read (SecureBuildVerifyPackageSignatures).</param>
    public static JsonMap Create(string project, string? framework, bool strict, string lockName, IReadOnlyDictionary<string, string> lockDigest,
        IReadOnlyCollection<PackageVerdict> verdicts, IReadOnlyDictionary<string, string> signatures, IReadOnlyCollection<LockDifference> differences,
        bool cacheVerified, bool signaturesRead)
    {
        var packages = new JsonList(verdicts.OrderBy(v => v.Package.Key, StringComparer.Ordinal).Select(v =>
        {
            var o = new JsonMap
            {
                ["name"] = "@nuget/" + v.Package.Key,
                ["contentHash"] = v.ContentHash ?? "",
                ["cache"] = v.Ok ? "verified" : "failed",
            };
            if (signatures.TryGetValue(v.Package.Key, out var s))
            {
                o["signature"] = s;
            }
            return (JsonItem)o;
        }));
        return new JsonMap
        {
            ["_type"] = ProvenanceStatement.StatementType,
            ["subject"] = new JsonList(new Subject(lockName, lockDigest).ToJson()),
            ["predicateType"] = PredicateType,
            ["predicate"] = new JsonMap
            {
                ["project"] = project,
                ["framework"] = framework ?? "",
                ["mode"] = strict ? "strict" : "warn",
                ["lock"] = new JsonMap { ["name"] = lockName, ["digest"] = new JsonMap { ["sha256"] = lockDigest["sha256"] } },
                ["verdicts"] = new JsonMap
                {
                    ["lock"] = differences.Count == 0 ? "match" : "drift",
                    ["packageCache"] = verdicts.All(v => v.Ok) ? (cacheVerified ? "verified" : "skipped") : "failed",
                    ["signatures"] = !signaturesRead ? "skipped" : signatures.Values.Any(v => v is "invalid" or "untrusted" or "unsignednotallowed") ? "failed" : "accepted",
                },
                ["drift"] = new JsonList(differences.Select(d => (JsonItem)d.Description)),
                ["packages"] = packages,
            },
        };
    }
}

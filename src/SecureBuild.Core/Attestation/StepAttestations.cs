using System.Security.Cryptography;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;
using SecureBuild.Core.Provenance;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Attestation;

/// <summary>
/// The DSSE forms of a step: its link as an in-toto Statement v1 with the link predicate v0.3
/// (<c>&lt;step&gt;.&lt;keyid8&gt;.intoto.jsonl</c>) and SLSA provenance for its outputs
/// (<c>&lt;step&gt;.provenance.intoto.jsonl</c>). Each file is a JSON Lines bundle of one envelope.
/// </summary>
public static class StepAttestations
{
    public const string LinkPredicateType = "https://in-toto.io/attestation/link/v0.3";

    public static string LinkStatementFileName(string step, string keyId) => $"{step}.{keyId.Substring(0, 8)}.intoto.jsonl";

    public static string ProvenanceFileName(string step) => $"{step}.provenance.intoto.jsonl";

    public static string ProvenanceBundleFileName(string step) => $"{step}.provenance" + SigstoreBundleWriter.FileSuffix;

    /// <summary>The link as Statement v1 + link predicate v0.3 (subjects = products), or null when the step has no products.</summary>
    public static JsonMap? LinkStatement(Link link)
    {
        if (link.Products.Count == 0)
        {
            return null;
        }
        return new JsonMap
        {
            ["_type"] = ProvenanceStatement.StatementType,
            ["subject"] = new JsonList(link.Products.Select(p => (JsonItem)new Subject(p.Key, p.Value).ToJson())),
            ["predicateType"] = LinkPredicateType,
            ["predicate"] = new JsonMap
            {
                ["name"] = link.Name,
                ["command"] = new JsonList(link.Command.Select(c => (JsonItem)c)),
                ["materials"] = new JsonList(link.Materials.Select(m => (JsonItem)new Subject(m.Key, m.Value).ToJson())),
                ["byproducts"] = link.Byproducts.DeepClone(),
                ["environment"] = link.Environment.DeepClone(),
            },
        };
    }

    /// <summary>
    /// Signs <paramref name="statement"/>, every URL in it without credentials, into a one-line DSSE envelope file and, when
    /// <paramref name="bundlePath"/> is given, into a Sigstore bundle v0.3 (public-key hint, or keyless), atomically.
    /// </summary>
    /// <param name="statement">The statement.</param>
    /// <param name="key">Signs the envelope file (and the bundle unless <paramref name="keyless"/> is given).</param>
    /// <param name="path">The one-line DSSE envelope file.</param>
    /// <param name="bundlePath">The Sigstore bundle, or null for none.</param>
    /// <param name="keyless">SecureBuildSigning=keyless or spiffe: the bundle gets the signer's certificate (and for keyless a Rekor entry) instead of a key hint.</param>
    public static void WriteEnvelope(JsonMap statement, SigningKey key, string path, string? bundlePath = null, ICertificateSigner? keyless = null)
    {
        // Whoever built the statement, no URL credential is signed into it (a remote, a CI server URL, a feed).
        var payload = JsonText.WriteUtf8(UrlRedaction.RedactAll(statement), indented: false);
        payload = payload.Take(payload.Length - 1).ToArray(); // the payload is the statement without the file's trailing newline
        if (bundlePath is not null)
        {
            SigstoreBundleWriter.Save(keyless is null
                ? SigstoreBundleWriter.SignDsse(DsseEnvelope.InTotoPayloadType, payload, key)
                : keyless.SignDsse(DsseEnvelope.InTotoPayloadType, payload), bundlePath);
        }
        var envelope = DsseEnvelope.Sign(DsseEnvelope.InTotoPayloadType, payload, key);
        var line = JsonText.Write(envelope.ToJson(), indented: false).TrimEnd('\n') + "\n";
        AtomicFile.WriteAllBytes(path, new System.Text.UTF8Encoding(false).GetBytes(line));
    }

    public static IReadOnlyDictionary<string, string> Sha256Of(string path)
    {
        return new Dictionary<string, string> { ["sha256"] = Sha256Hex.OfFile(path) };
    }
}

using Org.BouncyCastle.X509;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Json;
using SecureBuild.Core.IO;

namespace SecureBuild.Core.Sigstore;

/// <summary>A closed validity interval [Start, End]; End null = open-ended.</summary>
public sealed class TimeRange
{
    public TimeRange(DateTimeOffset start, DateTimeOffset? end)
    {
        Start = start;
        End = end;
    }

    public DateTimeOffset Start { get; }

    public DateTimeOffset? End { get; }

    /// <summary>True when <paramref name="t"/> lies in the closed interval.</summary>
    public bool Contains(DateTimeOffset t) => t >= Start && (End is null || t <= End.Value);

    public override string ToString() =>
        $"[{SigstoreTime.Format(Start)}, {(End is null ? "open" : SigstoreTime.Format(End.Value))}]";
}

/// <summary>A transparency log (Rekor) or certificate transparency log from the trusted root.</summary>
public sealed class TransparencyLogInstance
{
    internal TransparencyLogInstance(string baseUrl, byte[] logId, byte[] checkpointKeyId, string keyDetails, TimeRange validFor, SigstorePublicKey? key, string? keyError)
    {
        BaseUrl = baseUrl;
        LogId = logId;
        CheckpointKeyId = checkpointKeyId;
        KeyDetails = keyDetails;
        ValidFor = validFor;
        Key = key;
        KeyError = keyError;
    }

    public string BaseUrl { get; }

    /// <summary>The log ID (Rekor v1 / CT: SHA-256 of the DER SPKI; Rekor v2: the signed-note key ID).</summary>
    public byte[] LogId { get; }

    /// <summary>The key ID checkpoint signatures carry (the first 4 bytes are the signature line's key hint).</summary>
    public byte[] CheckpointKeyId { get; }

    public string KeyDetails { get; }

    public TimeRange ValidFor { get; }

    /// <summary>The host (and port) of <see cref="BaseUrl"/>: the name a checkpoint signature line carries.</summary>
    public string HostName
    {
        get
        {
            string s = BaseUrl;
            int scheme = s.IndexOf("://", StringComparison.Ordinal);
            if (scheme >= 0)
            {
                s = s.Substring(scheme + 3);
            }

            int slash = s.IndexOf('/');
            return slash >= 0 ? s.Substring(0, slash) : s;
        }
    }

    internal SigstorePublicKey? Key { get; }

    /// <summary>Why the key could not be used (null when it can).</summary>
    internal string? KeyError { get; }
}

/// <summary>A Fulcio certificate authority or timestamp authority: its certificate chain (leaf/intermediate first, root last).</summary>
public sealed class CertificateAuthorityInstance
{
    internal CertificateAuthorityInstance(string uri, string subject, IReadOnlyList<X509Certificate> chain, TimeRange validFor)
    {
        Uri = uri;
        Subject = subject;
        Chain = chain;
        ValidFor = validFor;
    }

    public string Uri { get; }

    /// <summary>"organization/commonName" from the trusted root, for messages.</summary>
    public string Subject { get; }

    public TimeRange ValidFor { get; }

    internal IReadOnlyList<X509Certificate> Chain { get; }

    /// <summary>DER encodings of the chain.</summary>
    public IReadOnlyList<byte[]> CertificatesDer => Chain.Select(c => c.GetEncoded()).ToList();
}

/// <summary>
/// A Sigstore trusted root (<c>application/vnd.dev.sigstore.trustedroot+json;version=0.1</c>): transparency logs,
/// Fulcio CAs, CT logs and timestamp authorities, each with a validity interval. Every <c>validFor</c> must have a
/// <c>start</c>; a root that lacks one is rejected as malformed rather than read as unbounded.
/// </summary>
public sealed class SigstoreTrustedRoot
{
    private SigstoreTrustedRoot(
        string mediaType,
        IReadOnlyList<TransparencyLogInstance> tlogs,
        IReadOnlyList<CertificateAuthorityInstance> cas,
        IReadOnlyList<TransparencyLogInstance> ctlogs,
        IReadOnlyList<CertificateAuthorityInstance> tsas)
    {
        MediaType = mediaType;
        TransparencyLogs = tlogs;
        CertificateAuthorities = cas;
        CtLogs = ctlogs;
        TimestampAuthorities = tsas;
    }

    public string MediaType { get; }

    public IReadOnlyList<TransparencyLogInstance> TransparencyLogs { get; }

    public IReadOnlyList<CertificateAuthorityInstance> CertificateAuthorities { get; }

    public IReadOnlyList<TransparencyLogInstance> CtLogs { get; }

    public IReadOnlyList<CertificateAuthorityInstance> TimestampAuthorities { get; }

    /// <summary>Reads a trusted_root.json file.</summary>
    /// <exception cref="SigstoreFormatException">Malformed.</exception>
    /// <exception cref="IOException">Unreadable.</exception>
    public static SigstoreTrustedRoot Load(string path) => Parse(InputFile.ReadAllBytes(path, InputKind.TrustedRoot));

    /// <exception cref="SigstoreFormatException">Malformed.</exception>
    public static SigstoreTrustedRoot Parse(byte[] utf8Json)
    {
        if (utf8Json is null)
        {
            throw new ArgumentNullException(nameof(utf8Json));
        }

        var root = StrictJson.AsObject(StrictJson.Parse(utf8Json, "the trusted root", Fail), "trustedRoot", Fail);
        string mediaType = StrictJson.ReqString(root, "mediaType", "trustedRoot", Fail);
        if (!mediaType.StartsWith("application/vnd.dev.sigstore.trustedroot+json;version=0.", StringComparison.Ordinal)
            && !mediaType.StartsWith("application/vnd.dev.sigstore.trustedroot.v0.", StringComparison.Ordinal))
        {
            throw Fail($"trustedRoot.mediaType \"{StrictJson.Clip(mediaType)}\" is not a Sigstore trusted root media type.");
        }

        var tlogs = ReadLogs(root, "tlogs");
        var ctlogs = ReadLogs(root, "ctlogs");
        var cas = ReadAuthorities(root, "certificateAuthorities");
        var tsas = ReadAuthorities(root, "timestampAuthorities");
        return new SigstoreTrustedRoot(mediaType, tlogs, cas, ctlogs, tsas);
    }

    private static List<TransparencyLogInstance> ReadLogs(JsonMap root, string field)
    {
        var result = new List<TransparencyLogInstance>();
        var array = StrictJson.OptArray(root, field, "trustedRoot", Fail);
        if (array is null)
        {
            return result;
        }

        for (int i = 0; i < array.Count; i++)
        {
            string path = $"trustedRoot.{field}[{i}]";
            var log = StrictJson.AsObject(array[i], path, Fail);
            string baseUrl = StrictJson.OptString(log, "baseUrl", path, Fail) ?? string.Empty;
            string? hashAlgorithm = StrictJson.OptString(log, "hashAlgorithm", path, Fail);
            if (hashAlgorithm is not null && hashAlgorithm != "SHA2_256")
            {
                throw Fail($"{path}.hashAlgorithm \"{StrictJson.Clip(hashAlgorithm)}\" is not supported (only SHA2_256).");
            }

            var publicKey = StrictJson.ReqObject(log, "publicKey", path, Fail);
            string keyDetails = StrictJson.OptString(publicKey, "keyDetails", path + ".publicKey", Fail) ?? "PUBLIC_KEY_DETAILS_UNSPECIFIED";
            byte[] raw = StrictJson.ReqBytes(publicKey, "rawBytes", path + ".publicKey", Fail);
            var validFor = ReadRange(publicKey, path + ".publicKey");
            var logIdObj = StrictJson.ReqObject(log, "logId", path, Fail);
            byte[] logId = StrictJson.ReqBytes(logIdObj, "keyId", path + ".logId", Fail);
            var checkpointKeyIdObj = StrictJson.OptObject(log, "checkpointKeyId", path, Fail);
            byte[] checkpointKeyId = checkpointKeyIdObj is null
                ? logId
                : StrictJson.ReqBytes(checkpointKeyIdObj, "keyId", path + ".checkpointKeyId", Fail);

            SigstorePublicKey? key = null;
            string? keyError = null;
            try
            {
                key = SigstorePublicKey.FromDer(raw, keyDetails);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // An unusable key only disables this log: it can then verify nothing.
                keyError = $"{path}.publicKey cannot be read ({keyDetails}): {e.Message}";
            }

            result.Add(new TransparencyLogInstance(baseUrl, logId, checkpointKeyId, keyDetails, validFor, key, keyError));
        }

        return result;
    }

    private static List<CertificateAuthorityInstance> ReadAuthorities(JsonMap root, string field)
    {
        var result = new List<CertificateAuthorityInstance>();
        var array = StrictJson.OptArray(root, field, "trustedRoot", Fail);
        if (array is null)
        {
            return result;
        }

        var parser = new X509CertificateParser();
        for (int i = 0; i < array.Count; i++)
        {
            string path = $"trustedRoot.{field}[{i}]";
            var ca = StrictJson.AsObject(array[i], path, Fail);
            string uri = StrictJson.OptString(ca, "uri", path, Fail) ?? string.Empty;
            var subjectObj = StrictJson.OptObject(ca, "subject", path, Fail);
            string subject = subjectObj is null
                ? string.Empty
                : $"{StrictJson.OptString(subjectObj, "organization", path + ".subject", Fail)}/{StrictJson.OptString(subjectObj, "commonName", path + ".subject", Fail)}";
            var chainObj = StrictJson.ReqObject(ca, "certChain", path, Fail);
            var certs = StrictJson.ReqArray(chainObj, "certificates", path + ".certChain", Fail);
            if (certs.Count == 0)
            {
                throw Fail($"{path}.certChain.certificates is empty.");
            }

            var chain = new List<X509Certificate>();
            for (int j = 0; j < certs.Count; j++)
            {
                string p = $"{path}.certChain.certificates[{j}]";
                byte[] der = StrictJson.ReqBytes(StrictJson.AsObject(certs[j], p, Fail), "rawBytes", p, Fail);
                chain.Add(SigstoreCertificates.Parse(der, p, Fail));
            }

            result.Add(new CertificateAuthorityInstance(uri, subject, chain, ReadRange(ca, path)));
        }

        return result;
    }

    private static TimeRange ReadRange(JsonMap parent, string path)
    {
        var range = StrictJson.OptObject(parent, "validFor", path, Fail)
            ?? throw Fail($"{path} has no \"validFor\": every trust-root key and authority needs a validity interval.");
        string? start = StrictJson.OptString(range, "start", path + ".validFor", Fail);
        if (start is null)
        {
            throw Fail($"{path}.validFor has no \"start\": the trusted root is malformed (a missing start is not read as 'valid since forever').");
        }

        if (!SigstoreTime.TryParse(start, out var s))
        {
            throw Fail($"{path}.validFor.start \"{StrictJson.Clip(start)}\" is not an RFC 3339 time.");
        }

        string? end = StrictJson.OptString(range, "end", path + ".validFor", Fail);
        DateTimeOffset? e = null;
        if (end is not null)
        {
            if (!SigstoreTime.TryParse(end, out var parsedEnd))
            {
                throw Fail($"{path}.validFor.end \"{StrictJson.Clip(end)}\" is not an RFC 3339 time.");
            }

            if (parsedEnd < s)
            {
                throw Fail($"{path}.validFor ends before it starts.");
            }

            e = parsedEnd;
        }

        return new TimeRange(s, e);
    }

    private static Exception Fail(string message) => new SigstoreFormatException("trusted root: " + message);
}

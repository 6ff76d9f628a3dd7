using System.Globalization;
using System.Net.Http;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Transparency;

/// <summary>What the upload did: the entry, and whether it was already in the log (HTTP 409 on a retry).</summary>
public sealed class RekorUpload
{
    internal RekorUpload(TransparencyLogEntry entry, int attempts, bool existing)
    {
        Entry = entry;
        Attempts = attempts;
        Existing = existing;
    }

    public TransparencyLogEntry Entry { get; }

    /// <summary>POST requests made (1 when the first one succeeded).</summary>
    public int Attempts { get; }

    /// <summary>The log already held the entry (409): it was fetched, not made a second time.</summary>
    public bool Existing { get; }
}

/// <summary>
/// Rekor v1 (<c>POST /api/v1/log/entries</c>): uploads a proposed entry and returns it as a bundle's transparency-log
/// entry (log index, integrated time, SET, inclusion proof with checkpoint, canonicalized body). A lost answer or a
/// 5xx/429 is retried with exponential backoff; Rekor refuses a second copy of an entry with 409 and names the
/// existing one in Location, which is then fetched: a retry never makes a duplicate entry. The answer is checked for
/// shape and internal consistency (the body's kind, the inclusion proof against the checkpoint's root); the log's
/// signatures are checked against a trusted root by the caller (<see cref="SigstoreVerifier"/>).
/// </summary>
public sealed class RekorClient
{
    public const string EntriesPath = "/api/v1/log/entries";

    private readonly Uri _baseUrl;
    private readonly BoundedHttp _http;
    private readonly Action<TimeSpan> _sleep;

    /// <param name="baseUrl">The log's base URL (https://rekor.sigstore.dev).</param>
    /// <param name="http">The bounded client.</param>
    /// <param name="maxAttempts">POST attempts before giving up (at least 1).</param>
    /// <param name="sleep">Waits between attempts (tests pass a recorder).</param>
    public RekorClient(Uri baseUrl, BoundedHttp http, int maxAttempts = 4, Action<TimeSpan>? sleep = null)
    {
        _baseUrl = baseUrl ?? throw new ArgumentNullException(nameof(baseUrl));
        _http = http ?? throw new ArgumentNullException(nameof(http));
        MaxAttempts = Math.Max(1, maxAttempts);
        _sleep = sleep ?? Thread.Sleep;
    }

    public int MaxAttempts { get; }

    /// <summary>The wait before attempt <paramref name="attempt"/> (2, 3, ...): 0.5 s, 1 s, 2 s, ... capped at 8 s.</summary>
    public static TimeSpan Backoff(int attempt) => TimeSpan.FromMilliseconds(Math.Min(8000, 500 * Math.Pow(2, attempt - 2)));

    /// <summary>Uploads <paramref name="proposedEntry"/> (a Rekor v1 proposed entry: hashedrekord or dsse).</summary>
    /// <exception cref="KeylessException">SB5020 (unreachable, refused), SB5021 (unusable answer).</exception>
    public RekorUpload Upload(JsonMap proposedEntry)
    {
        var url = ServiceUrl.Combine(_baseUrl, EntriesPath);
        byte[] request = JsonText.WriteUtf8(proposedEntry, indented: false);
        string fix = $"Check the Rekor URL (SecureBuildRekorUrl, now {_baseUrl}) and the network; to write bundles without a log entry when the log is down, set SecureBuildTransparencyLog=optional (verifiers then need a timestamp instead).";
        string lastProblem = string.Empty;
        for (int attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                _sleep(Backoff(attempt));
            }

            HttpReply reply;
            try
            {
                reply = _http.Send(HttpMethod.Post, url, request, "application/json", new[] { new KeyValuePair<string, string>("Accept", "application/json") });
            }
            catch (HttpFailure e) when (e.Transient)
            {
                lastProblem = e.Message;
                continue;
            }
            catch (HttpFailure e)
            {
                throw new KeylessException(KeylessException.RekorFailed, "the transparency log upload failed: " + e.Message, fix, e);
            }

            if (reply.IsSuccess)
            {
                return new RekorUpload(ParseEntry(reply.Body, _baseUrl), attempt, existing: false);
            }

            if (reply.Status == 409)
            {
                return new RekorUpload(FetchExisting(reply, fix), attempt, existing: true);
            }

            if (BoundedHttp.IsTransientStatus(reply.Status))
            {
                lastProblem = $"HTTP {reply.Status}: {reply.Excerpt()}";
                continue;
            }

            throw new KeylessException(KeylessException.RekorFailed, $"the transparency log refused the entry with HTTP {reply.Status}: {reply.Excerpt()}", fix);
        }

        throw new KeylessException(KeylessException.RekorFailed, $"the transparency log upload failed {MaxAttempts} times; the last attempt: {lastProblem}", fix);
    }

    private TransparencyLogEntry FetchExisting(HttpReply conflict, string fix)
    {
        if (string.IsNullOrEmpty(conflict.Location)
            || !Uri.TryCreate(_baseUrl, conflict.Location, out var location)
            || location.Host != _baseUrl.Host || location.Port != _baseUrl.Port || location.Scheme != _baseUrl.Scheme)
        {
            throw new KeylessException(KeylessException.RekorBadResponse, $"the transparency log says the entry exists (HTTP 409) but names no location on {_baseUrl.Host} to fetch it from: {conflict.Excerpt()}", fix);
        }

        string lastProblem = string.Empty;
        for (int attempt = 1; attempt <= MaxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                _sleep(Backoff(attempt));
            }

            try
            {
                var reply = _http.Send(HttpMethod.Get, location, headers: new[] { new KeyValuePair<string, string>("Accept", "application/json") });
                if (reply.IsSuccess)
                {
                    return ParseEntry(reply.Body, _baseUrl);
                }

                lastProblem = $"HTTP {reply.Status}: {reply.Excerpt()}";
                if (!BoundedHttp.IsTransientStatus(reply.Status))
                {
                    break;
                }
            }
            catch (HttpFailure e) when (e.Transient)
            {
                lastProblem = e.Message;
            }
        }

        throw new KeylessException(KeylessException.RekorFailed, $"the transparency log holds the entry already, but fetching it from {location.GetLeftPart(UriPartial.Path)} failed: {lastProblem}", fix);
    }

    /// <summary>Reads a Rekor v1 LogEntry answer ({uuid: {body, integratedTime, logID, logIndex, verification}}).</summary>
    /// <exception cref="KeylessException">SB5021.</exception>
    public static TransparencyLogEntry ParseEntry(byte[] answer, Uri from)
    {
        string fix = $"Check that SecureBuildRekorUrl ({from}) names a Rekor v1 transparency log.";
        Exception Bad(string what) => new KeylessException(KeylessException.RekorBadResponse, "the transparency log's answer cannot be used: " + what, fix);
        JsonMap root;
        try
        {
            root = JsonParser.Parse(answer) as JsonMap ?? throw Bad("it is not a JSON object");
        }
        catch (JsonFormatException e)
        {
            throw Bad("it is not JSON (" + e.Message + ")");
        }

        if (root.Count != 1 || root.First().Value is not JsonMap e1)
        {
            throw Bad($"expected one entry keyed by its UUID, found {root.Count} members");
        }

        byte[] body = Bytes(e1, "body", Bad);
        long integratedTime = Int(e1, "integratedTime", Bad);
        long logIndex = Int(e1, "logIndex", Bad);
        if (!Hex.TryDecode(Str(e1, "logID", Bad), out byte[] logId) || logId.Length != 32)
        {
            throw Bad("logID is not 32 bytes of hex");
        }

        var verification = Obj(e1, "verification", Bad);
        byte[] set = Bytes(verification, "signedEntryTimestamp", Bad);
        var p = Obj(verification, "inclusionProof", Bad);
        string checkpoint = Str(p, "checkpoint", Bad);
        long proofIndex = Int(p, "logIndex", Bad);
        long treeSize = Int(p, "treeSize", Bad);
        if (!Hex.TryDecode(Str(p, "rootHash", Bad), out byte[] rootHash) || rootHash.Length != 32)
        {
            throw Bad("inclusionProof.rootHash is not 32 bytes of hex");
        }

        var hashes = new List<byte[]>();
        foreach (var h in (p.TryGetValue("hashes", out var hv) ? hv as JsonList : null) ?? new JsonList())
        {
            if (h is not JsonString hs || !Hex.TryDecode(hs.Value, out byte[] hash) || hash.Length != 32)
            {
                throw Bad("inclusionProof.hashes holds a value that is not 32 bytes of hex");
            }

            hashes.Add(hash);
        }

        string? merkle = Merkle.VerifyInclusion(proofIndex, treeSize, Merkle.LeafHash(body), hashes, rootHash);
        if (merkle is not null)
        {
            throw Bad("its inclusion proof does not lead to its root hash: " + merkle);
        }

        var note = SignedCheckpoint.TryParse(checkpoint, out string noteError) ?? throw Bad("its checkpoint is malformed: " + noteError);
        if (note.Size != treeSize || !ByteArrays.Equal(note.RootHash, rootHash))
        {
            throw Bad("its checkpoint is for another tree than its inclusion proof");
        }

        string kind;
        string version;
        try
        {
            var parsed = JsonParser.Parse(body) as JsonMap ?? throw Bad("its body is not a JSON object");
            kind = (parsed.TryGetValue("kind", out var k) ? k as JsonString : null)?.Value ?? throw Bad("its body has no kind");
            version = (parsed.TryGetValue("apiVersion", out var v) ? v as JsonString : null)?.Value ?? throw Bad("its body has no apiVersion");
        }
        catch (JsonFormatException e)
        {
            throw Bad("its body is not JSON (" + e.Message + ")");
        }

        return new TransparencyLogEntry(logIndex, logId, kind, version, integratedTime, set, new InclusionProof(proofIndex, rootHash, treeSize, hashes, checkpoint), body);
    }

    private static JsonMap Obj(JsonMap o, string name, Func<string, Exception> bad) =>
        o.TryGetValue(name, out var v) && v is JsonMap m ? m : throw bad($"no \"{name}\" object");

    private static string Str(JsonMap o, string name, Func<string, Exception> bad) =>
        o.TryGetValue(name, out var v) && v is JsonString s ? s.Value : throw bad($"no \"{name}\" string");

    private static long Int(JsonMap o, string name, Func<string, Exception> bad) =>
        o.TryGetValue(name, out var v) && v is JsonNumber n && long.TryParse(n.RawText, NumberStyles.None, CultureInfo.InvariantCulture, out long r)
            ? r
            : throw bad($"\"{name}\" is not a non-negative integer");

    private static byte[] Bytes(JsonMap o, string name, Func<string, Exception> bad)
    {
        string text = Str(o, name, bad);
        return Base64Codec.TryDecode(text, out var bytes, out var error) && bytes.Length > 0 ? bytes : throw bad($"\"{name}\" is not base64 ({error})");
    }
}

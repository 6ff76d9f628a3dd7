using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Attestation;

/// <summary>
/// An in-toto ResourceDescriptor (attestation framework v1). All fields are optional, but at least one of
/// <c>uri</c>, <c>digest</c> or <c>content</c> must be set. Statement subjects must carry a <c>digest</c>.
/// </summary>
public sealed class ResourceDescriptor
{
    public ResourceDescriptor(
        string? name = null,
        IReadOnlyDictionary<string, string>? digest = null,
        string? uri = null,
        byte[]? content = null,
        string? downloadLocation = null,
        string? mediaType = null,
        JsonMap? annotations = null)
    {
        Name = name;
        Digest = digest ?? new Dictionary<string, string>();
        Uri = uri;
        Content = content;
        DownloadLocation = downloadLocation;
        MediaType = mediaType;
        Annotations = annotations;
    }

    public string? Name { get; }

    /// <summary>The DigestSet: algorithm name to value (lowercase hex for cryptographic hashes).</summary>
    public IReadOnlyDictionary<string, string> Digest { get; }

    public string? Uri { get; }

    public byte[]? Content { get; }

    public string? DownloadLocation { get; }

    public string? MediaType { get; }

    public JsonMap? Annotations { get; }

    public JsonMap ToJson()
    {
        var obj = new JsonMap();
        if (Name is not null)
        {
            obj.Add("name", Name);
        }

        if (Uri is not null)
        {
            obj.Add("uri", Uri);
        }

        if (Digest.Count > 0)
        {
            var d = new JsonMap();
            foreach (var kv in Digest.OrderBy(k => k.Key, StringComparer.Ordinal))
            {
                d.Add(kv.Key, kv.Value);
            }

            obj.Add("digest", d);
        }

        if (Content is not null)
        {
            obj.Add("content", Convert.ToBase64String(Content));
        }

        if (DownloadLocation is not null)
        {
            obj.Add("downloadLocation", DownloadLocation);
        }

        if (MediaType is not null)
        {
            obj.Add("mediaType", MediaType);
        }

        if (Annotations is not null)
        {
            obj.Add("annotations", Annotations.DeepClone());
        }

        return obj;
    }
}

/// <summary>
/// An in-toto Statement v1: <c>_type</c> = https://in-toto.io/Statement/v1, a non-empty <c>subject</c> list (each with
/// a digest), a <c>predicateType</c> URI and an optional <c>predicate</c> object. Parsing checks every known field's
/// type; unknown top-level fields are ignored, as the specification requires of consumers.
/// </summary>
public sealed class InTotoStatement
{
    public const string StatementTypeV1 = "https://in-toto.io/Statement/v1";

    /// <summary>Digest algorithms whose values must be lowercase hex, with their lengths in hex characters.</summary>
    private static readonly Dictionary<string, int> HexDigestLengths = new(StringComparer.Ordinal)
    {
        ["sha256"] = 64, ["sha224"] = 56, ["sha384"] = 96, ["sha512"] = 128, ["sha512_224"] = 56, ["sha512_256"] = 64,
        ["sha3_224"] = 56, ["sha3_256"] = 64, ["sha3_384"] = 96, ["sha3_512"] = 128, ["sha1"] = 40, ["md5"] = 32,
    };

    public InTotoStatement(IEnumerable<ResourceDescriptor> subjects, string predicateType, JsonMap? predicate)
    {
        Subjects = (subjects ?? throw new ArgumentNullException(nameof(subjects))).ToList().AsReadOnly();
        PredicateType = predicateType ?? throw new ArgumentNullException(nameof(predicateType));
        Predicate = predicate;
        if (Subjects.Count == 0)
        {
            throw new ArgumentException("A statement needs at least one subject.", nameof(subjects));
        }

        if (Subjects.Any(s => s.Digest.Count == 0))
        {
            throw new ArgumentException("Every statement subject needs a digest.", nameof(subjects));
        }

        if (predicateType.Length == 0)
        {
            throw new ArgumentException("The predicateType must not be empty.", nameof(predicateType));
        }
    }

    public IReadOnlyList<ResourceDescriptor> Subjects { get; }

    public string PredicateType { get; }

    /// <summary>The predicate object, or null when absent.</summary>
    public JsonMap? Predicate { get; }

    /// <summary>True when some subject's digest set has <paramref name="algorithm"/> = <paramref name="hexValue"/> (case-insensitive hex).</summary>
    public bool HasSubjectDigest(string algorithm, string hexValue) =>
        Subjects.Any(s => s.Digest.TryGetValue(algorithm, out var v) && string.Equals(v, hexValue, StringComparison.OrdinalIgnoreCase));

    /// <summary>Parses a statement from the exact payload bytes of a verified envelope.</summary>
    /// <exception cref="AttestationFormatException">Not a well-formed Statement v1.</exception>
    public static InTotoStatement Parse(byte[] utf8Json)
    {
        if (utf8Json is null)
        {
            throw new ArgumentNullException(nameof(utf8Json));
        }

        return FromJson(StrictJson.Parse(utf8Json, "the in-toto statement", Fail));
    }

    /// <exception cref="AttestationFormatException">Not a well-formed Statement v1.</exception>
    public static InTotoStatement FromJson(JsonItem node)
    {
        const string path = "statement";
        var obj = StrictJson.AsObject(node, path, Fail);
        string type = StrictJson.ReqString(obj, "_type", path, Fail);
        if (type != StatementTypeV1)
        {
            throw Fail($"statement._type is \"{StrictJson.Clip(type)}\", expected \"{StatementTypeV1}\".");
        }

        var subjectArray = StrictJson.ReqArray(obj, "subject", path, Fail);
        if (subjectArray.Count == 0)
        {
            throw Fail("statement.subject is empty: a statement must have at least one subject.");
        }

        var subjects = new List<ResourceDescriptor>();
        for (int i = 0; i < subjectArray.Count; i++)
        {
            var rd = ReadDescriptor(subjectArray[i], $"statement.subject[{i}]");
            if (rd.Digest.Count == 0)
            {
                throw Fail($"statement.subject[{i}] has no \"digest\": subjects are matched by digest only.");
            }

            subjects.Add(rd);
        }

        string predicateType = StrictJson.ReqString(obj, "predicateType", path, Fail);
        if (predicateType.Length == 0)
        {
            throw Fail("statement.predicateType is empty.");
        }

        var predicate = StrictJson.OptObject(obj, "predicate", path, Fail);
        return new InTotoStatement(subjects, predicateType, predicate);
    }

    /// <summary>The statement JSON (keys in specification order: _type, subject, predicateType, predicate).</summary>
    public JsonMap ToJson()
    {
        var obj = new JsonMap
        {
            { "_type", StatementTypeV1 },
            { "subject", new JsonList(Subjects.Select(s => (JsonItem)s.ToJson())) },
            { "predicateType", PredicateType },
        };
        if (Predicate is not null)
        {
            obj.Add("predicate", Predicate.DeepClone());
        }

        return obj;
    }

    /// <summary>Compact UTF-8 JSON (sorted keys, no whitespace), the payload to put in an envelope.</summary>
    public byte[] ToPayload() => System.Text.Encoding.ASCII.GetBytes(JsonText.Write(ToJson(), indented: false));

    /// <summary>Signs the statement into a DSSE envelope and returns its .intoto.jsonl line (with newline).</summary>
    public string SignToJsonLine(Crypto.SigningKey key) =>
        JsonText.Write(DsseEnvelope.Sign(DsseEnvelope.InTotoPayloadType, ToPayload(), key).ToJson(), indented: false) + "\n";

    /// <summary>
    /// The statement of the first of <paramref name="envelopes"/> that is signed by one of <paramref name="keys"/> (DSSE
    /// payload type in-toto) and has <paramref name="predicateType"/>, or null; why each other envelope was passed over
    /// is added to <paramref name="rejected"/>.
    /// </summary>
    public static InTotoStatement? FirstSigned(IEnumerable<DsseEnvelope> envelopes, IReadOnlyCollection<Crypto.PublicKey> keys, string predicateType, List<string> rejected)
    {
        foreach (var envelope in envelopes)
        {
            var check = envelope.Verify(keys, 1, DsseEnvelope.InTotoPayloadType);
            if (!check.Verified)
            {
                rejected.Add(check.Failure ?? "signature does not verify");
                continue;
            }

            InTotoStatement candidate;
            try
            {
                candidate = Parse(envelope.Payload);
            }
            catch (AttestationFormatException e)
            {
                rejected.Add("the signed payload is not an in-toto Statement v1: " + e.Message);
                continue;
            }

            if (candidate.PredicateType != predicateType)
            {
                rejected.Add($"the signed statement's predicateType is '{candidate.PredicateType}', not '{predicateType}'");
                continue;
            }

            return candidate;
        }

        return null;
    }

    /// <summary>A ResourceDescriptor at <paramref name="path"/> (a subject, or one inside a predicate such as the link predicate's materials).</summary>
    /// <exception cref="AttestationFormatException">Not a well-formed ResourceDescriptor.</exception>
    internal static ResourceDescriptor ReadDescriptor(JsonItem node, string path)
    {
        var obj = StrictJson.AsObject(node, path, Fail);
        string? name = StrictJson.OptString(obj, "name", path, Fail);
        string? uri = StrictJson.OptString(obj, "uri", path, Fail);
        byte[]? content = StrictJson.OptBytes(obj, "content", path, Fail);
        string? download = StrictJson.OptString(obj, "downloadLocation", path, Fail);
        string? mediaType = StrictJson.OptString(obj, "mediaType", path, Fail);
        var annotations = StrictJson.OptObject(obj, "annotations", path, Fail);
        var digest = new Dictionary<string, string>(StringComparer.Ordinal);
        var digestObj = StrictJson.OptObject(obj, "digest", path, Fail);
        if (digestObj is not null)
        {
            foreach (var kv in digestObj)
            {
                string p = $"{path}.digest.{kv.Key}";
                if (kv.Key.Length == 0)
                {
                    throw Fail($"{path}.digest has an empty algorithm name.");
                }

                if (kv.Value is not JsonString value)
                {
                    throw Fail($"{p} must be a string, found {StrictJson.Describe(kv.Value)}.");
                }

                if (value.Value.Length == 0)
                {
                    throw Fail($"{p} is empty.");
                }

                if (HexDigestLengths.TryGetValue(kv.Key, out int hexLength) && (value.Value.Length != hexLength || !Hex.IsHex(value.Value)))
                {
                    throw Fail($"{p} must be {hexLength} hex characters, found \"{StrictJson.Clip(value.Value)}\".");
                }

                digest.Add(kv.Key, value.Value);
            }
        }

        if (uri is null && digest.Count == 0 && content is null)
        {
            throw Fail($"{path} has none of \"uri\", \"digest\" and \"content\".");
        }

        return new ResourceDescriptor(name, digest, uri, content, download, mediaType, annotations);
    }

    private static Exception Fail(string message) => new AttestationFormatException(message);
}

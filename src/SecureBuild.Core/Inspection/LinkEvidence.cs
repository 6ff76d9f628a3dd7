using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Inspection;

/// <summary>The source of a file the links account for: the step, and the artifact name it has there.</summary>
public sealed class ArtifactOrigin
{
    public ArtifactOrigin(string step, string artifact, bool isProduct)
    {
        Step = step;
        Artifact = artifact;
        IsProduct = isProduct;
    }

    /// <summary>The step whose link names the file.</summary>
    public string Step { get; }

    /// <summary>The artifact name in the link (as <see cref="Recording.ArtifactNamer"/> named it).</summary>
    public string Artifact { get; }

    /// <summary>A product of the step; else a material it declared (a file copied into the package as it is).</summary>
    public bool IsProduct { get; }
}


/// <summary>
/// Every plain SHA-256 digest the in-toto links of a build record (the `*.link` files SecureBuild.Sdk writes, read with
/// <see cref="Metablock"/> and <see cref="Link"/>, and the same links as DSSE-signed statements in `*.intoto.jsonl`, as
/// in-toto's attestation tools and SLSA generators write them), with where it came from. Path-mapped digests
/// ("sha256-pathmapped", see <see cref="Recording.PathMapping"/>) are of rewritten content and never match a file's bytes,
/// so they are not indexed. Products win over materials for the same digest.
/// </summary>
public sealed class LinkEvidence
{
    private readonly Dictionary<string, ArtifactOrigin> _byDigest = new(StringComparer.Ordinal);

    private LinkEvidence(IReadOnlyList<string> steps)
    {
        Steps = steps;
    }

    /// <summary>The step names of the links read, in file order.</summary>
    public IReadOnlyList<string> Steps { get; }

    /// <summary>The origin of a file with this SHA-256 (lowercase hex), or null.</summary>
    public ArtifactOrigin? Find(string sha256) => _byDigest.TryGetValue(sha256, out var origin) ? origin : null;

    /// <summary>The predicate type of an in-toto link as a Statement (what the SDK and in-toto's attestation tools write).</summary>
    public const string LinkPredicateType = "https://in-toto.io/attestation/link/v0.3";

    /// <summary>
    /// Reads every `*.link` (classic metablocks) and every `*.intoto.jsonl` (DSSE envelopes, one per line; statements
    /// with the link predicate v0.3 count as links: subjects are products, predicate.materials the materials; other
    /// statements, such as provenance, are skipped) in <paramref name="directory"/>. With <paramref name="keys"/>, each
    /// link must carry a signature by one of them that verifies; without, the links are taken as they are (the report
    /// says so).
    /// </summary>
    /// <exception cref="InspectionException">SB4303 (missing folder, no link, not a link) or SB4304 (signature).</exception>
    /// <exception cref="IOException">A link file cannot be read.</exception>
    public static LinkEvidence Load(string directory, IReadOnlyList<PublicKey> keys)
    {
        if (!Directory.Exists(directory))
        {
            throw new InspectionException(InspectionCodes.UnreadableLinks,
                $"links folder '{directory}' does not exist. Give the attestations folder the build wrote (SecureBuildAttestationDir, by default bin/<Configuration>/attestations/).");
        }

        var links = new List<Link>();
        foreach (var file in Directory.EnumerateFiles(directory, "*.link").OrderBy(f => f, StringComparer.Ordinal))
        {
            links.Add(ReadMetablock(file, keys));
        }

        foreach (var file in Directory.EnumerateFiles(directory, "*.intoto.jsonl").OrderBy(f => f, StringComparer.Ordinal))
        {
            links.AddRange(ReadStatements(file, keys));
        }

        if (links.Count == 0)
        {
            throw new InspectionException(InspectionCodes.UnreadableLinks,
                $"links folder '{directory}' has no in-toto link (no *.link file, no link statement in a *.intoto.jsonl). Build and pack with SecureBuild.Sdk, then give its attestations folder.");
        }

        var evidence = new LinkEvidence(links.Select(l => l.Name).Distinct(StringComparer.Ordinal).ToList());
        foreach (var link in links)
        {
            evidence.Index(link, link.Products, isProduct: true);
        }

        foreach (var link in links)
        {
            evidence.Index(link, link.Materials, isProduct: false);
        }

        return evidence;
    }

    private static Link ReadMetablock(string file, IReadOnlyList<PublicKey> keys)
    {
        Metablock block;
        Link link;
        try
        {
            block = Metablock.Load(file);
            link = Link.FromJson(block.Signed);
        }
        catch (Exception e) when (e is InTotoFormatException || e is JsonFormatException)
        {
            throw new InspectionException(InspectionCodes.UnreadableLinks, $"{file} is not an in-toto link ({e.Message}). Remove it from the folder or rebuild.", e);
        }

        if (keys.Count > 0)
        {
            var signer = keys.FirstOrDefault(k => block.Signatures.Any(s => s.KeyId == k.KeyId));
            if (signer is null || !block.VerifySignature(signer))
            {
                throw new InspectionException(InspectionCodes.LinkSignature,
                    $"{file}: {(signer is null ? "no signature by a given key" : "the signature by " + signer.KeyId + " does not verify")}: the link cannot be trusted. Rebuild to record it again, or give the key the build signed with.");
            }
        }

        return link;
    }

    /// <summary>The link statements of one JSON Lines file of DSSE envelopes.</summary>
    private static IEnumerable<Link> ReadStatements(string file, IReadOnlyList<PublicKey> keys)
    {
        var lines = InputFile.ReadAllLines(file, InputKind.Link);
        var links = new List<Link>();
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Trim().Length == 0)
            {
                continue;
            }

            var where = $"{file} line {i + 1}";
            DsseEnvelope envelope;
            InTotoStatement statement;
            try
            {
                envelope = DsseEnvelope.Parse(lines[i]);
                if (envelope.PayloadType != DsseEnvelope.InTotoPayloadType)
                {
                    throw new AttestationFormatException($"the payload type is \"{StrictJson.Clip(envelope.PayloadType)}\", not an in-toto statement ({DsseEnvelope.InTotoPayloadType})");
                }

                statement = InTotoStatement.Parse(envelope.Payload);
            }
            catch (AttestationFormatException e)
            {
                throw new InspectionException(InspectionCodes.UnreadableLinks, $"{where} is not a DSSE envelope of an in-toto statement ({e.Message}). Remove the file from the folder or rebuild.", e);
            }

            if (statement.PredicateType != LinkPredicateType)
            {
                continue; // provenance, an inspection or reproducibility result: not a step's record
            }

            if (keys.Count > 0 && envelope.Verify(keys, 1) is { Verified: false } result)
            {
                throw new InspectionException(InspectionCodes.LinkSignature,
                    $"{where}: {result.Failure} The link cannot be trusted. Rebuild to record it again, or give the key the build signed with.");
            }

            links.Add(LinkOf(statement, where));
        }

        return links;
    }

    /// <summary>The link a link v0.3 statement holds: its name, subjects as products, predicate.materials as materials.</summary>
    private static Link LinkOf(InTotoStatement statement, string where)
    {
        Exception Fail(string message) => new InspectionException(InspectionCodes.UnreadableLinks,
            $"{where} is not a valid in-toto link statement: {message} Remove the file from the folder or rebuild.");

        var predicate = statement.Predicate ?? throw Fail("it has no predicate.");
        var name = StrictJson.ReqString(predicate, "name", "predicate", Fail);
        var link = new Link(name);
        foreach (var subject in statement.Subjects)
        {
            link.Products[subject.Name ?? subject.Uri ?? string.Empty] = HashDict.From(subject.Digest);
        }

        var materials = StrictJson.OptArray(predicate, "materials", "predicate", Fail) ?? new JsonList();
        for (var i = 0; i < materials.Count; i++)
        {
            ResourceDescriptor material;
            try
            {
                material = InTotoStatement.ReadDescriptor(materials[i], $"predicate.materials[{i}]");
            }
            catch (AttestationFormatException e)
            {
                throw Fail(e.Message);
            }

            link.Materials[material.Name ?? material.Uri ?? string.Empty] = HashDict.From(material.Digest);
        }

        return link;
    }

    private void Index(Link link, ArtifactMap artifacts, bool isProduct)
    {
        // In path order, whatever the file's order: the first path with a digest is the one a finding names.
        foreach (var artifact in artifacts.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            if (artifact.Value.TryGetValue("sha256", out var digest) && !_byDigest.ContainsKey(digest.ToLowerInvariant()))
            {
                _byDigest.Add(digest.ToLowerInvariant(), new ArtifactOrigin(link.Name, artifact.Key, isProduct));
            }
        }
    }
}

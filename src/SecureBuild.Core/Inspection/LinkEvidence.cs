using SecureBuild.Core.Crypto;
using SecureBuild.Core.InToto;
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
/// <see cref="Metablock"/> and <see cref="Link"/>), with where it came from. Path-mapped digests
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

    /// <summary>
    /// Reads every `*.link` in <paramref name="directory"/>. With <paramref name="keys"/>, each link must carry a
    /// signature by one of them that verifies; without, the links are taken as they are (the report says so).
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

        var files = LinkFile.FindIn(directory);
        if (files.Count == 0)
        {
            throw new InspectionException(InspectionCodes.UnreadableLinks,
                $"links folder '{directory}' has no *.link file. Build and pack with SecureBuild.Sdk, then give its attestations folder.");
        }

        var links = new List<Link>();
        foreach (var file in files)
        {
            Metablock block;
            Link link;
            try
            {
                (_, block, link) = LinkFile.Read(file);
            }
            catch (InTotoFormatException e)
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

            links.Add(link);
        }

        var evidence = new LinkEvidence(links.Select(l => l.Name).ToList());
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

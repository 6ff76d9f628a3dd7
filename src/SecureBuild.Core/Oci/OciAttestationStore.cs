using System.Text;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Oci;

/// <summary>What a push stored.</summary>
public sealed class OciPushResult
{
    internal OciPushResult(OciDescriptor subject, IReadOnlyList<(string Name, string Digest)> bundles, bool referrersApi, string? fallbackTag, string? cosignTag)
    {
        Subject = subject;
        Bundles = bundles;
        ReferrersApi = referrersApi;
        FallbackTag = fallbackTag;
        CosignTag = cosignTag;
    }

    public OciDescriptor Subject { get; }

    /// <summary>Each bundle's file name and the digest of the manifest that holds it.</summary>
    public IReadOnlyList<(string Name, string Digest)> Bundles { get; }

    /// <summary>The registry processed the manifests' subject (served the referrers API).</summary>
    public bool ReferrersApi { get; }

    /// <summary>The referrers tag (sha256-HEX) index that was updated because the registry has no referrers API, or null.</summary>
    public string? FallbackTag { get; }

    /// <summary>The cosign attestation tag (sha256-HEX.att) that was written, or null.</summary>
    public string? CosignTag { get; }
}

/// <summary>
/// A build's Sigstore bundles stored next to the artifact they describe in an OCI registry, the way cosign v3 and OCI
/// 1.1 do it: one manifest per bundle (artifactType <c>application/vnd.dev.sigstore.bundle.v0.3+json</c>, the bundle as
/// its one layer, <c>subject</c> = the artifact), found through the referrers API. Where the registry does not process
/// <c>subject</c> (distribution 2.8), the referrers tag schema index (<c>sha256-HEX</c>) is updated as the
/// distribution-spec says, and the DSSE envelopes are also written in cosign's tag layout (<c>sha256-HEX.att</c>) for
/// cosign, Kyverno and Tekton Chains. Pull reads the referrers API, the tag index and the cosign tag, checks every
/// digest, and writes the bundles (and envelopes found only in the cosign tag).
/// </summary>
public static class OciAttestationStore
{
    public const string BundleMediaType = SigstoreBundle.MediaTypeV03;
    public const string FileArtifactType = "application/vnd.securebuild.file.v1";
    public const string DsseLayerMediaType = "application/vnd.dsse.envelope.v1+json";
    public const string SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json";
    private const string TitleAnnotation = "org.opencontainers.image.title";
    private static readonly byte[] Empty = Encoding.ASCII.GetBytes("{}");

    /// <summary>The artifact manifest a file is stored as (deterministic: the same file always has the same digest).</summary>
    public static byte[] FileManifest(string fileName, OciDescriptor layer)
    {
        var manifest = new JsonMap
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciRegistryClient.ManifestMediaType,
            ["artifactType"] = FileArtifactType,
            ["config"] = EmptyDescriptor(),
            ["layers"] = new JsonList(WithAnnotations(layer.ToJson(), new JsonMap { [TitleAnnotation] = fileName })),
        };
        return Bytes(manifest);
    }

    /// <summary>The descriptor of the file's artifact manifest (without contacting a registry).</summary>
    public static OciDescriptor FileSubject(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        return OciDescriptor.Of(OciRegistryClient.ManifestMediaType, FileManifest(Path.GetFileName(path), OciDescriptor.Of("application/octet-stream", bytes)));
    }

    /// <summary>Uploads <paramref name="file"/> as an artifact (tagged with its sanitized file name) and returns its manifest's descriptor.</summary>
    public static OciDescriptor PushFile(OciRegistryClient registry, string file)
    {
        var layer = registry.PushBlob("application/octet-stream", File.ReadAllBytes(file));
        registry.PushBlob(OciRegistryClient.EmptyMediaType, Empty);
        byte[] manifest = FileManifest(Path.GetFileName(file), layer);
        var descriptor = OciDescriptor.Of(OciRegistryClient.ManifestMediaType, manifest);
        registry.PushManifest(descriptor.Digest, OciRegistryClient.ManifestMediaType, manifest);
        registry.PushManifest(Tag(Path.GetFileName(file)), OciRegistryClient.ManifestMediaType, manifest);
        return descriptor;
    }

    /// <summary>Stores each bundle as a referrer of <paramref name="subject"/>; pushing the same bundle again adds nothing.</summary>
    public static OciPushResult PushBundles(OciRegistryClient registry, OciDescriptor subject, IReadOnlyList<(string Name, byte[] Bytes, SigstoreBundle Bundle)> bundles)
    {
        registry.PushBlob(OciRegistryClient.EmptyMediaType, Empty);
        var pushed = new List<(string, string)>();
        var fallback = new List<JsonMap>();
        bool referrersApi = true;
        foreach (var (name, bytes, bundle) in bundles)
        {
            var layer = registry.PushBlob(BundleMediaType, bytes);
            var annotations = new JsonMap { [TitleAnnotation] = name, ["dev.sigstore.bundle.content"] = bundle.DsseEnvelope is null ? "message-signature" : "dsse-envelope" };
            if (PredicateType(bundle) is { } predicateType)
            {
                annotations["dev.sigstore.bundle.predicateType"] = predicateType;
            }

            var manifest = new JsonMap
            {
                ["schemaVersion"] = 2,
                ["mediaType"] = OciRegistryClient.ManifestMediaType,
                ["artifactType"] = BundleMediaType,
                ["config"] = EmptyDescriptor(),
                ["layers"] = new JsonList(layer.ToJson()),
                ["subject"] = subject.ToJson(),
                ["annotations"] = annotations,
            };
            byte[] manifestBytes = Bytes(manifest);
            var descriptor = OciDescriptor.Of(OciRegistryClient.ManifestMediaType, manifestBytes);
            referrersApi &= registry.PushManifest(descriptor.Digest, OciRegistryClient.ManifestMediaType, manifestBytes);
            pushed.Add((name, descriptor.Digest));
            var entry = descriptor.ToJson();
            entry["artifactType"] = BundleMediaType;
            entry["annotations"] = annotations.DeepClone();
            fallback.Add(entry);
        }

        string? fallbackTag = null;
        string? cosignTag = null;
        if (!referrersApi && pushed.Count > 0)
        {
            fallbackTag = ReferrersTag(subject.Digest);
            UpdateReferrersIndex(registry, fallbackTag, fallback);
            var envelopes = bundles.Where(b => b.Bundle.DsseEnvelope is not null).ToList();
            if (envelopes.Count > 0)
            {
                cosignTag = fallbackTag + ".att";
                UpdateCosignAttestations(registry, cosignTag, envelopes.Select(b => b.Bundle).ToList());
            }
        }

        return new OciPushResult(subject, pushed, referrersApi, fallbackTag, cosignTag);
    }

    /// <summary>The bundles (file name, bytes) and the DSSE envelopes found only in the cosign tag (file name, bytes) stored for <paramref name="subjectDigest"/>.</summary>
    public static (List<(string Name, byte[] Bytes)> Bundles, List<(string Name, byte[] Bytes)> Envelopes) Pull(OciRegistryClient registry, string subjectDigest)
    {
        var descriptors = new List<JsonMap>();
        byte[]? index = registry.GetReferrers(subjectDigest) ?? registry.GetManifest(ReferrersTag(subjectDigest))?.Bytes;
        if (index is not null)
        {
            descriptors.AddRange(Manifests(ParseMap(index, "the referrers index of " + subjectDigest)));
        }

        var bundles = new List<(string, byte[])>();
        var seenSignatures = new HashSet<string>(StringComparer.Ordinal);
        var seenManifests = new HashSet<string>(StringComparer.Ordinal);
        foreach (var d in descriptors)
        {
            if (Text(d, "artifactType") != BundleMediaType || Text(d, "digest") is not { } digest || !seenManifests.Add(digest))
            {
                continue;
            }

            var got = registry.GetManifest(digest) ?? throw new OciException(OciException.Malformed, $"{registry.Repository}: the referrers list {digest}, which the registry does not have", "Push the attestations again.");
            var manifest = ParseMap(got.Bytes, "manifest " + digest);
            if (!(manifest.TryGetValue("subject", out var s) && s is JsonMap subject && Text(subject, "digest") == subjectDigest))
            {
                throw new OciException(OciException.Malformed, $"{registry.Repository}: manifest {digest} is listed as a referrer of {subjectDigest} but its subject is another", "Do not trust this registry's referrers; push the attestations again.");
            }

            var layer = Manifests(manifest, "layers").FirstOrDefault(l => Text(l, "mediaType") == BundleMediaType)
                ?? throw new OciException(OciException.Malformed, $"{registry.Repository}: manifest {digest} has no bundle layer", "Push the attestations again.");
            byte[] bytes = registry.GetBlob(Descriptor(layer, digest));
            var bundle = ParseBundle(bytes, $"{registry.Repository}: the bundle in {digest}");
            seenSignatures.Add(Convert.ToBase64String(bundle.SignatureBytes));
            string title = manifest.TryGetValue("annotations", out var a) && a is JsonMap ann ? Text(ann, TitleAnnotation) ?? string.Empty : string.Empty;
            bundles.Add((SafeName(title, digest, SigstoreBundleWriter.FileSuffix), bytes));
        }

        var envelopes = new List<(string, byte[])>();
        var cosign = registry.GetManifest(ReferrersTag(subjectDigest) + ".att");
        if (cosign is not null)
        {
            foreach (var layer in Manifests(ParseMap(cosign.Value.Bytes, "the cosign attestations of " + subjectDigest), "layers").Where(l => Text(l, "mediaType") == DsseLayerMediaType))
            {
                var descriptor = Descriptor(layer, "the cosign attestations");
                byte[] bytes = registry.GetBlob(descriptor);
                DsseEnvelope envelope;
                try
                {
                    envelope = DsseEnvelope.Parse(bytes);
                }
                catch (AttestationFormatException e)
                {
                    throw new OciException(OciException.Malformed, $"{registry.Repository}: layer {descriptor.Digest} of the cosign attestations is not a DSSE envelope: {e.Message}", "Do not trust this attestation.", e);
                }

                if (envelope.Signatures.Count > 0 && seenSignatures.Contains(Convert.ToBase64String(envelope.Signatures[0].Signature)))
                {
                    continue; // the same envelope as a bundle already pulled
                }

                envelopes.Add((descriptor.Digest.Substring("sha256:".Length, 16) + ".dsse.json", bytes));
            }
        }

        return (bundles, envelopes);
    }

    /// <summary>
    /// cosign's legacy image signatures for <paramref name="subjectDigest"/> (tag <c>sha256-HEX.sig</c>): each layer's
    /// simple-signing payload (digest-checked) and its base64 signature annotation. Empty when there is no such tag.
    /// </summary>
    public static List<(byte[] Payload, byte[] Signature)> PullCosignSignatures(OciRegistryClient registry, string subjectDigest)
    {
        var result = new List<(byte[], byte[])>();
        var sig = registry.GetManifest(ReferrersTag(subjectDigest) + ".sig");
        if (sig is null)
        {
            return result;
        }

        foreach (var layer in Manifests(ParseMap(sig.Value.Bytes, "the cosign signatures of " + subjectDigest), "layers").Where(l => Text(l, "mediaType") == SimpleSigningMediaType))
        {
            string? signature = layer.TryGetValue("annotations", out var a) && a is JsonMap ann ? Text(ann, "dev.cosignproject.cosign/signature") : null;
            byte[] decoded;
            try
            {
                decoded = Convert.FromBase64String(signature ?? string.Empty);
            }
            catch (FormatException)
            {
                decoded = Array.Empty<byte>();
            }

            if (decoded.Length == 0)
            {
                continue; // no signature to check: counts for nothing
            }

            result.Add((registry.GetBlob(Descriptor(layer, "the cosign signatures")), decoded));
        }

        return result;
    }

    /// <summary>The referrers tag schema's tag for a digest: sha256:HEX -> sha256-HEX.</summary>
    public static string ReferrersTag(string digest) => digest.Replace(':', '-');

    /// <summary>Parses a bundle to push or pulled.</summary>
    public static SigstoreBundle ParseBundle(byte[] bytes, string what)
    {
        try
        {
            return SigstoreBundle.Parse(bytes);
        }
        catch (SigstoreFormatException e)
        {
            throw new OciException(OciException.Malformed, $"{what} is not a Sigstore bundle: {e.Message}", "Do not trust this attestation.", e);
        }
    }

    private static void UpdateReferrersIndex(OciRegistryClient registry, string tag, List<JsonMap> added)
    {
        var existing = registry.GetManifest(tag);
        var index = existing is null
            ? new JsonMap { ["schemaVersion"] = 2, ["mediaType"] = OciRegistryClient.IndexMediaType, ["manifests"] = new JsonList() }
            : ParseMap(existing.Value.Bytes, "the referrers index " + tag);
        if (!index.TryGetValue("manifests", out var m) || m is not JsonList list)
        {
            throw new OciException(OciException.Malformed, $"{registry.Repository}: tag {tag} is not an image index", "Remove the tag, then push again.");
        }

        var known = new HashSet<string>(list.OfType<JsonMap>().Select(d => Text(d, "digest") ?? string.Empty), StringComparer.Ordinal);
        bool changed = false;
        foreach (var d in added.Where(d => known.Add(Text(d, "digest")!)))
        {
            list.Add(d);
            changed = true;
        }

        if (changed)
        {
            registry.PushManifest(tag, OciRegistryClient.IndexMediaType, Bytes(index));
        }
    }

    private static void UpdateCosignAttestations(OciRegistryClient registry, string tag, List<SigstoreBundle> bundles)
    {
        var existing = registry.GetManifest(tag);
        var layers = new JsonList();
        if (existing is not null)
        {
            foreach (var l in Manifests(ParseMap(existing.Value.Bytes, "the cosign attestations " + tag), "layers"))
            {
                layers.Add(l);
            }
        }

        var known = new HashSet<string>(layers.OfType<JsonMap>().Select(d => Text(d, "digest") ?? string.Empty), StringComparer.Ordinal);
        bool changed = false;
        foreach (var bundle in bundles)
        {
            byte[] envelope = Bytes(bundle.DsseEnvelope!.ToJson());
            var layer = registry.PushBlob(DsseLayerMediaType, envelope);
            if (!known.Add(layer.Digest))
            {
                continue;
            }

            var annotations = new JsonMap { ["dev.cosignproject.cosign/signature"] = string.Empty };
            if (PredicateType(bundle) is { } predicateType)
            {
                annotations["predicateType"] = predicateType;
            }

            if (bundle.Certificates.Count > 0)
            {
                annotations["dev.sigstore.cosign/certificate"] = Pem(bundle.Certificates[0]);
            }

            layers.Add(WithAnnotations(layer.ToJson(), annotations));
            changed = true;
        }

        if (!changed)
        {
            return;
        }

        var config = new JsonMap
        {
            ["architecture"] = string.Empty,
            ["os"] = string.Empty,
            ["config"] = new JsonMap(),
            ["rootfs"] = new JsonMap { ["type"] = "layers", ["diff_ids"] = new JsonList(layers.OfType<JsonMap>().Select(l => (JsonItem)(Text(l, "digest") ?? string.Empty))) },
        };
        var configDescriptor = registry.PushBlob("application/vnd.oci.image.config.v1+json", Bytes(config));
        var manifest = new JsonMap
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = OciRegistryClient.ManifestMediaType,
            ["config"] = configDescriptor.ToJson(),
            ["layers"] = layers,
        };
        registry.PushManifest(tag, OciRegistryClient.ManifestMediaType, Bytes(manifest));
    }

    private static string? PredicateType(SigstoreBundle bundle)
    {
        if (bundle.DsseEnvelope is not { } envelope || envelope.PayloadType != DsseEnvelope.InTotoPayloadType)
        {
            return null;
        }

        try
        {
            return JsonParser.Parse(envelope.Payload) is JsonMap statement ? Text(statement, "predicateType") : null;
        }
        catch (JsonFormatException)
        {
            return null;
        }
    }

    private static string Pem(byte[] der)
    {
        string b64 = Convert.ToBase64String(der);
        var sb = new StringBuilder("-----BEGIN CERTIFICATE-----\n");
        for (int i = 0; i < b64.Length; i += 64)
        {
            sb.Append(b64.Substring(i, Math.Min(64, b64.Length - i))).Append('\n');
        }

        return sb.Append("-----END CERTIFICATE-----\n").ToString();
    }

    private static JsonMap EmptyDescriptor()
    {
        var d = OciDescriptor.Of(OciRegistryClient.EmptyMediaType, Empty).ToJson();
        d["data"] = Convert.ToBase64String(Empty);
        return d;
    }

    private static JsonMap WithAnnotations(JsonMap descriptor, JsonMap annotations)
    {
        descriptor["annotations"] = annotations;
        return descriptor;
    }

    private static byte[] Bytes(JsonItem item)
    {
        byte[] b = JsonText.WriteUtf8(item, indented: false);
        return b.Length > 0 && b[b.Length - 1] == (byte)'\n' ? b.Take(b.Length - 1).ToArray() : b;
    }

    private static JsonMap ParseMap(byte[] bytes, string what)
    {
        try
        {
            return JsonParser.Parse(bytes) as JsonMap ?? throw new OciException(OciException.Malformed, $"{what} is not a JSON object", "Do not trust this registry's answer.");
        }
        catch (JsonFormatException e)
        {
            throw new OciException(OciException.Malformed, $"{what} is not JSON: {e.Message}", "Do not trust this registry's answer.", e);
        }
    }

    private static IEnumerable<JsonMap> Manifests(JsonMap index, string member = "manifests") =>
        index.TryGetValue(member, out var m) && m is JsonList list ? list.OfType<JsonMap>() : Enumerable.Empty<JsonMap>();

    private static string? Text(JsonMap map, string key) => map.TryGetValue(key, out var v) && v is JsonString s ? s.Value : null;

    private static OciDescriptor Descriptor(JsonMap d, string where)
    {
        string? digest = Text(d, "digest");
        if (digest is null || !digest.StartsWith("sha256:", StringComparison.Ordinal) || digest.Length != 71 || !Hex.IsLowerHex(digest.Substring(7))
            || !d.TryGetValue("size", out var s) || s is not JsonNumber n || !n.IsInteger || n.AsInt64() < 0)
        {
            throw new OciException(OciException.Malformed, $"a layer of {where} has no sha256 digest or size", "Do not trust this registry's answer.");
        }

        if (n.AsInt64() > SigstoreBundle.MaxBundleBytes)
        {
            throw new OciException(OciException.TooLarge, $"a layer of {where} claims {n.AsInt64()} bytes, more than the {SigstoreBundle.MaxBundleBytes}-byte limit", "Do not trust this registry's answer.");
        }

        return new OciDescriptor(Text(d, "mediaType") ?? string.Empty, digest, n.AsInt64());
    }

    /// <summary>A file name from the registry's title annotation that cannot leave the output folder.</summary>
    private static string SafeName(string title, string digest, string suffix)
    {
        string name = Path.GetFileName(title.Replace('\\', '/'));
        bool ok = name.Length > suffix.Length && name.Length < 200 && name.EndsWith(suffix, StringComparison.Ordinal)
            && name.All(c => char.IsLetterOrDigit(c) || c == '.' || c == '-' || c == '_') && name[0] != '.';
        return ok ? name : digest.Substring("sha256:".Length, 16) + suffix;
    }

    /// <summary>A file name as a tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}).</summary>
    private static string Tag(string fileName)
    {
        var chars = fileName.Select(c => c < 128 && (char.IsLetterOrDigit(c) || c == '.' || c == '_' || c == '-') ? c : '_').ToArray();
        string tag = new string(chars).TrimStart('.', '-');
        tag = tag.Length == 0 ? "artifact" : tag;
        return tag.Length > 128 ? tag.Substring(0, 128) : tag;
    }
}

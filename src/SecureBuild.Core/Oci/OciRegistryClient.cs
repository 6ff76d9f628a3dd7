using System.Net.Http;
using System.Text;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.Oci;

/// <summary>A content descriptor: media type, sha256 digest, size.</summary>
public sealed class OciDescriptor
{
    public OciDescriptor(string mediaType, string digest, long size)
    {
        MediaType = mediaType;
        Digest = digest;
        Size = size;
    }

    public string MediaType { get; }

    /// <summary>sha256:HEX.</summary>
    public string Digest { get; }

    public long Size { get; }

    public static OciDescriptor Of(string mediaType, byte[] content) => new(mediaType, "sha256:" + Sha256Hex.Of(content), content.Length);

    public JsonMap ToJson() => new() { ["mediaType"] = MediaType, ["digest"] = Digest, ["size"] = Size };
}

/// <summary>
/// The distribution-spec (OCI registry) HTTP API for one repository: blobs and manifests up and down, every download
/// checked against its digest and capped while it streams (<see cref="BoundedHttp"/>), the referrers API, and
/// registry authentication (HTTP Basic, or the Bearer token flow) from docker's config.json. No redirects are followed
/// except a blob download's one hop to storage, without credentials.
/// </summary>
public sealed class OciRegistryClient
{
    /// <summary>Manifests and indexes larger than this are refused (the distribution-spec's recommended limit).</summary>
    public const int MaxManifestBytes = 4 * 1024 * 1024;

    public const string ManifestMediaType = "application/vnd.oci.image.manifest.v1+json";
    public const string IndexMediaType = "application/vnd.oci.image.index.v1+json";
    public const string EmptyMediaType = "application/vnd.oci.empty.v1+json";

    private const string ManifestAccept = ManifestMediaType + ", " + IndexMediaType
        + ", application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

    private readonly BoundedHttp _http;
    private readonly Func<string, (string User, string Secret)?> _credentials;
    private string? _authorization;

    /// <param name="repository">The repository.</param>
    /// <param name="http">The HTTP client (its cap bounds every download).</param>
    /// <param name="credentials">Credentials for a registry host, or null (see <see cref="DockerCredentials"/>).</param>
    public OciRegistryClient(OciRepository repository, BoundedHttp http, Func<string, (string User, string Secret)?> credentials)
    {
        Repository = repository;
        _http = http;
        _credentials = credentials;
    }

    public OciRepository Repository { get; }

    /// <summary>Requests sent so far (for reports).</summary>
    public int RoundTrips { get; private set; }

    /// <summary>Uploads a blob unless the registry already has it (monolithic POST then PUT).</summary>
    public OciDescriptor PushBlob(string mediaType, byte[] content)
    {
        var descriptor = OciDescriptor.Of(mediaType, content);
        var head = Send(HttpMethod.Head, Repository.Url("blobs/" + descriptor.Digest));
        if (head.Status == 200)
        {
            return descriptor;
        }

        var start = Send(HttpMethod.Post, Repository.Url("blobs/uploads/"));
        Expect(start, 202, "start a blob upload");
        if (start.Location is null)
        {
            throw new OciException(OciException.Refused, $"{Repository}: the blob upload was accepted without a Location to send it to", "Use a registry that follows the OCI distribution-spec.");
        }

        var location = new Uri(Repository.BaseUrl, start.Location);
        if (location.Host != Repository.BaseUrl.Host || location.Port != Repository.BaseUrl.Port)
        {
            throw new OciException(OciException.Refused, $"{Repository}: the blob upload is redirected to another host ({location.Host})", "Use a registry that takes uploads itself.");
        }

        string url = location.ToString() + (location.Query.Length > 0 ? "&" : "?") + "digest=" + Uri.EscapeDataString(descriptor.Digest);
        var put = Send(HttpMethod.Put, new Uri(url), content, "application/octet-stream");
        Expect(put, 201, "finish the upload of " + descriptor.Digest);
        return descriptor;
    }

    /// <summary>Uploads a manifest under <paramref name="reference"/> (a tag or its digest); true when the registry
    /// announced that it processed the manifest's subject (the OCI-Subject header: the referrers API is served).</summary>
    public bool PushManifest(string reference, string mediaType, byte[] manifest)
    {
        string digest = "sha256:" + Sha256Hex.Of(manifest);
        var put = Send(HttpMethod.Put, Repository.Url("manifests/" + reference), manifest, mediaType);
        Expect(put, 201, "store the manifest " + reference);
        if (put.Header("Docker-Content-Digest") is { } announced && !string.Equals(announced.Trim(), digest, StringComparison.Ordinal))
        {
            throw new OciException(OciException.DigestMismatch, $"{Repository}: the registry stored manifest {reference} as {announced.Trim()}, but its bytes are {digest}", "Use a registry that stores manifests unchanged.");
        }

        return put.Header("OCI-Subject") is not null;
    }

    /// <summary>A manifest or index by tag or digest, or null when the registry has none (404). A digest reference is
    /// checked against the bytes; for a tag, the digest the registry announces is.</summary>
    public (byte[] Bytes, string MediaType)? GetManifest(string reference)
    {
        var reply = Send(HttpMethod.Get, Repository.Url("manifests/" + reference), accept: ManifestAccept);
        if (reply.Status == 404)
        {
            return null;
        }

        Expect(reply, 200, "read the manifest " + reference);
        if (reply.Body.Length > MaxManifestBytes)
        {
            throw new OciException(OciException.TooLarge, $"{Repository}: manifest {reference} is {reply.Body.Length} bytes, more than the {MaxManifestBytes}-byte limit", "Check what the registry serves.");
        }

        string digest = "sha256:" + Sha256Hex.Of(reply.Body);
        string? expected = reference.StartsWith("sha256:", StringComparison.Ordinal) ? reference : reply.Header("Docker-Content-Digest")?.Trim();
        if (expected is not null && !string.Equals(expected, digest, StringComparison.Ordinal))
        {
            throw new OciException(OciException.DigestMismatch, $"{Repository}: manifest {reference} should have digest {expected}, but the bytes served are {digest}", "Do not trust this registry's answer: it was changed in storage or on the way.");
        }

        return (reply.Body, reply.ContentType ?? string.Empty);
    }

    /// <summary>The media type and size of the manifest with <paramref name="digest"/>, or null when the registry has none.</summary>
    public OciDescriptor? ResolveManifest(string digest)
    {
        var got = GetManifest(digest);
        if (got is null)
        {
            return null;
        }

        string mediaType = got.Value.MediaType.Length > 0 ? got.Value.MediaType : ManifestMediaType;
        try
        {
            if (JsonParser.Parse(got.Value.Bytes) is JsonMap m && m.TryGetValue("mediaType", out var declared) && declared is JsonString s)
            {
                mediaType = s.Value;
            }
        }
        catch (JsonFormatException e)
        {
            throw new OciException(OciException.Malformed, $"{Repository}: manifest {digest} is not JSON: {e.Message}", "Name the digest of an image manifest or index.", e);
        }

        return new OciDescriptor(mediaType, digest, got.Value.Bytes.Length);
    }

    /// <summary>A blob, which must have <paramref name="descriptor"/>'s digest and size (at most the client's cap).</summary>
    public byte[] GetBlob(OciDescriptor descriptor)
    {
        var reply = Send(HttpMethod.Get, Repository.Url("blobs/" + descriptor.Digest));
        if ((reply.Status == 307 || reply.Status == 302 || reply.Status == 303) && reply.Location is not null)
        {
            var storage = new Uri(Repository.BaseUrl, reply.Location);
            if (storage.Scheme != Uri.UriSchemeHttps && !storage.IsLoopback)
            {
                throw new OciException(OciException.Refused, $"{Repository}: blob {descriptor.Digest} is redirected to plain http ({storage.Host})", "Use a registry whose storage is served over https.");
            }

            RoundTrips++;
            reply = Wrap(() => _http.Send(HttpMethod.Get, storage));
        }

        Expect(reply, 200, "read the blob " + descriptor.Digest);
        if (reply.Body.Length != descriptor.Size)
        {
            throw new OciException(OciException.TooLarge, $"{Repository}: blob {descriptor.Digest} is {reply.Body.Length} bytes, but its descriptor says {descriptor.Size}", "Do not trust this registry's answer.");
        }

        string digest = "sha256:" + Sha256Hex.Of(reply.Body);
        if (!string.Equals(digest, descriptor.Digest, StringComparison.Ordinal))
        {
            throw new OciException(OciException.DigestMismatch, $"{Repository}: blob {descriptor.Digest} was served with digest {digest}", "Do not trust this registry's answer: it was changed in storage or on the way.");
        }

        return reply.Body;
    }

    /// <summary>The referrers API's index for <paramref name="digest"/>, or null when the registry does not serve it (404).</summary>
    public byte[]? GetReferrers(string digest)
    {
        var reply = Send(HttpMethod.Get, Repository.Url("referrers/" + digest), accept: IndexMediaType);
        if (reply.Status == 404 || reply.Status == 405 || reply.Status == 400)
        {
            return null;
        }

        Expect(reply, 200, "list the referrers of " + digest);
        if (reply.Body.Length > MaxManifestBytes)
        {
            throw new OciException(OciException.TooLarge, $"{Repository}: the referrers of {digest} are {reply.Body.Length} bytes, more than the {MaxManifestBytes}-byte limit", "Check what the registry serves.");
        }

        return reply.Body;
    }

    private HttpReply Send(HttpMethod method, Uri url, byte[]? body = null, string? contentType = null, string? accept = null)
    {
        var reply = SendOnce(method, url, body, contentType, accept);
        if (reply.Status != 401)
        {
            return reply;
        }

        // Authenticate (again: a token may have expired or lack this scope) once per request.
        _authorization = Authenticate(reply.Header("WWW-Authenticate") ?? string.Empty);
        reply = SendOnce(method, url, body, contentType, accept);
        if (reply.Status == 401)
        {
            throw Unauthorized("did not accept the credentials from docker's config.json");
        }

        return reply;
    }

    private HttpReply SendOnce(HttpMethod method, Uri url, byte[]? body, string? contentType, string? accept)
    {
        var headers = new List<KeyValuePair<string, string>>();
        if (accept is not null)
        {
            headers.Add(new KeyValuePair<string, string>("Accept", accept));
        }

        if (_authorization is not null)
        {
            headers.Add(new KeyValuePair<string, string>("Authorization", _authorization));
        }

        RoundTrips++;
        return Wrap(() => _http.Send(method, url, body, contentType, headers));
    }

    private HttpReply Wrap(Func<HttpReply> send)
    {
        try
        {
            return send();
        }
        catch (HttpFailure e) when (!e.Transient)
        {
            throw new OciException(OciException.TooLarge, $"{Repository}: {e.Message}", "Check what the registry serves; SecureBuild never buffers more than the limit.", e);
        }
        catch (HttpFailure e)
        {
            throw new OciException(OciException.Unreachable, $"{Repository}: {e.Message}", "Check the registry's host and port, and that it is running.", e);
        }
    }

    /// <summary>The Authorization header for a 401's challenge: Basic from the credentials, or a Bearer token from the realm.</summary>
    private string Authenticate(string challenge)
    {
        var credentials = _credentials(Repository.Registry);
        string? basic = credentials is { } c ? "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(c.User + ":" + c.Secret)) : null;
        if (challenge.TrimStart().StartsWith("Basic", StringComparison.OrdinalIgnoreCase))
        {
            return basic ?? throw Unauthorized("wants credentials and docker's config.json has none for it");
        }

        if (!challenge.TrimStart().StartsWith("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            throw Unauthorized($"asks for an authentication scheme SecureBuild does not speak ('{challenge.Split(' ')[0]}')");
        }

        var parameters = ChallengeParameters(challenge.TrimStart().Substring("Bearer".Length));
        if (!parameters.TryGetValue("realm", out var realmText) || !Uri.TryCreate(realmText, UriKind.Absolute, out var realm)
            || realm.Scheme != Uri.UriSchemeHttps && !(realm.Scheme == Uri.UriSchemeHttp && realm.IsLoopback))
        {
            throw Unauthorized("names no https token realm");
        }

        var query = new List<string>();
        if (parameters.TryGetValue("service", out var service))
        {
            query.Add("service=" + Uri.EscapeDataString(service));
        }

        query.Add("scope=" + Uri.EscapeDataString(parameters.TryGetValue("scope", out var scope) ? scope : $"repository:{Repository.Repository}:pull,push"));
        var tokenUrl = new Uri(realm.GetLeftPart(UriPartial.Path) + "?" + string.Join("&", query));
        var headers = basic is null ? null : new[] { new KeyValuePair<string, string>("Authorization", basic) };
        RoundTrips++;
        var reply = Wrap(() => _http.Send(HttpMethod.Get, tokenUrl, headers: headers));
        if (!reply.IsSuccess)
        {
            throw Unauthorized($"refused a token ({reply.Status} from {realm.Host})");
        }

        JsonItem parsed;
        try
        {
            parsed = JsonParser.Parse(reply.Body);
        }
        catch (JsonFormatException)
        {
            throw Unauthorized("answered the token request with something that is not JSON");
        }

        foreach (string name in new[] { "token", "access_token" })
        {
            if (parsed is JsonMap m && m.TryGetValue(name, out var t) && t is JsonString s && s.Value.Length > 0)
            {
                return "Bearer " + s.Value;
            }
        }

        throw Unauthorized("answered the token request without a token");
    }

    private static Dictionary<string, string> ChallengeParameters(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(text, "([A-Za-z]+)=\"([^\"]*)\""))
        {
            result[m.Groups[1].Value] = m.Groups[2].Value;
        }

        return result;
    }

    private OciException Unauthorized(string why) =>
        new(OciException.Unauthorized, $"{Repository.Registry} {why}", $"Log in to {Repository.Registry} (docker login writes the credentials to ~/.docker/config.json, or set DOCKER_CONFIG) with an account that may push and pull {Repository.Repository}.");

    private void Expect(HttpReply reply, int status, string what)
    {
        if (reply.Status == status || (status == 201 && reply.Status == 202 && what.StartsWith("finish", StringComparison.Ordinal)))
        {
            return;
        }

        if (reply.Status == 401 || reply.Status == 403)
        {
            throw Unauthorized($"refused to {what} ({reply.Status}): {reply.Excerpt()}");
        }

        throw new OciException(OciException.Refused, $"{Repository}: the registry refused to {what}: {reply.Status} {reply.Excerpt()}", "Check the repository name and that the registry accepts OCI manifests.");
    }
}

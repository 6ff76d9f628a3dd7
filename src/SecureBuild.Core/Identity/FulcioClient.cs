using System.Net.Http;
using System.Text;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Identity;

/// <summary>A short-lived signing certificate Fulcio issued, with its chain (leaf first, DER).</summary>
public sealed class FulcioCertificate
{
    internal FulcioCertificate(IReadOnlyList<byte[]> chain, X509Certificate leaf)
    {
        Chain = chain;
        Leaf = leaf;
    }

    /// <summary>Leaf first, then the intermediates and the root Fulcio returned (DER).</summary>
    public IReadOnlyList<byte[]> Chain { get; }

    public byte[] LeafDer => Chain[0];

    public DateTimeOffset NotBefore => new(DateTime.SpecifyKind(Leaf.NotBefore, DateTimeKind.Utc));

    public DateTimeOffset NotAfter => new(DateTime.SpecifyKind(Leaf.NotAfter, DateTimeKind.Utc));

    /// <summary>The certificate identities (SANs).</summary>
    public IReadOnlyList<string> Identities => SigstoreCertificates.SubjectAlternativeNames(Leaf);

    public string? OidcIssuer => SigstoreCertificates.OidcIssuer(Leaf);

    internal X509Certificate Leaf { get; }
}

/// <summary>
/// Fulcio v2 (<c>POST /api/v2/signingCert</c>, JSON): asks for a code-signing certificate for a public key, proving
/// possession of its private key by signing the token's subject. The answer must be a chain with an embedded SCT
/// whose leaf certifies exactly that key for code signing; anything else is SB5011.
/// </summary>
public sealed class FulcioClient
{
    public const string SigningCertPath = "/api/v2/signingCert";

    private readonly Uri _baseUrl;
    private readonly BoundedHttp _http;

    public FulcioClient(Uri baseUrl, BoundedHttp http)
    {
        _baseUrl = baseUrl ?? throw new ArgumentNullException(nameof(baseUrl));
        _http = http ?? throw new ArgumentNullException(nameof(http));
    }

    /// <summary>Requests a certificate for <paramref name="key"/> (ECDSA P-256) under <paramref name="token"/>'s identity.</summary>
    /// <exception cref="KeylessException">SB5010 (unreachable, refused), SB5011 (unusable answer).</exception>
    public FulcioCertificate RequestCertificate(SigningKey key, IdentityToken token)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        if (token is null)
        {
            throw new ArgumentNullException(nameof(token));
        }

        var proof = key.Sign(Encoding.UTF8.GetBytes(token.ProofSubject));
        var request = new JsonMap
        {
            { "credentials", new JsonMap { { "oidcIdentityToken", token.Raw } } },
            {
                "publicKeyRequest", new JsonMap
                {
                    { "publicKey", new JsonMap { { "algorithm", "ECDSA" }, { "content", KeyAlgorithms.SpkiPublicPem(key.Public.Parameters) } } },
                    { "proofOfPossession", Base64Codec.Encode(proof) },
                }
            },
        };
        var url = ServiceUrl.Combine(_baseUrl, SigningCertPath);
        string fix = $"Check the Fulcio URL (SecureBuildFulcioUrl, now {_baseUrl}) and that {token.Issuer} is an issuer it trusts; a refused token is usually expired or for the wrong audience (it must be \"sigstore\").";
        HttpReply reply;
        try
        {
            reply = _http.Send(HttpMethod.Post, url, JsonText.WriteUtf8(request, indented: false), "application/json", new[] { new KeyValuePair<string, string>("Accept", "application/json") });
        }
        catch (HttpFailure e)
        {
            throw new KeylessException(KeylessException.FulcioFailed, "Fulcio could not be reached: " + e.Message, fix, e);
        }

        if (!reply.IsSuccess)
        {
            throw new KeylessException(KeylessException.FulcioFailed, $"Fulcio refused the certificate request with HTTP {reply.Status}: {reply.Excerpt()}", fix);
        }

        return ParseResponse(reply.Body, key, _baseUrl);
    }

    /// <summary>Reads a signingCert answer and checks that its leaf certifies <paramref name="key"/> for code signing.</summary>
    internal static FulcioCertificate ParseResponse(byte[] body, SigningKey key, Uri from)
    {
        string fix = $"Check that SecureBuildFulcioUrl ({from}) names a Fulcio v2 service.";
        Exception Bad(string what) => new KeylessException(KeylessException.FulcioBadResponse, $"Fulcio's answer cannot be used: {what}", fix);
        JsonMap root;
        try
        {
            root = JsonParser.Parse(body) as JsonMap ?? throw Bad("it is not a JSON object");
        }
        catch (JsonFormatException e)
        {
            throw Bad("it is not JSON (" + e.Message + ")");
        }

        if (root.TryGetValue("signedCertificateDetachedSct", out _) && !root.TryGetValue("signedCertificateEmbeddedSct", out _))
        {
            throw Bad("the certificate comes with a detached SCT; a Sigstore bundle needs the SCT embedded in the certificate");
        }

        var certs = (root.TryGetValue("signedCertificateEmbeddedSct", out var e1) ? e1 as JsonMap : null) is { } embedded
            && embedded.TryGetValue("chain", out var c) && c is JsonMap chain
            && chain.TryGetValue("certificates", out var l) && l is JsonList list
            ? list
            : throw Bad("no signedCertificateEmbeddedSct.chain.certificates");
        var ders = new List<byte[]>();
        foreach (var item in certs)
        {
            if (item is not JsonString pem)
            {
                throw Bad("a chain entry is not a PEM string");
            }

            var blocks = Pem.ReadAll(pem.Value, m => Bad("a chain entry is not PEM: " + m));
            ders.AddRange(blocks.Where(b => b.Label == "CERTIFICATE").Select(b => b.Der));
        }

        if (ders.Count == 0)
        {
            throw Bad("the chain holds no certificate");
        }

        var leaf = SigstoreCertificates.Parse(ders[0], "the leaf certificate", m => Bad(m));
        for (int i = 1; i < ders.Count; i++)
        {
            SigstoreCertificates.Parse(ders[i], $"chain certificate {i}", m => Bad(m));
        }

        var spki = SigstorePublicKey.FromCertificate(leaf).SpkiDer;
        var ours = SigstorePublicKey.FromCoreKey(key.Public).SpkiDer;
        if (!ByteArrays.Equal(spki, ours))
        {
            throw Bad("the certificate is for another public key than the one in the request");
        }

        if (!SigstoreCertificates.HasExtendedKeyUsage(leaf, SigstoreCertificates.OidCodeSigning))
        {
            throw Bad("the certificate is not for code signing (no codeSigning extended key usage)");
        }

        return new FulcioCertificate(ders, leaf);
    }
}

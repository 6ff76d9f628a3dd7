using System.Net.Http;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Tsp;
using SecureBuild.Core.Attestation;
using SecureBuild.Core.Identity;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Transparency;

/// <summary>
/// RFC 3161 timestamps over a signature from a timestamp authority. The request goes first in the Sigstore TSA's JSON
/// form (<c>{"artifactHash", "hashAlgorithm", "nonce", "certificates"}</c>); a server that refuses it (400/415) is
/// asked again with a DER <c>application/timestamp-query</c>, which every RFC 3161 TSA takes. The answer must be a
/// granted TimeStampResp whose imprint is SHA-256 of the signature and whose nonce is ours; it is kept whole, as
/// Sigstore bundles carry it.
/// </summary>
public sealed class TimestampClient
{
    private readonly Uri _url;
    private readonly BoundedHttp _http;

    /// <param name="url">The full timestamp endpoint (https://timestamp.sigstore.dev/api/v1/timestamp).</param>
    /// <param name="http">The bounded client.</param>
    public TimestampClient(Uri url, BoundedHttp http)
    {
        _url = url ?? throw new ArgumentNullException(nameof(url));
        _http = http ?? throw new ArgumentNullException(nameof(http));
    }

    /// <summary>Returns the DER TimeStampResp for <paramref name="signature"/>.</summary>
    /// <exception cref="KeylessException">SB5030.</exception>
    public byte[] Timestamp(byte[] signature)
    {
        string fix = $"Check SecureBuildTimestampUrl (now {_url.GetLeftPart(UriPartial.Path)}): it must be the TSA's timestamp endpoint; leave it empty to sign without a timestamp.";
        byte[] digest = SigstorePublicKey.Digest("SHA-256", signature);
        // 48 random bits, as sigstore-js uses: JSON numbers stay exact (a TSA written in JavaScript reads them as doubles).
        var nonce = new BigInteger(48, new Org.BouncyCastle.Security.SecureRandom()).Add(BigInteger.One);
        var generator = new TimeStampRequestGenerator();
        generator.SetCertReq(true);
        var request = generator.Generate(TspAlgorithms.Sha256, digest, nonce);
        var json = new JsonMap
        {
            { "artifactHash", Base64Codec.Encode(digest) },
            { "hashAlgorithm", "sha256" },
            { "nonce", nonce.LongValue },
            { "certificates", true },
        };
        HttpReply reply;
        try
        {
            reply = _http.Send(HttpMethod.Post, _url, JsonText.WriteUtf8(json, indented: false), "application/json");
            if (reply.Status == 400 || reply.Status == 415)
            {
                reply = _http.Send(HttpMethod.Post, _url, request.GetEncoded(), "application/timestamp-query");
            }
        }
        catch (HttpFailure e)
        {
            throw new KeylessException(KeylessException.TimestampFailed, "the timestamp authority could not be reached: " + e.Message, fix, e);
        }

        if (!reply.IsSuccess)
        {
            throw new KeylessException(KeylessException.TimestampFailed, $"the timestamp authority refused the request with HTTP {reply.Status}: {reply.Excerpt()}", fix);
        }

        try
        {
            // What matters for the bundle, checked directly: granted, a token, our imprint and our nonce. (The token's
            // signature and its TSA are checked against the trusted root when the bundle is verified.)
            var response = new TimeStampResponse(reply.Body);
            if (response.Status != 0 && response.Status != 1)
            {
                throw new TspException($"the request was not granted (status {response.Status}: {response.GetStatusString()})");
            }

            var info = (response.TimeStampToken ?? throw new TspException("no timestamp token in the answer")).TimeStampInfo;
            if (info.MessageImprintAlgOid != TspAlgorithms.Sha256 || !ByteArrays.Equal(info.GetMessageImprintDigest(), digest))
            {
                throw new TspException("the token's message imprint is not SHA-256 of the signature");
            }

            if (info.Nonce is null || !info.Nonce.Equals(nonce))
            {
                throw new TspException("the token's nonce is not the request's (a replayed or misrouted answer)");
            }
        }
        catch (Exception e) when (e is TspException || e is IOException || e is ArgumentException || e is InvalidCastException || e is Org.BouncyCastle.Security.Certificates.CertificateException)
        {
            throw new KeylessException(KeylessException.TimestampFailed, "the timestamp authority's answer is not a timestamp over this signature: " + e.Message, fix, e);
        }

        return reply.Body;
    }
}

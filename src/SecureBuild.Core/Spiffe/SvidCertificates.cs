using System.Text;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Spiffe;

/// <summary>
/// Reads the certificate forms SPIFFE uses: a chain or bundle as PEM, as concatenated DER (the Workload API's form),
/// or a trust bundle as a SPIFFE JWK Set (<c>use: "x509-svid"</c> entries, first <c>x5c</c> element, no <c>kid</c>).
/// </summary>
public static class SvidCertificates
{
    /// <summary>Largest chain or bundle file read (a bundle of a few hundred CAs fits easily).</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    /// <summary>Most certificates in one chain or bundle.</summary>
    public const int MaxCertificates = 512;

    /// <summary>The certificates of a PEM file (CERTIFICATE blocks; other blocks, such as a key, are skipped) or of concatenated DER.</summary>
    /// <exception cref="SvidException">SB5220: unreadable, empty or too large.</exception>
    public static IReadOnlyList<X509Certificate> ReadCertificates(byte[] bytes, string name)
    {
        if (bytes.Length == 0)
        {
            throw SvidException.Input($"{name} is empty.");
        }

        if (bytes.Length > MaxBytes)
        {
            throw SvidException.Input($"{name} is larger than {MaxBytes} bytes.");
        }

        var result = new List<X509Certificate>();
        if (bytes[0] == 0x30)
        {
            int offset = 0;
            while (offset < bytes.Length)
            {
                int length = DerElementLength(bytes, offset)
                    ?? throw SvidException.Input($"{name}: the DER data at byte {offset} is not a complete certificate.");
                result.Add(ParseDer(Slice(bytes, offset, length), $"{name} (certificate {result.Count + 1})"));
                offset += length;
                CheckCount(result.Count, name);
            }

            return result;
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw SvidException.Input($"{name} is neither PEM text nor DER certificates.");
        }

        var blocks = Pem.ReadAll(text, m => SvidException.Input($"{name}: {m}."));
        foreach (var block in blocks.Where(b => b.Label == "CERTIFICATE"))
        {
            result.Add(ParseDer(block.Der, $"{name} (certificate {result.Count + 1})"));
            CheckCount(result.Count, name);
        }

        if (result.Count == 0)
        {
            throw SvidException.Input($"{name} holds no certificate (no PEM CERTIFICATE block).");
        }

        return result;
    }

    /// <summary>
    /// A trust bundle's CAs: a SPIFFE JWK Set (JSON), PEM or concatenated DER. A JWK Set with an empty <c>keys</c>
    /// array yields no CA (every SVID of the trust domain is then untrusted).
    /// </summary>
    /// <exception cref="SvidException">SB5220.</exception>
    public static IReadOnlyList<X509Certificate> ReadBundle(byte[] bytes, string name)
    {
        int first = 0;
        while (first < bytes.Length && bytes[first] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
        {
            first++;
        }

        return first < bytes.Length && bytes[first] == (byte)'{' ? ReadJwks(bytes, name) : ReadCertificates(bytes, name);
    }

    /// <summary>Certificates as PEM text (a chain file or a bundle file).</summary>
    public static string ToPem(IEnumerable<X509Certificate> certificates) =>
        string.Concat(certificates.Select(c => Pem.Encode("CERTIFICATE", c.GetEncoded(), trailingNewline: true)));

    /// <summary>A PKCS#8 DER private key (the Workload API's form) as PEM 'PRIVATE KEY', what <c>--key</c> options read.</summary>
    public static string PrivateKeyPem(byte[] pkcs8Der) => Pem.Encode("PRIVATE KEY", pkcs8Der, trailingNewline: true);

    private static IReadOnlyList<X509Certificate> ReadJwks(byte[] bytes, string name)
    {
        if (bytes.Length > MaxBytes)
        {
            throw SvidException.Input($"{name} is larger than {MaxBytes} bytes.");
        }

        Func<string, Exception> fail = m => SvidException.Input($"{name}: {m}", "Give a SPIFFE bundle (a JWK Set with x509-svid keys), PEM or DER.");
        var root = StrictJson.AsObject(StrictJson.Parse(bytes, name, fail), "the bundle", fail);
        if (!root.TryGetValue("keys", out var keysNode) || keysNode is not JsonList keys)
        {
            throw fail("it has no \"keys\" array.");
        }

        var result = new List<X509Certificate>();
        for (int i = 0; i < keys.Count; i++)
        {
            if (keys[i] is not JsonMap jwk)
            {
                throw fail($"keys[{i}] is not an object.");
            }

            if (!jwk.TryGetValue("use", out var use) || use is not JsonString { Value: "x509-svid" })
            {
                continue; // a JWT authority or an unknown use: ignored, as the standard says
            }

            if (jwk.ContainsKey("kid"))
            {
                throw fail($"keys[{i}] is an x509-svid authority with a \"kid\", which the SPIFFE bundle format forbids.");
            }

            if (!jwk.TryGetValue("x5c", out var x5cNode))
            {
                continue; // no certificate: ignored
            }

            if (x5cNode is not JsonList x5c || x5c.Count == 0 || x5c[0] is not JsonString der)
            {
                throw fail($"keys[{i}].x5c is not a non-empty array of base64 certificates.");
            }

            byte[] certBytes;
            try
            {
                certBytes = Convert.FromBase64String(der.Value);
            }
            catch (FormatException)
            {
                throw fail($"keys[{i}].x5c[0] is not base64.");
            }

            result.Add(ParseDer(certBytes, $"{name} keys[{i}].x5c[0]"));
            CheckCount(result.Count, name);
        }

        return result;
    }

    private static X509Certificate ParseDer(byte[] der, string what) =>
        SigstoreCertificates.Parse(der, what, m => SvidException.Input(m));

    private static void CheckCount(int count, string name)
    {
        if (count > MaxCertificates)
        {
            throw SvidException.Input($"{name} holds more than {MaxCertificates} certificates.");
        }
    }

    private static byte[] Slice(byte[] bytes, int offset, int length)
    {
        var slice = new byte[length];
        Buffer.BlockCopy(bytes, offset, slice, 0, length);
        return slice;
    }

    /// <summary>The whole length (header and content) of the DER element at <paramref name="offset"/>, or null if it does not fit.</summary>
    private static int? DerElementLength(byte[] b, int offset)
    {
        if (offset + 2 > b.Length || b[offset] != 0x30)
        {
            return null;
        }

        int lengthByte = b[offset + 1];
        long content;
        int header;
        if (lengthByte < 0x80)
        {
            content = lengthByte;
            header = 2;
        }
        else
        {
            int n = lengthByte & 0x7f;
            if (n == 0 || n > 4 || offset + 2 + n > b.Length)
            {
                return null;
            }

            content = 0;
            for (int i = 0; i < n; i++)
            {
                content = (content << 8) | b[offset + 2 + i];
            }

            header = 2 + n;
        }

        long total = header + content;
        return offset + total <= b.Length ? (int)total : null;
    }
}

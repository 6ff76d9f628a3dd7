using Org.BouncyCastle.X509;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Json;
using SecureBuild.Core.Spiffe;

namespace SecureBuild.Core.InToto;

/// <summary>
/// A CA certificate of a layout's <c>rootcas</c> or <c>intermediatecas</c> (in-toto-golang's layout fields): a
/// securesystemslib key object of the certificate's public key (its keyid is the map key) whose <c>keyval</c> also holds
/// the certificate as PEM (<c>keyval.certificate</c>). Link signatures that carry a certificate chaining to a root CA
/// count for steps whose <see cref="CertificateConstraint"/>s the certificate meets.
/// </summary>
public sealed class LayoutCertificate
{
    private LayoutCertificate(string keyId, X509Certificate certificate, PublicKey key)
    {
        KeyId = keyId;
        Certificate = certificate;
        Key = key;
    }

    /// <summary>The keyid of the certificate's public key (the map key in the layout).</summary>
    public string KeyId { get; }

    public X509Certificate Certificate { get; }

    /// <summary>The certificate's public key.</summary>
    public PublicKey Key { get; }

    /// <summary>An entry for <paramref name="certificate"/>.</summary>
    /// <exception cref="KeyFormatException">The certificate's key is of a type in-toto keys cannot hold.</exception>
    public static LayoutCertificate From(X509Certificate certificate)
    {
        var key = PublicKeyOf(certificate, "the CA certificate " + certificate.SubjectDN);
        return new LayoutCertificate(key.KeyId, certificate, key);
    }

    /// <summary>The public key of a certificate, as an in-toto key (ECDSA P-256, Ed25519 or RSA).</summary>
    /// <exception cref="KeyFormatException">Another key type.</exception>
    public static PublicKey PublicKeyOf(X509Certificate certificate, string sourceName) =>
        PublicKey.Parse(Pem.Encode("PUBLIC KEY", certificate.CertificateStructure.SubjectPublicKeyInfo.GetEncoded(), trailingNewline: true), sourceName);

    public JsonMap ToKeyObject()
    {
        var json = Key.ToKeyObject();
        ((JsonMap)json["keyval"]).Add("certificate", SvidCertificates.ToPem(new[] { Certificate }));
        return json;
    }

    /// <summary>
    /// Reads one entry: <c>keyval.certificate</c> must hold exactly one PEM certificate; other members are not looked
    /// at (they are signed as written). <paramref name="strict"/> (what SecureBuild writes and reads back): the map key
    /// must be the keyid of the certificate's public key. The verifier takes the map key as the CA's name (what a
    /// constraint's <c>roots</c> refer to), as in-toto-golang does, whatever keyid scheme wrote it.
    /// </summary>
    /// <exception cref="InTotoFormatException">Wrong shape, an unreadable certificate or (strict) a keyid that is not the certificate's key's.</exception>
    public static LayoutCertificate FromKeyObject(string mapKeyId, JsonItem node, string path, bool strict = true)
    {
        if (node is not JsonMap json || json.Get("keyval") is not JsonMap keyval || keyval.Get("certificate") is not JsonString pem)
        {
            throw new InTotoFormatException($"{path}: expected a key object with the CA certificate as PEM in \"keyval.certificate\".");
        }

        X509Certificate certificate;
        try
        {
            var certificates = SvidCertificates.ReadCertificates(System.Text.Encoding.UTF8.GetBytes(pem.Value), path + ".keyval.certificate");
            if (certificates.Count != 1)
            {
                throw new InTotoFormatException($"{path}.keyval.certificate: holds {certificates.Count} certificates; one entry holds one CA.");
            }

            certificate = certificates[0];
        }
        catch (SvidException e)
        {
            throw new InTotoFormatException($"{path}: {e.Message}", e);
        }

        PublicKey key;
        try
        {
            key = PublicKeyOf(certificate, path);
        }
        catch (KeyFormatException e)
        {
            throw new InTotoFormatException($"{path}: {e.Message}", e);
        }

        if (strict && key.KeyId != mapKeyId)
        {
            throw new InTotoFormatException($"{path}: the certificate's public key has the keyid {key.KeyId}; the map key must equal it.");
        }

        return new LayoutCertificate(mapKeyId, certificate, key);
    }
}

using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Spiffe;

namespace SecureBuild.TestSupport.Spiffe;

/// <summary>
/// A SPIFFE trust domain for tests: a CA (ECDSA P-256, its SPIFFE ID as URI SAN) and leaf X.509-SVIDs it issues (ECDSA P-256 or RSA keys),
/// written as the files <c>securebuild svid fetch</c> writes. Test-only keys, made in memory.
/// </summary>
public sealed class SvidTestPki
{
    private static long _serial = 0x3000;

    private SvidTestPki(X509Certificate ca, AsymmetricKeyParameter caKey)
    {
        Ca = ca;
        CaKey = caKey;
    }

    public X509Certificate Ca { get; }

    public AsymmetricKeyParameter CaKey { get; }

    /// <summary>A new trust domain with a root CA valid from a day ago for a year.</summary>
    public static SvidTestPki Create(string trustDomain)
    {
        var pair = NewKey();
        var builder = new X509V3CertificateGenerator();
        builder.SetSerialNumber(BigInteger.ValueOf(Interlocked.Increment(ref _serial)));
        var name = new X509Name("O=SecureBuild Test CA " + trustDomain);
        builder.SetIssuerDN(name);
        builder.SetSubjectDN(name);
        builder.SetNotBefore(DateTime.UtcNow.AddDays(-1));
        builder.SetNotAfter(DateTime.UtcNow.AddDays(365));
        builder.SetPublicKey(pair.Public);
        builder.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(true));
        builder.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.KeyCertSign | KeyUsage.CrlSign));
        builder.AddExtension(X509Extensions.SubjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.UniformResourceIdentifier, "spiffe://" + trustDomain)));
        return new SvidTestPki(builder.Generate(new Asn1SignatureFactory("SHA256WITHECDSA", pair.Private)), pair.Private);
    }

    /// <summary>A leaf SVID for <paramref name="spiffeId"/> signed by this CA, valid from a minute ago for <paramref name="lifetime"/>.</summary>
    public (X509Certificate Cert, byte[] KeyDer) Issue(string spiffeId, TimeSpan lifetime, int rsaBits = 0)
    {
        var now = DateTimeOffset.UtcNow;
        return IssueLeaf(Ca, CaKey, spiffeId, now.AddMinutes(-1), now + lifetime, rsaBits: rsaBits);
    }

    /// <summary>
    /// A leaf SVID for <paramref name="spiffeId"/> signed by <paramref name="ca"/>, with its PKCS#8 DER key: ECDSA
    /// P-256, or RSA of <paramref name="rsaBits"/> bits (e = 65537) when that is not 0.
    /// <paramref name="isCa"/>: a broken "leaf" with basicConstraints cA=true (an SVID must not be one).
    /// </summary>
    public static (X509Certificate Cert, byte[] KeyDer) IssueLeaf(X509Certificate ca, AsymmetricKeyParameter caKey, string spiffeId, DateTimeOffset notBefore, DateTimeOffset notAfter, int rsaBits = 0, bool isCa = false)
    {
        var pair = rsaBits == 0 ? NewKey() : NewRsaKey(rsaBits);
        var builder = new X509V3CertificateGenerator();
        builder.SetSerialNumber(BigInteger.ValueOf(Interlocked.Increment(ref _serial)));
        builder.SetIssuerDN(ca.SubjectDN);
        builder.SetSubjectDN(new X509Name("O=SecureBuild Test"));
        builder.SetNotBefore(notBefore.UtcDateTime);
        builder.SetNotAfter(notAfter.UtcDateTime);
        builder.SetPublicKey(pair.Public);
        builder.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(isCa));
        builder.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.DigitalSignature));
        builder.AddExtension(X509Extensions.SubjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.UniformResourceIdentifier, spiffeId)));
        var cert = builder.Generate(new Asn1SignatureFactory("SHA256WITHECDSA", caKey));
        return (cert, PrivateKeyInfoFactory.CreatePrivateKeyInfo(pair.Private).GetEncoded());
    }

    /// <summary>
    /// A leaf for <paramref name="spiffeId"/> valid from a minute ago for <paramref name="lifetime"/>, written to
    /// <paramref name="directory"/> as svid.pem, svid.key and bundle.pem (an RSA key of <paramref name="rsaBits"/> bits when not 0); returns their paths.
    /// </summary>
    public (string Chain, string Key, string Bundle) WriteSvid(string directory, string spiffeId, TimeSpan lifetime, int rsaBits = 0)
    {
        var (cert, key) = Issue(spiffeId, lifetime, rsaBits);
        Directory.CreateDirectory(directory);
        string chain = Path.Combine(directory, "svid.pem"), keyFile = Path.Combine(directory, "svid.key"), bundle = Path.Combine(directory, "bundle.pem");
        File.WriteAllText(chain, SvidCertificates.ToPem(new[] { cert }));
        File.WriteAllText(keyFile, SvidCertificates.PrivateKeyPem(key));
        File.WriteAllText(bundle, SvidCertificates.ToPem(new[] { Ca }));
        return (chain, keyFile, bundle);
    }

    private static AsymmetricCipherKeyPair NewRsaKey(int bits)
    {
        var gen = new RsaKeyPairGenerator();
        gen.Init(new RsaKeyGenerationParameters(BigInteger.ValueOf(65537), new SecureRandom(), bits, 80));
        return gen.GenerateKeyPair();
    }

    private static AsymmetricCipherKeyPair NewKey()
    {
        var gen = new ECKeyPairGenerator();
        gen.Init(new ECKeyGenerationParameters(Org.BouncyCastle.Asn1.Sec.SecObjectIdentifiers.SecP256r1, new SecureRandom()));
        return gen.GenerateKeyPair();
    }
}

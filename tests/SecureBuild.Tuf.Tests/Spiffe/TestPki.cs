using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Generators;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.OpenSsl;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Spiffe;

namespace SecureBuild.Tuf.Tests.Spiffe;

/// <summary>The SPIFFE interop set's test PKI (TestData/spiffe), and fresh leaves issued by its example.org root CA.</summary>
internal static class TestPki
{
    public static readonly string Root = Path.Combine(AppContext.BaseDirectory, "TestData", "spiffe");

    public static string F(string relative) => Path.Combine(Root, relative);

    public static X509Certificate RootCa =>
        SvidCertificates.ReadCertificates(File.ReadAllBytes(F("pki/ca/example.org-root.cert.pem")), "ca").Single();

    public static byte[] BundleDer => File.ReadAllBytes(F("pki/bundle/example.org.bundle.der"));

    /// <summary>A leaf SVID for <paramref name="spiffeId"/> signed by the example.org root (its test-only key), with its PKCS#8 DER key.</summary>
    public static (X509Certificate Cert, byte[] KeyDer) IssueLeaf(string spiffeId, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var ca = RootCa;
        AsymmetricKeyParameter caKey;
        using (var reader = new StringReader(File.ReadAllText(F("pki/ca/example.org-root.key.pem"))))
        {
            caKey = (AsymmetricKeyParameter)new PemReader(reader).ReadObject();
        }

        var gen = new ECKeyPairGenerator();
        gen.Init(new ECKeyGenerationParameters(Org.BouncyCastle.Asn1.Sec.SecObjectIdentifiers.SecP256r1, new SecureRandom()));
        var pair = gen.GenerateKeyPair();
        var builder = new X509V3CertificateGenerator();
        builder.SetSerialNumber(BigInteger.ValueOf(0x3001));
        builder.SetIssuerDN(ca.SubjectDN);
        builder.SetSubjectDN(new X509Name("O=SecureBuild Test"));
        builder.SetNotBefore(notBefore.UtcDateTime);
        builder.SetNotAfter(notAfter.UtcDateTime);
        builder.SetPublicKey(pair.Public);
        builder.AddExtension(X509Extensions.BasicConstraints, true, new BasicConstraints(false));
        builder.AddExtension(X509Extensions.KeyUsage, true, new KeyUsage(KeyUsage.DigitalSignature));
        builder.AddExtension(X509Extensions.SubjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.UniformResourceIdentifier, spiffeId)));
        var cert = builder.Generate(new Asn1SignatureFactory("SHA256WITHECDSA", caKey));
        return (cert, PrivateKeyInfoFactory.CreatePrivateKeyInfo(pair.Private).GetEncoded());
    }
}

using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.OpenSsl;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Spiffe;
using SecureBuild.TestSupport.Spiffe;

namespace SecureBuild.Tuf.Tests.Spiffe;

/// <summary>The SPIFFE interop set's test PKI (TestData/spiffe), and fresh leaves issued by its example.org root CA.</summary>
internal static class TestPki
{
    public static readonly string Root = Path.Combine(AppContext.BaseDirectory, "TestData", "spiffe");

    public static string F(string relative) => Path.Combine(Root, relative);

    public static X509Certificate RootCa =>
        SvidCertificates.ReadCertificates(File.ReadAllBytes(F("pki/ca/example.org-root.cert.pem")), "ca").Single();

    public static byte[] BundleDer => File.ReadAllBytes(F("pki/bundle/example.org.bundle.der"));

    /// <summary>A leaf SVID for <paramref name="spiffeId"/> signed by the example.org root (its test-only key), with its PKCS#8 DER key (ECDSA P-256, or RSA of <paramref name="rsaBits"/> bits).</summary>
    public static (X509Certificate Cert, byte[] KeyDer) IssueLeaf(string spiffeId, DateTimeOffset notBefore, DateTimeOffset notAfter, int rsaBits = 0)
    {
        var ca = RootCa;
        AsymmetricKeyParameter caKey;
        using (var reader = new StringReader(File.ReadAllText(F("pki/ca/example.org-root.key.pem"))))
        {
            caKey = (AsymmetricKeyParameter)new PemReader(reader).ReadObject();
        }

        return SvidTestPki.IssueLeaf(ca, caKey, spiffeId, notBefore, notAfter, rsaBits);
    }
}

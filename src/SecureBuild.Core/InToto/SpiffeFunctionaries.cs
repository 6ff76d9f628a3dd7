using Org.BouncyCastle.X509;
using SecureBuild.Core.Spiffe;

namespace SecureBuild.Core.InToto;

/// <summary>
/// SPIFFE IDs as a layout's functionaries (exact IDs or <c>spiffe://td/path/*</c>): written as a step's
/// <c>cert_constraints</c> (uris) with the trust bundle's CAs as the layout's <c>rootcas</c>, so a link signed with an
/// X.509-SVID of an allowed ID counts for the step (<c>SecureBuildSigning=spiffe</c> signs links that way).
/// </summary>
public sealed class SpiffeFunctionaries
{
    public SpiffeFunctionaries(IReadOnlyList<SpiffePattern> ids, IReadOnlyList<X509Certificate> trustBundle)
    {
        if (ids.Count == 0)
        {
            throw new ArgumentException("at least one SPIFFE ID is needed", nameof(ids));
        }

        if (trustBundle.Count == 0)
        {
            throw new ArgumentException("the SPIFFE trust bundle holds no CA certificate", nameof(trustBundle));
        }

        var domains = ids.Select(i => i.Id.TrustDomain).Distinct(StringComparer.Ordinal).ToList();
        foreach (var ca in trustBundle)
        {
            if (SvidVerifier.CaTrustDomain(ca) is { } td && !domains.Contains(td))
            {
                throw new ArgumentException($"the trust bundle's CA {Sigstore.SigstoreCertificates.Describe(ca)} is of the trust domain '{td}', and no SPIFFE ID functionary is (trust domains: {string.Join(", ", domains)}); give the bundle of the functionaries' trust domain", nameof(trustBundle));
            }
        }

        Ids = ids;
        TrustBundle = trustBundle;
    }

    public IReadOnlyList<SpiffePattern> Ids { get; }

    public IReadOnlyList<X509Certificate> TrustBundle { get; }

    /// <summary>One constraint allowing every ID of <see cref="Ids"/> (from any of the layout's root CAs).</summary>
    public List<CertificateConstraint> Constraints() => new() { CertificateConstraint.ForSpiffeIds(Ids.Select(i => i.ToString())) };

    /// <summary>Adds the trust bundle's CAs to the layout's root CAs.</summary>
    /// <exception cref="Crypto.KeyFormatException">A CA key of a type in-toto keys cannot hold.</exception>
    public void AddRootCas(Layout layout)
    {
        foreach (var ca in TrustBundle)
        {
            layout.AddRootCa(LayoutCertificate.From(ca));
        }
    }
}

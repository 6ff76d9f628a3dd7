using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Core.Spiffe;

/// <summary>What an SVID must satisfy beyond the SPIFFE standards.</summary>
public sealed class SvidPolicy
{
    /// <summary>The default longest validity period of a leaf SVID: short-lived means at most a day.</summary>
    public static readonly TimeSpan DefaultMaxTtl = TimeSpan.FromHours(24);

    /// <summary>Longest validity period (notAfter - notBefore) of the leaf.</summary>
    public TimeSpan MaxTtl { get; set; } = DefaultMaxTtl;

    /// <summary>The SPIFFE IDs allowed (exact or <c>/*</c> prefixes); empty: any ID of the trust domain.</summary>
    public IReadOnlyList<SpiffePattern> AllowedIds { get; set; } = Array.Empty<SpiffePattern>();
}

/// <summary>
/// Verifies an X.509-SVID by the SPIFFE standards (X509-SVID.md 4-5, Trust Domain and Bundle 3) and a policy:
/// exactly one URI SAN holding a SPIFFE ID with a path, a leaf that is not a CA, key usage critical with
/// digitalSignature and without keyCertSign/cRLSign, an extended key usage (if any) with serverAuth and clientAuth,
/// a path to a CA of the bundle of the ID's own trust domain with every certificate valid at the given time (the
/// validity period inclusive, RFC 5280), a leaf validity period no longer than the policy's maximum, and an allowed ID.
/// </summary>
public static class SvidVerifier
{
    private const string OidServerAuth = "1.3.6.1.5.5.7.3.1";
    private const string OidClientAuth = "1.3.6.1.5.5.7.3.2";
    private const int MaxPathLength = 16;

    /// <summary>The verified SPIFFE ID of <paramref name="chain"/>[0].</summary>
    /// <param name="chain">The leaf first, then intermediates (in any order; not trusted by themselves).</param>
    /// <param name="bundles">The trusted CAs per trust domain (lower case).</param>
    /// <param name="at">When the SVID must be valid (e.g. when the signature was made).</param>
    /// <param name="policy">Maximum validity period and allowed IDs.</param>
    /// <exception cref="SvidException">The first rule the SVID breaks.</exception>
    public static SpiffeId Verify(IReadOnlyList<X509Certificate> chain, IReadOnlyDictionary<string, IReadOnlyList<X509Certificate>> bundles, DateTimeOffset at, SvidPolicy policy)
    {
        if (chain.Count == 0)
        {
            throw SvidException.Input("the SVID chain holds no certificate.");
        }

        var leaf = chain[0];
        var id = LeafId(leaf);
        CheckLeaf(leaf);

        if (!bundles.TryGetValue(id.TrustDomain, out var cas))
        {
            throw new SvidException(SvidException.TrustDomainMismatch, "trust-domain-mismatch",
                $"the SVID's SPIFFE ID {id} is of the trust domain '{id.TrustDomain}', and no bundle of that trust domain is trusted (trusted: {string.Join(", ", bundles.Keys.OrderBy(k => k, StringComparer.Ordinal))}).",
                "An SVID is checked only against the bundle of its own trust domain: give that bundle, or this is a workload of another trust domain.");
        }

        var path = BuildPath(leaf, chain.Skip(1).ToList(), cas, id);
        CheckTimes(path, at);
        foreach (var certificate in path)
        {
            CheckRsaKeySize(certificate, id);
        }

        var ttl = leaf.NotAfter.ToUniversalTime() - leaf.NotBefore.ToUniversalTime();
        if (ttl > policy.MaxTtl)
        {
            throw new SvidException(SvidException.NotShortLived, "not-short-lived",
                $"the SVID of {id} is valid for {Describe(ttl)} ({SigstoreCertificates.Validity(leaf)}), longer than the {Describe(policy.MaxTtl)} allowed for a short-lived SVID.",
                "Issue short-lived SVIDs (SPIRE's default is 1 h), or raise the maximum (--max-ttl) if the policy really allows it.");
        }

        if (policy.AllowedIds.Count > 0 && !policy.AllowedIds.Any(p => p.Allows(id)))
        {
            throw new SvidException(SvidException.NotAuthorized, "spiffe-id-not-authorized",
                $"the SVID is valid, but its SPIFFE ID {id} is not allowed (allowed: {string.Join(", ", policy.AllowedIds)}).",
                "It was signed by another workload: check who signed it, or allow that SPIFFE ID in the policy.");
        }

        return id;
    }

    /// <summary>Refuses an RSA key shorter than <see cref="KeyAlgorithms.MinRsaBits"/> (the rule every key SecureBuild reads follows).</summary>
    /// <exception cref="SvidException">SB5300.</exception>
    public static void CheckRsaKeySize(X509Certificate certificate, SpiffeId? id)
    {
        AsymmetricKeyParameter key;
        try
        {
            key = certificate.GetPublicKey();
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or IOException or FormatException or InvalidOperationException or SecurityUtilityException)
        {
            return; // an unknown key type: the signature check refuses it
        }

        if (key is RsaKeyParameters rsa && rsa.Modulus.BitLength < KeyAlgorithms.MinRsaBits)
        {
            throw new SvidException(SvidException.WeakRsaKey, "weak-rsa-key",
                $"the certificate {SigstoreCertificates.Describe(certificate)}{(id is null ? "" : $" on the path of the SVID {id}")} has an RSA-{rsa.Modulus.BitLength} key; RSA keys must have at least {KeyAlgorithms.MinRsaBits} bits.",
                $"Issue the SVID (and its CAs) with RSA keys of {KeyAlgorithms.MinRsaBits} bits or more, or with ECDSA P-256 keys.");
        }
    }

    /// <summary>The URI SANs of a certificate.</summary>
    public static List<string> UriSans(X509Certificate cert) =>
        SigstoreCertificates.SubjectAlternativeNameEntries(cert)
            .Where(n => n.TagNo == GeneralName.UniformResourceIdentifier)
            .Select(n => ((IAsn1String)n.Name).GetString())
            .ToList();

    /// <summary>The trust domain a CA certificate names in its SPIFFE ID URI SAN, or null.</summary>
    public static string? CaTrustDomain(X509Certificate ca)
    {
        var uris = SafeUriSans(ca);
        return uris.Count == 1 && SpiffeId.TryParse(uris[0], out var id, out _, out _) ? id!.TrustDomain : null;
    }

    /// <summary>The URI SANs of a certificate, or none when its extension cannot be read (for messages and lookups; <see cref="Verify"/> refuses such a leaf).</summary>
    public static List<string> SafeUriSans(X509Certificate cert)
    {
        try
        {
            return UriSans(cert);
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or IOException or FormatException or InvalidOperationException)
        {
            return new List<string>();
        }
    }

    private static SpiffeId LeafId(X509Certificate leaf)
    {
        List<string> uris;
        try
        {
            uris = UriSans(leaf);
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or IOException or FormatException or InvalidOperationException)
        {
            throw new SvidException(SvidException.UriSan, "no-uri-san", $"the leaf's subject alternative name extension cannot be read: {e.Message}", "The certificate is not an X.509-SVID.");
        }

        if (uris.Count == 0)
        {
            throw new SvidException(SvidException.UriSan, "no-uri-san",
                $"the leaf {SigstoreCertificates.Describe(leaf)} has no URI subject alternative name, so no SPIFFE ID.", "The certificate is not an X.509-SVID: an SVID holds its SPIFFE ID in exactly one URI SAN.");
        }

        if (uris.Count > 1)
        {
            throw new SvidException(SvidException.UriSan, "multiple-uri-san",
                $"the leaf has {uris.Count} URI subject alternative names ({string.Join(", ", uris)}); an X.509-SVID has exactly one.", "Issue the SVID with one URI SAN, its SPIFFE ID.");
        }

        if (!SpiffeId.TryParse(uris[0], out var id, out string error, out bool scheme))
        {
            throw new SvidException(SvidException.InvalidId, scheme ? "not-spiffe-scheme" : "invalid-spiffe-id",
                $"the leaf's URI SAN '{uris[0]}' is not a SPIFFE ID: {error}.", "An X.509-SVID's URI SAN must be spiffe://TRUST-DOMAIN/PATH.");
        }

        if (id!.Path.Length == 0)
        {
            throw new SvidException(SvidException.InvalidId, "root-path-spiffe-id",
                $"the leaf's SPIFFE ID {id} has no path: it names the trust domain itself, not a workload.", "A leaf SVID's SPIFFE ID must have a path (spiffe://TRUST-DOMAIN/workload).");
        }

        return id;
    }

    private static void CheckLeaf(X509Certificate leaf)
    {
        if (leaf.GetBasicConstraints() >= 0)
        {
            throw new SvidException(SvidException.LeafIsCa, "leaf-is-ca",
                "the leaf is a CA certificate (basicConstraints cA=true); a leaf SVID must not be.", "Sign with a leaf SVID, not with a signing (CA) certificate.");
        }

        bool[]? usage = leaf.GetKeyUsage();
        bool critical = leaf.GetCriticalExtensionOids()?.Contains(X509Extensions.KeyUsage.Id) == true;
        if (usage is null || !critical)
        {
            throw new SvidException(SvidException.KeyUsage, "key-usage-not-critical",
                usage is null ? "the leaf has no key usage extension; an X.509-SVID must have one, marked critical." : "the leaf's key usage extension is not marked critical, as X.509-SVIDs require.",
                "Issue the SVID with a critical key usage that includes digitalSignature.");
        }

        if (usage.Length > 6 && (usage[5] || usage[6]))
        {
            throw new SvidException(SvidException.KeyUsage, "leaf-key-cert-sign",
                $"the leaf's key usage includes {(usage[5] ? "keyCertSign" : "cRLSign")}, which a leaf SVID must not have.", "Issue the SVID with key usage digitalSignature only.");
        }

        if (usage.Length == 0 || !usage[0])
        {
            throw new SvidException(SvidException.KeyUsage, "missing-digital-signature",
                "the leaf's key usage lacks digitalSignature, which an X.509-SVID must have.", "Issue the SVID with key usage digitalSignature.");
        }

        var eku = leaf.GetExtendedKeyUsage();
        if (eku is not null && !(eku.Any(o => o.Id == OidServerAuth) && eku.Any(o => o.Id == OidClientAuth)))
        {
            throw new SvidException(SvidException.ExtendedKeyUsage, "extended-key-usage",
                $"the leaf's extended key usage ({string.Join(", ", eku.Select(o => o.Id))}) lacks serverAuth or clientAuth; when present, an X.509-SVID's must list both.",
                "Issue the SVID with both, or without an extended key usage.");
        }
    }

    /// <summary>leaf, intermediates..., anchor: each signed by the next, issuers CAs within their path length.</summary>
    private static List<X509Certificate> BuildPath(X509Certificate leaf, List<X509Certificate> intermediates, IReadOnlyList<X509Certificate> cas, SpiffeId id)
    {
        var path = new List<X509Certificate> { leaf };
        var current = leaf;
        var used = new HashSet<int>();
        while (true)
        {
            if (path.Count > 1 && cas.Any(ca => ca.Equals(current)))
            {
                break; // the given chain itself ends with a trusted CA
            }

            var anchor = cas.FirstOrDefault(ca => current.IssuerDN.Equivalent(ca.SubjectDN) && SigstoreCertificates.SignedBy(current, ca));
            if (anchor is not null)
            {
                path.Add(anchor);
                break;
            }

            int next = -1;
            for (int i = 0; i < intermediates.Count; i++)
            {
                if (!used.Contains(i) && current.IssuerDN.Equivalent(intermediates[i].SubjectDN) && SigstoreCertificates.SignedBy(current, intermediates[i]))
                {
                    next = i;
                    break;
                }
            }

            if (next < 0 || path.Count >= MaxPathLength)
            {
                throw new SvidException(SvidException.UntrustedIssuer, "untrusted-issuer",
                    $"the SVID of {id} does not chain to a CA of the '{id.TrustDomain}' bundle: no trusted or given certificate signed {SigstoreCertificates.Describe(current)} (issuer '{current.IssuerDN}').",
                    "Give the intermediates with the SVID (leaf first) and the trust domain's current bundle; otherwise the SVID was not issued by this trust domain.");
            }

            used.Add(next);
            current = intermediates[next];
            path.Add(current);
        }

        for (int m = 1; m < path.Count; m++)
        {
            var issuer = path[m];
            int pathLen = issuer.GetBasicConstraints();
            bool[]? usage = issuer.GetKeyUsage();
            string? problem = pathLen < 0 ? "is not a CA (basicConstraints cA=false)"
                : usage is not null && (usage.Length < 6 || !usage[5]) ? "may not sign certificates (no keyCertSign)"
                : pathLen != int.MaxValue && pathLen < m - 1 ? "has a path length constraint the chain exceeds"
                : null;
            if (problem is not null)
            {
                throw new SvidException(SvidException.UntrustedIssuer, "untrusted-issuer",
                    $"the issuing certificate {SigstoreCertificates.Describe(issuer)} on the SVID's path {problem}.", "The SVID's chain is not a valid certificate path.");
            }
        }

        return path;
    }

    private static void CheckTimes(List<X509Certificate> path, DateTimeOffset at)
    {
        foreach (var cert in path)
        {
            var utc = at.UtcDateTime;
            if (utc > cert.NotAfter.ToUniversalTime())
            {
                throw new SvidException(SvidException.NotValidAt, "expired",
                    $"the certificate {SigstoreCertificates.Describe(cert)} had expired at {SigstoreTime.Format(at)} (valid {SigstoreCertificates.Validity(cert)}).",
                    "The signature was not made while the SVID was valid: sign with a current SVID (the Workload API rotates them).");
            }

            if (utc < cert.NotBefore.ToUniversalTime())
            {
                throw new SvidException(SvidException.NotValidAt, "not-yet-valid",
                    $"the certificate {SigstoreCertificates.Describe(cert)} was not yet valid at {SigstoreTime.Format(at)} (valid {SigstoreCertificates.Validity(cert)}).",
                    "Check the verification time and the issuer's clock.");
            }
        }
    }

    private static string Describe(TimeSpan span) =>
        span.TotalHours >= 48 ? $"{span.TotalDays:0.##} days" : span.TotalMinutes >= 120 ? $"{span.TotalHours:0.##} h" : $"{span.TotalMinutes:0.##} min";
}

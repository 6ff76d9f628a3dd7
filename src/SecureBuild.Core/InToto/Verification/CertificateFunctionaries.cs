using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;
using SecureBuild.Core.Crypto;
using SecureBuild.Core.Sigstore;
using SecureBuild.Core.Spiffe;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>
/// Steps whose functionaries are certificates (in-toto-golang's <c>cert_constraints</c>; for SecureBuild, X.509-SVIDs):
/// which link files may hold such a link, and whether the certificate a link signature carries counts for a step. It
/// counts when the SVID passes every rule <see cref="SvidVerifier"/> checks (one URI SAN, leaf not a CA, key usage,
/// short-lived, valid at the signing time), chaining through the link's own intermediates or the layout's
/// <c>intermediatecas</c> to a root of the layout's <c>rootcas</c> of its trust domain, and meets one of the step's
/// constraints. Unlike in-toto-golang, which counts signing keys, a threshold counts distinct SPIFFE IDs: SVIDs rotate,
/// so one workload signs with many keys.
/// </summary>
internal static class CertificateFunctionaries
{
    /// <summary>Most link files looked at per step for certificate-signed links.</summary>
    public const int MaxCandidates = 256;

    /// <summary>
    /// Link files <c>&lt;step&gt;.&lt;8 hex&gt;.link</c> beside the ones the step's keys name: the keyid of an SVID's key
    /// is not known in advance. Sorted by name; none when the directory does not exist.
    /// </summary>
    /// <exception cref="VerificationAbort">FormatError: more than <see cref="MaxCandidates"/> such files.</exception>
    public static List<(string Prefix8, string Path)> Candidates(string linkDir, Step step)
    {
        var result = new List<(string, string)>();
        string stem = PathJoin.Join(linkDir, step.Name + ".");
        string dir = Path.GetDirectoryName(stem) is { Length: > 0 } d ? d : ".";
        string prefix = Path.GetFileName(stem);
        if (prefix.Length <= 1 || !Directory.Exists(dir))
        {
            return result;
        }

        var keyPrefixes = new HashSet<string>(step.PubKeys.Select(LayoutVerifier.Prefix8), StringComparer.Ordinal);
        IEnumerable<string> files;
        try
        {
            files = Directory.EnumerateFiles(dir, "*.link").Select(Path.GetFileName).OfType<string>().OrderBy(n => n, StringComparer.Ordinal).ToList();
        }
        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
        {
            return result;
        }

        foreach (string name in files)
        {
            if (name.Length != prefix.Length + 8 + 5 || !name.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            string mid = name.Substring(prefix.Length, 8);
            if (!Hex.IsHex(mid) || keyPrefixes.Contains(mid))
            {
                continue;
            }

            if (result.Count == MaxCandidates)
            {
                throw VerificationAbort.Format($"{dir} holds more than {MaxCandidates} link files for step '{step.Name}', which takes certificate functionaries; remove the stale ones.");
            }

            result.Add((mid, PathJoin.Join(linkDir, step.Name + "." + mid + ".link")));
        }

        return result;
    }

    /// <summary>
    /// The signature of <paramref name="file"/> whose keyid starts with <paramref name="prefix8"/> and carries a
    /// certificate, checked with the certificate's key: the certificates (leaf first) when it verifies, otherwise why not.
    /// </summary>
    public static (IReadOnlyList<X509Certificate>? Chain, string KeyId, (DropReason Reason, string Why)? Problem) CheckSignature(MetadataFile file, string prefix8)
    {
        var entry = file.Signatures.FirstOrDefault(s => s.Cert is not null && s.KeyId.StartsWith(prefix8, StringComparison.Ordinal));
        if (entry is null)
        {
            return (null, prefix8, (DropReason.NotSignedByNamedKey,
                $"no signature with a certificate (\"cert\") by a key {prefix8}…: {(file.Signatures.Count == 0 ? "it carries no signature at all" : "it is signed by " + string.Join(", ", file.Signatures.Select(s => ReferenceMetadataReader.Short(s.KeyId) + (s.Cert is null ? " (no certificate)" : ""))))}"));
        }

        IReadOnlyList<X509Certificate> chain;
        PublicKey key;
        try
        {
            chain = SvidCertificates.ReadCertificates(System.Text.Encoding.UTF8.GetBytes(entry.Cert!), "the signature's \"cert\"");
            key = LayoutCertificate.PublicKeyOf(chain[0], "the signature's certificate");
        }
        catch (Exception e) when (e is SvidException || e is KeyFormatException)
        {
            return (null, entry.KeyId, (DropReason.CertificateNotAccepted, $"the signature's certificate cannot be used: {e.Message}"));
        }

        if (key.KeyId != entry.KeyId)
        {
            return (null, entry.KeyId, (DropReason.CertificateNotAccepted,
                $"the signature names the key {ReferenceMetadataReader.Short(entry.KeyId)}, but the certificate it carries is for the key {ReferenceMetadataReader.Short(key.KeyId)}"));
        }

        var problem = new InTotoVerificationKey(key).Check(file);
        return problem is null ? (chain, entry.KeyId, null) : (null, entry.KeyId, problem);
    }

    /// <summary>
    /// The SPIFFE ID of the SVID <paramref name="chain"/> when it may act for <paramref name="step"/>; otherwise null
    /// and the refusal, naming the identity and the constraints.
    /// </summary>
    public static (SpiffeId? Id, string? Refusal) Authorize(Step step, IReadOnlyList<X509Certificate> chain, Layout layout, DateTimeOffset signedAt, TimeSpan maxTtl)
    {
        var intermediates = chain.Concat(layout.IntermediateCas.Values.Select(c => c.Certificate)).ToList();
        string who = DescribeLeaf(chain[0]);
        if (layout.RootCas.Count == 0)
        {
            return (null, $"it is signed with the certificate of {who}, and the layout names no root CA (\"rootcas\") to check it against");
        }

        SpiffeId id;
        try
        {
            id = Verify(intermediates, layout.RootCas.Values, signedAt, maxTtl);
        }
        catch (SvidException e)
        {
            return (null, $"it is signed with the certificate of {who}, which is not a valid X.509-SVID from the layout's root CAs at {SigstoreTime.Format(signedAt)}: {e.Code}: {e.Reason}");
        }

        var reasons = new List<string>();
        foreach (var constraint in step.CertConstraints)
        {
            string? unmet = Unmet(constraint, id, intermediates, layout, signedAt, maxTtl);
            if (unmet is null)
            {
                return (id, null);
            }

            reasons.Add($"{constraint}: {unmet}");
        }

        return (null, $"it is signed by {id}, which meets none of the certificate constraints of step '{step.Name}' ({string.Join("; ", reasons)})");
    }

    private static SpiffeId Verify(List<X509Certificate> chain, IEnumerable<LayoutCertificate> roots, DateTimeOffset signedAt, TimeSpan maxTtl)
    {
        string domain = SpiffeId.TryParse(SvidVerifier.SafeUriSans(chain[0]).FirstOrDefault() ?? "", out var named, out _, out _) ? named!.TrustDomain : "";

        // A root that names its trust domain (a SPIFFE ID URI SAN, as SPIRE's CAs do) anchors only that trust domain's SVIDs.
        var anchors = roots.Select(r => r.Certificate).Where(c => SvidVerifier.CaTrustDomain(c) is not { } td || td == domain).ToList();
        var bundles = new Dictionary<string, IReadOnlyList<X509Certificate>>(StringComparer.Ordinal);
        if (anchors.Count > 0)
        {
            bundles[domain] = anchors;
        }

        return SvidVerifier.Verify(chain, bundles, signedAt, new SvidPolicy { MaxTtl = maxTtl });
    }

    private static string? Unmet(CertificateConstraint c, SpiffeId id, List<X509Certificate> chain, Layout layout, DateTimeOffset signedAt, TimeSpan maxTtl)
    {
        var leaf = chain[0];
        if (!CertificateConstraint.IsAny(c.Uris) && !c.Uris.Any(u => AllowsUri(u, id)))
        {
            return $"the SPIFFE ID {id} is not one of the uris";
        }

        if (!CertificateConstraint.IsAny(c.Roots))
        {
            var roots = c.Roots.Select(r => layout.RootCas.TryGetValue(r, out var ca) ? ca : null).OfType<LayoutCertificate>().ToList();
            try
            {
                Verify(chain, roots, signedAt, maxTtl);
            }
            catch (SvidException)
            {
                return "it does not chain to one of the roots";
            }
        }

        string? cn = leaf.SubjectDN.GetValueList(X509Name.CN).Cast<object>().Select(o => o.ToString()).FirstOrDefault();
        return Attribute("common name", c.CommonName == "" ? new List<string>() : new List<string> { c.CommonName }, cn is null ? new List<string>() : new List<string> { cn })
            ?? Attribute("dns name", c.DnsNames, Sans(leaf, GeneralName.DnsName))
            ?? Attribute("email", c.Emails, Sans(leaf, GeneralName.Rfc822Name))
            ?? Attribute("organization", c.Organizations, leaf.SubjectDN.GetValueList(X509Name.O).Cast<object>().Select(o => o.ToString() ?? "").ToList());
    }

    private static bool AllowsUri(string allowed, SpiffeId id)
    {
        try
        {
            return SpiffePattern.Parse(allowed).Allows(id);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>in-toto-golang's rule: <c>["*"]</c> anything, otherwise exactly the listed values (none for an empty list).</summary>
    private static string? Attribute(string name, List<string> allowed, List<string> actual)
    {
        if (CertificateConstraint.IsAny(allowed))
        {
            return null;
        }

        var want = new HashSet<string>(allowed, StringComparer.Ordinal);
        var have = new HashSet<string>(actual, StringComparer.Ordinal);
        return want.SetEquals(have) ? null
            : $"its {name}s [{string.Join(", ", actual)}] are not exactly [{string.Join(", ", allowed)}]";
    }

    private static List<string> Sans(X509Certificate cert, int tag)
    {
        try
        {
            return SigstoreCertificates.SubjectAlternativeNameEntries(cert).Where(n => n.TagNo == tag).Select(n => n.Name.ToString() ?? "").ToList();
        }
        catch (Exception e) when (e is ArgumentException or InvalidCastException or IOException or FormatException or InvalidOperationException)
        {
            return new List<string> { "(unreadable)" };
        }
    }

    private static string DescribeLeaf(X509Certificate leaf)
    {
        var uris = SvidVerifier.SafeUriSans(leaf);
        return uris.Count == 1 ? uris[0] : SigstoreCertificates.Describe(leaf);
    }
}

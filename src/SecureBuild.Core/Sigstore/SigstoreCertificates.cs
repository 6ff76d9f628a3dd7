using System.Text;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.X509;

namespace SecureBuild.Core.Sigstore;

/// <summary>X.509 pieces of Sigstore verification: parsing, chains to trust-root CAs, Fulcio identity, embedded SCTs.</summary>
internal static class SigstoreCertificates
{
    public const string OidFulcioIssuerV1 = "1.3.6.1.4.1.57264.1.1";
    public const string OidFulcioIssuerV2 = "1.3.6.1.4.1.57264.1.8";
    public const string OidFulcioOtherNameSan = "1.3.6.1.4.1.57264.1.7";
    public const string OidSctList = "1.3.6.1.4.1.11129.2.4.2";
    public const string OidCodeSigning = "1.3.6.1.5.5.7.3.3";
    public const string OidTimeStamping = "1.3.6.1.5.5.7.3.8";

    /// <summary>Parses one DER certificate; the bytes must be exactly one certificate.</summary>
    public static X509Certificate Parse(byte[] der, string path, Func<string, Exception> fail)
    {
        if (der.Length == 0)
        {
            throw fail($"{path} is empty.");
        }

        try
        {
            var asn1 = Asn1Object.FromByteArray(der);
            var structure = X509CertificateStructure.GetInstance(asn1);
            var cert = new X509Certificate(structure);
            if (!ByteArrays.Equal(cert.GetEncoded(), der))
            {
                throw fail($"{path} is not a DER-encoded X.509 certificate (trailing or non-canonical bytes).");
            }

            return cert;
        }
        catch (Exception e) when (e is not SigstoreFormatException && e is not OutOfMemoryException)
        {
            throw fail($"{path} is not an X.509 certificate: {e.Message}");
        }
    }

    public static bool IsSelfSigned(X509Certificate cert)
    {
        if (!cert.IssuerDN.Equivalent(cert.SubjectDN))
        {
            return false;
        }

        try
        {
            cert.Verify(cert.GetPublicKey());
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    public static bool IsCa(X509Certificate cert) => cert.GetBasicConstraints() >= 0;

    public static string Describe(X509Certificate cert)
    {
        string subject = cert.SubjectDN.ToString();
        return $"{(subject.Length == 0 ? "with an empty subject" : "'" + subject + "'")} (serial {cert.SerialNumber.ToString(16)})";
    }

    public static bool ValidAt(X509Certificate cert, DateTimeOffset t) =>
        t.UtcDateTime >= cert.NotBefore.ToUniversalTime() && t.UtcDateTime <= cert.NotAfter.ToUniversalTime();

    public static string Validity(X509Certificate cert) =>
        $"{SigstoreTime.Format(new DateTimeOffset(cert.NotBefore.ToUniversalTime(), TimeSpan.Zero))} .. {SigstoreTime.Format(new DateTimeOffset(cert.NotAfter.ToUniversalTime(), TimeSpan.Zero))}";

    /// <summary>True when the EKU extension is present and lists <paramref name="oid"/>.</summary>
    public static bool HasExtendedKeyUsage(X509Certificate cert, string oid)
    {
        try
        {
            var list = cert.GetExtendedKeyUsage();
            return list is not null && list.Any(o => o.Id == oid);
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>
    /// Builds and checks the path leaf -> trust-root chain: each link's signature and name chaining, the CA flag and
    /// path length of every issuer, and that every certificate on the path is valid at <paramref name="time"/>.
    /// Returns null on success (with the path, leaf first) or the reason.
    /// </summary>
    public static string? VerifyChain(X509Certificate leaf, IReadOnlyList<X509Certificate> trustedChain, DateTimeOffset time, out List<X509Certificate> path)
    {
        path = new List<X509Certificate> { leaf };
        int start = -1;
        for (int j = 0; j < trustedChain.Count; j++)
        {
            if (trustedChain[j].SubjectDN.Equivalent(leaf.IssuerDN) && SignedBy(leaf, trustedChain[j]))
            {
                start = j;
                break;
            }
        }

        if (start < 0)
        {
            return $"the certificate {Describe(leaf)} was not issued by any certificate of this authority (issuer '{leaf.IssuerDN}')";
        }

        for (int k = start; k < trustedChain.Count; k++)
        {
            var issuer = trustedChain[k];
            path.Add(issuer);
            if (k + 1 < trustedChain.Count)
            {
                var next = trustedChain[k + 1];
                if (!issuer.IssuerDN.Equivalent(next.SubjectDN) || !SignedBy(issuer, next))
                {
                    return $"the trusted chain is broken: {Describe(issuer)} is not signed by {Describe(next)}";
                }
            }
        }

        if (IsCa(leaf))
        {
            return $"the signing certificate {Describe(leaf)} is a CA certificate";
        }

        for (int m = 1; m < path.Count; m++)
        {
            int pathLen = path[m].GetBasicConstraints();
            if (pathLen < 0)
            {
                return $"the issuing certificate {Describe(path[m])} is not a CA";
            }

            if (pathLen != int.MaxValue && pathLen < m - 1)
            {
                return $"the path length constraint of {Describe(path[m])} is exceeded";
            }
        }

        foreach (var cert in path)
        {
            if (!ValidAt(cert, time))
            {
                return $"the certificate {Describe(cert)} is not valid at {SigstoreTime.Format(time)} (valid {Validity(cert)})";
            }
        }

        return null;
    }

    public static bool SignedBy(X509Certificate cert, X509Certificate issuer)
    {
        try
        {
            cert.Verify(issuer.GetPublicKey());
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    /// <summary>The entries of the Subject Alternative Name extension (none when it is absent).</summary>
    public static GeneralName[] SubjectAlternativeNameEntries(X509Certificate cert)
    {
        var ext = cert.GetExtensionValue(X509Extensions.SubjectAlternativeName);
        return ext is null ? Array.Empty<GeneralName>() : GeneralNames.GetInstance(Asn1Object.FromByteArray(ext.GetOctets())).GetNames();
    }

    /// <summary>The Subject Alternative Names: URIs, e-mail addresses, DNS names and Fulcio's otherName usernames.</summary>
    public static List<string> SubjectAlternativeNames(X509Certificate cert)
    {
        var result = new List<string>();
        foreach (var name in SubjectAlternativeNameEntries(cert))
        {
            switch (name.TagNo)
            {
                case GeneralName.UniformResourceIdentifier:
                case GeneralName.Rfc822Name:
                case GeneralName.DnsName:
                    result.Add(((IAsn1String)name.Name).GetString());
                    break;
                case GeneralName.OtherName:
                    var seq = Asn1Sequence.GetInstance(name.Name);
                    if (seq.Count == 2 && DerObjectIdentifier.GetInstance(seq[0]).Id == OidFulcioOtherNameSan)
                    {
                        var value = Asn1TaggedObject.GetInstance(seq[1]).GetExplicitBaseObject();
                        if (value is IAsn1String s)
                        {
                            result.Add(s.GetString());
                        }
                    }

                    break;
            }
        }

        return result;
    }

    /// <summary>The OIDC issuer: extension 1.3.6.1.4.1.57264.1.8 (DER UTF8String), else legacy .1.1 (raw bytes).</summary>
    public static string? OidcIssuer(X509Certificate cert)
    {
        var v2 = cert.GetExtensionValue(new DerObjectIdentifier(OidFulcioIssuerV2));
        if (v2 is not null)
        {
            var inner = Asn1Object.FromByteArray(v2.GetOctets());
            return inner is IAsn1String s ? s.GetString() : null;
        }

        var v1 = cert.GetExtensionValue(new DerObjectIdentifier(OidFulcioIssuerV1));
        return v1 is null ? null : Encoding.UTF8.GetString(v1.GetOctets());
    }

    /// <summary>
    /// Verifies the embedded SCTs of <paramref name="leaf"/> (issued by <paramref name="issuer"/>) against the trusted CT
    /// logs. Returns the number of SCTs that verified; <paramref name="problems"/> collects why the others did not.
    /// </summary>
    public static int VerifyEmbeddedScts(X509Certificate leaf, X509Certificate issuer, IReadOnlyList<TransparencyLogInstance> ctlogs, List<string> problems)
    {
        var ext = leaf.GetExtensionValue(new DerObjectIdentifier(OidSctList));
        if (ext is null)
        {
            problems.Add("the certificate has no embedded SCT extension");
            return 0;
        }

        byte[] list;
        byte[] preCertTbs;
        try
        {
            list = Asn1OctetString.GetInstance(Asn1Object.FromByteArray(ext.GetOctets())).GetOctets();
            preCertTbs = PrecertificateTbs(leaf);
        }
        catch (Exception e)
        {
            problems.Add("the SCT extension is malformed: " + e.Message);
            return 0;
        }

        byte[] issuerKeyHash = SigstorePublicKey.Digest("SHA-256", issuer.CertificateStructure.SubjectPublicKeyInfo.GetDerEncoded());
        int verified = 0;
        var reader = new TlsReader(list);
        try
        {
            var sctList = new TlsReader(reader.Vector(2));
            if (!reader.AtEnd)
            {
                throw new FormatException("trailing bytes after the SCT list");
            }

            while (!sctList.AtEnd)
            {
                var sct = new TlsReader(sctList.Vector(2));
                int version = sct.Byte();
                byte[] logId = sct.Bytes(32);
                byte[] timestamp = sct.Bytes(8);
                byte[] extensions = sct.Vector(2);
                int hashAlg = sct.Byte();
                int sigAlg = sct.Byte();
                byte[] signature = sct.Vector(2);
                if (!sct.AtEnd || version != 0)
                {
                    problems.Add("an SCT has an unknown version or trailing bytes");
                    continue;
                }

                ulong ms = 0;
                foreach (byte b in timestamp)
                {
                    ms = (ms << 8) | b;
                }

                var when = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Min(ms, 253402300799999UL));
                var log = ctlogs.FirstOrDefault(l => ByteArrays.Equal(l.LogId, logId));
                if (log is null)
                {
                    problems.Add($"an SCT comes from a CT log that is not in the trusted root (log ID {Convert.ToBase64String(logId)})");
                    continue;
                }

                if (!log.ValidFor.Contains(when))
                {
                    problems.Add($"an SCT from {log.BaseUrl} is dated {SigstoreTime.Format(when)}, outside the log key's validity {log.ValidFor}");
                    continue;
                }

                if (log.Key is null)
                {
                    problems.Add(log.KeyError ?? "CT log key unusable");
                    continue;
                }

                string hash = hashAlg switch { 4 => "SHA-256", 5 => "SHA-384", 6 => "SHA-512", _ => string.Empty };
                if (hash.Length == 0 || (sigAlg != 1 && sigAlg != 3 && sigAlg != 7))
                {
                    problems.Add($"an SCT uses an unsupported algorithm (hash {hashAlg}, signature {sigAlg})");
                    continue;
                }

                var signed = new List<byte> { 0, 0 };
                signed.AddRange(timestamp);
                signed.AddRange(new byte[] { 0, 1 });
                signed.AddRange(issuerKeyHash);
                signed.AddRange(new[] { (byte)(preCertTbs.Length >> 16), (byte)(preCertTbs.Length >> 8), (byte)preCertTbs.Length });
                signed.AddRange(preCertTbs);
                signed.AddRange(new[] { (byte)(extensions.Length >> 8), (byte)extensions.Length });
                signed.AddRange(extensions);
                if (log.Key.Verify(signed.ToArray(), signature, hash))
                {
                    verified++;
                }
                else
                {
                    problems.Add($"the SCT signature from {log.BaseUrl} does not verify");
                }
            }
        }
        catch (Exception e) when (e is FormatException || e is IndexOutOfRangeException || e is ArgumentException)
        {
            problems.Add("the SCT list is malformed: " + e.Message);
        }

        return verified;
    }

    /// <summary>The leaf's TBSCertificate with the SCT-list extension removed, DER-encoded (RFC 6962 precertificate TBS).</summary>
    private static byte[] PrecertificateTbs(X509Certificate leaf)
    {
        var tbs = Asn1Sequence.GetInstance(leaf.CertificateStructure.TbsCertificate.ToAsn1Object());
        var rebuilt = new Asn1EncodableVector();
        foreach (var element in tbs)
        {
            if (element is Asn1TaggedObject tagged && tagged.TagNo == 3)
            {
                var extensions = Asn1Sequence.GetInstance(tagged, true);
                var kept = new Asn1EncodableVector();
                foreach (var e in extensions)
                {
                    var extSeq = Asn1Sequence.GetInstance(e);
                    if (DerObjectIdentifier.GetInstance(extSeq[0]).Id != OidSctList)
                    {
                        kept.Add(extSeq);
                    }
                }

                rebuilt.Add(new DerTaggedObject(true, 3, new DerSequence(kept)));
            }
            else
            {
                rebuilt.Add(element);
            }
        }

        return new DerSequence(rebuilt).GetEncoded(Asn1Encodable.Der);
    }

    /// <summary>Reader for TLS presentation-language structures (big-endian lengths).</summary>
    private sealed class TlsReader
    {
        private readonly byte[] _data;
        private int _pos;

        public TlsReader(byte[] data)
        {
            _data = data;
        }

        public bool AtEnd => _pos == _data.Length;

        public int Byte()
        {
            Need(1);
            return _data[_pos++];
        }

        public byte[] Bytes(int n)
        {
            Need(n);
            var result = new byte[n];
            Buffer.BlockCopy(_data, _pos, result, 0, n);
            _pos += n;
            return result;
        }

        public byte[] Vector(int lengthBytes)
        {
            int len = 0;
            for (int i = 0; i < lengthBytes; i++)
            {
                len = (len << 8) | Byte();
            }

            return Bytes(len);
        }

        private void Need(int n)
        {
            if (n < 0 || _data.Length - _pos < n)
            {
                throw new FormatException("truncated TLS structure");
            }
        }
    }
}

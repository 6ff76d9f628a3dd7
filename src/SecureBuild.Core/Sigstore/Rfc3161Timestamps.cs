using Org.BouncyCastle.Cms;
using Org.BouncyCastle.Tsp;
using Org.BouncyCastle.X509;

namespace SecureBuild.Core.Sigstore;

/// <summary>RFC 3161 signed timestamps over the bundle's signature, checked against the trusted root's TSAs.</summary>
internal static class Rfc3161Timestamps
{
    /// <summary>
    /// Verifies one timestamp: its message imprint must be the hash of <paramref name="signature"/>, it must be signed by
    /// the leaf of a trusted TSA chain that is valid at the timestamp's time, within the TSA's validity interval, and
    /// not later than <paramref name="now"/>. Returns the time, or null with <paramref name="error"/> set.
    /// </summary>
    public static DateTimeOffset? Verify(byte[] blob, byte[] signature, IReadOnlyList<CertificateAuthorityInstance> tsas, DateTimeOffset now, out string error)
    {
        error = string.Empty;
        TimeStampToken token;
        try
        {
            token = ReadToken(blob);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            error = "the RFC 3161 timestamp cannot be read: " + e.Message;
            return null;
        }

        // The CMS signer's digest algorithm sits outside the signed attributes: insist that it names a real hash.
        foreach (var signer in token.ToCmsSignedData().GetSignerInfos().GetSigners())
        {
            if (signer.DigestAlgorithmID.Algorithm.Id is not ("2.16.840.1.101.3.4.2.1" or "2.16.840.1.101.3.4.2.2" or "2.16.840.1.101.3.4.2.3"))
            {
                error = $"the RFC 3161 timestamp's signer uses the unsupported digest algorithm {signer.DigestAlgorithmID.Algorithm.Id}";
                return null;
            }
        }

        var info = token.TimeStampInfo;
        var genTime = new DateTimeOffset(DateTime.SpecifyKind(info.GenTime, DateTimeKind.Utc));
        string? hash = info.MessageImprintAlgOid switch
        {
            "2.16.840.1.101.3.4.2.1" => "SHA-256",
            "2.16.840.1.101.3.4.2.2" => "SHA-384",
            "2.16.840.1.101.3.4.2.3" => "SHA-512",
            _ => null,
        };
        if (hash is null)
        {
            error = $"the RFC 3161 timestamp uses the unsupported imprint hash {info.MessageImprintAlgOid}";
            return null;
        }

        if (!ByteArrays.Equal(info.GetMessageImprintDigest(), SigstorePublicKey.Digest(hash, signature)))
        {
            error = "the RFC 3161 timestamp was issued for different data: its message imprint is not the hash of the bundle's signature";
            return null;
        }

        if (genTime > now)
        {
            error = $"the RFC 3161 timestamp ({SigstoreTime.Format(genTime)}) lies after the verification time {SigstoreTime.Format(now)}";
            return null;
        }

        var signerId = token.SignerID;
        var candidates = tsas.Where(t => t.Chain.Count > 0
            && t.Chain[0].SerialNumber.Equals(signerId.SerialNumber)
            && (signerId.Issuer is null || t.Chain[0].IssuerDN.Equivalent(signerId.Issuer))).ToList();
        if (candidates.Count == 0)
        {
            error = $"the RFC 3161 timestamp was signed by '{signerId.Issuer}' serial {signerId.SerialNumber?.ToString(16)}, which is not a timestamp authority of the trusted root";
            return null;
        }

        var problems = new List<string>();
        foreach (var tsa in candidates)
        {
            if (!tsa.ValidFor.Contains(genTime))
            {
                problems.Add($"the timestamp time {SigstoreTime.Format(genTime)} is outside the validity {tsa.ValidFor} of the timestamp authority {tsa.Uri}");
                continue;
            }

            X509Certificate leaf = tsa.Chain[0];
            string? chainError;
            if (tsa.Chain.Count > 1)
            {
                chainError = SigstoreCertificates.VerifyChain(leaf, tsa.Chain.Skip(1).ToList(), genTime, out _);
            }
            else
            {
                chainError = SigstoreCertificates.ValidAt(leaf, genTime) ? null : $"the TSA certificate is not valid at {SigstoreTime.Format(genTime)}";
            }

            if (chainError is not null)
            {
                problems.Add($"timestamp authority {tsa.Uri}: {chainError}");
                continue;
            }

            if (!SigstoreCertificates.HasExtendedKeyUsage(leaf, SigstoreCertificates.OidTimeStamping))
            {
                problems.Add($"timestamp authority {tsa.Uri}: its certificate is not for time stamping");
                continue;
            }

            try
            {
                token.Validate(leaf);
                return genTime;
            }
            catch (Exception e) when (e is TspException || e is TspValidationException || e is CmsException || e is ArgumentException || e is InvalidOperationException)
            {
                problems.Add($"timestamp authority {tsa.Uri}: the timestamp signature does not verify ({e.Message})");
            }
        }

        error = "the RFC 3161 timestamp could not be verified: " + string.Join("; ", problems);
        return null;
    }

    private static TimeStampToken ReadToken(byte[] blob)
    {
        try
        {
            var response = new TimeStampResponse(blob);
            if (response.Status != 0 && response.Status != 1)
            {
                throw new TspException($"the timestamp response has status {response.Status} ({response.GetStatusString()})");
            }

            return response.TimeStampToken ?? throw new TspException("the timestamp response holds no token");
        }
        catch (TspException)
        {
            throw;
        }
        catch (Exception)
        {
            // Not a TimeStampResp: accept a bare token (ContentInfo with SignedData) too.
            return new TimeStampToken(new CmsSignedData(blob));
        }
    }
}

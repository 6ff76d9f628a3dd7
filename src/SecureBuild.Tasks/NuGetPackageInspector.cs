using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using NuGet.Packaging;
using NuGet.Packaging.Signing;
using SecureBuild.Core.Locking;

namespace SecureBuild.Tasks;

/// <summary>What SecureBuild asks NuGet.Packaging about a .nupkg: its content hash and its signature.</summary>
internal static class NuGetPackageInspector
{
    /// <summary>
    /// NuGet's content hash: base64 SHA-512 of the package as it was before it was signed. The package's entry names
    /// and sizes are checked by SecureBuild's archive reader first (an <see cref="Core.Archives.ArchiveFormatException"/>),
    /// so NuGet never reads a crafted one.
    /// </summary>
    public static string ContentHash(string nupkg)
    {
        Core.Archives.ArchiveReader.Check(nupkg);
        using var reader = new PackageArchiveReader(Core.IO.InputFile.OpenRead(nupkg, Core.IO.InputKind.Artifact));
        return reader.GetContentHash(CancellationToken.None);
    }

    /// <summary>
    /// The package's signers, and whether the signature is sound: the CMS signature verifies and the
    /// signed content hash matches the package. Chain building and revocation are left to NuGet's own
    /// restore-time verification; the trust decision here is by certificate fingerprint.
    /// </summary>
    public static PackageSignatureInfo Signature(string nupkg)
    {
        using var reader = new PackageArchiveReader(Core.IO.InputFile.OpenRead(nupkg, Core.IO.InputKind.Artifact));
        var info = new PackageSignatureInfo();
        if (!reader.IsSignedAsync(CancellationToken.None).GetAwaiter().GetResult())
        {
            return info;
        }
        info.Signed = true;
        PrimarySignature? signature;
        try
        {
            signature = reader.GetPrimarySignatureAsync(CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (SignatureException e)
        {
            info.Invalid = e.Message;
            return info;
        }
        if (signature is null)
        {
            info.Invalid = "the package has a signature file but no readable primary signature";
            return info;
        }
        var signer = signature.SignerInfo.Certificate;
        if (signature.Type == SignatureType.Author)
        {
            info.Author = Fingerprint(signer);
            info.AuthorSubject = signer?.Subject;
        }
        else if (signature.Type == SignatureType.Repository)
        {
            info.Repository = Fingerprint(signer);
            info.RepositorySubject = signer?.Subject;
            if (signature is RepositoryPrimarySignature repository)
            {
                info.ServiceIndex = repository.V3ServiceIndexUrl?.ToString();
                info.Owners.UnionWith(repository.PackageOwners ?? (IEnumerable<string>)Array.Empty<string>());
            }
        }
        var counter = RepositoryCountersignature.GetRepositoryCountersignature(signature);
        if (counter is not null)
        {
            info.Repository = Fingerprint(counter.SignerInfo.Certificate);
            info.RepositorySubject = counter.SignerInfo.Certificate?.Subject;
            info.ServiceIndex = counter.V3ServiceIndexUrl?.ToString();
            info.Owners.UnionWith(counter.PackageOwners ?? (IEnumerable<string>)Array.Empty<string>());
        }
        try
        {
            signature.SignedCms.CheckSignature(verifySignatureOnly: true);
            reader.ValidateIntegrityAsync(signature.SignatureContent, CancellationToken.None).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is CryptographicException || e is SignatureException || e is InvalidDataException)
        {
            info.Invalid = e.Message;
        }
        return info;
    }

    private static string? Fingerprint(X509Certificate2? certificate)
    {
        if (certificate is null)
        {
            return null;
        }
        using var sha = SHA256.Create();
        return Core.Crypto.Hex.Encode(sha.ComputeHash(certificate.RawData)).ToUpperInvariant();
    }
}

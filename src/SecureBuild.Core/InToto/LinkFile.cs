using SecureBuild.Core.Crypto;
using SecureBuild.Core.IO;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto;

/// <summary>Link file naming and signed, atomic link writing.</summary>
public static class LinkFile
{
    /// <summary>"&lt;step&gt;.&lt;first 8 hex of keyid&gt;.link", the name in-toto-verify looks for.</summary>
    public static string FileName(string stepName, string keyId)
    {
        if (string.IsNullOrEmpty(stepName))
        {
            throw new ArgumentException("The step name must not be empty.", nameof(stepName));
        }

        if (stepName.IndexOf('/') >= 0 || stepName.IndexOf('\\') >= 0 || stepName == "." || stepName == ".."
            || stepName.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0)
        {
            throw new ArgumentException($"The step name \"{stepName}\" cannot be used in a file name.", nameof(stepName));
        }

        if (keyId is null || keyId.Length < 8 || !Hex.IsHex(keyId))
        {
            throw new ArgumentException($"\"{keyId}\" is not a hex keyid.", nameof(keyId));
        }

        return $"{stepName}.{keyId.Substring(0, 8).ToLowerInvariant()}.link";
    }

    /// <summary>
    /// Deletes the step's other link files signed with a certificate ("&lt;step&gt;.&lt;8 hex&gt;.link" whose signatures
    /// carry a "cert"), keeping <paramref name="keep"/>. An X.509-SVID's key changes with every SVID, so each build's
    /// link has a new file name; the verifier looks at every such file of a SPIFFE step, and a stale one must not be
    /// taken for this build's. Files without a certificate (key-signed links) are never touched. Returns the deleted paths.
    /// </summary>
    public static IReadOnlyList<string> DeleteOtherCertificateLinks(string directory, string stepName, string keep)
    {
        var deleted = new List<string>();
        string prefix = stepName + ".";
        string kept = Path.GetFullPath(keep);
        foreach (string file in FindIn(directory))
        {
            string name = Path.GetFileName(file);
            if (name.Length != prefix.Length + 8 + 5 || !name.StartsWith(prefix, StringComparison.Ordinal)
                || !Hex.IsHex(name.Substring(prefix.Length, 8)) || string.Equals(Path.GetFullPath(file), kept, StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                if (Metablock.Load(file).Signatures.Any(s => s.Cert is not null))
                {
                    File.Delete(file);
                    deleted.Add(file);
                }
            }
            catch (Exception e) when (e is InTotoFormatException || e is IOException || e is UnauthorizedAccessException)
            {
                // not a link SecureBuild can read: not ours to delete
            }
        }

        return deleted;
    }

    /// <summary>The "*.link" files of <paramref name="directory"/>, in ordinal order of their paths.</summary>
    public static IReadOnlyList<string> FindIn(string directory) =>
        Directory.EnumerateFiles(directory, "*.link").OrderBy(f => f, StringComparer.Ordinal).ToList();

    /// <summary>
    /// Reads a link file with the strict reader (what SecureBuild signs): the envelope, for checking its signatures,
    /// and the link. Nothing is verified here.
    /// </summary>
    /// <exception cref="InTotoFormatException">Not JSON, not a metablock or not a link (the message names the file).</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static SignedLink Read(string path)
    {
        var block = Metablock.Load(path);
        try
        {
            return new SignedLink(path, block, StrictInTotoReader.ReadLink(block.Signed));
        }
        catch (JsonFormatException e)
        {
            throw new InTotoFormatException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Signs <paramref name="link"/> with <paramref name="key"/> and writes it atomically as
    /// <c>directory/&lt;step&gt;.&lt;kid8&gt;.link</c> (creating the directory). Returns the full path.
    /// <paramref name="certificatePem"/>: the certificates of <paramref name="key"/> (an X.509-SVID chain, leaf first)
    /// for the signature's "cert".
    /// </summary>
    public static string WriteSigned(Link link, SigningKey key, string directory, string? certificatePem = null)
    {
        if (link is null)
        {
            throw new ArgumentNullException(nameof(link));
        }

        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        if (directory is null)
        {
            throw new ArgumentNullException(nameof(directory));
        }

        string path = Path.GetFullPath(Path.Combine(directory, FileName(link.Name, key.KeyId)));
        var block = new Metablock(link.ToJson());
        block.Sign(key, certificatePem);
        AtomicFile.WriteAllBytes(path, block.ToFileBytes());
        return path;
    }
}

/// <summary>A link file as read by <see cref="LinkFile.Read"/>: its path, the signed envelope and the link in it.</summary>
/// <param name="Path">The file.</param>
/// <param name="Block">The envelope (signatures and the signed JSON).</param>
/// <param name="Link">The link (the strict reader's).</param>
public sealed record SignedLink(string Path, Metablock Block, Link Link);

using System.Globalization;
using System.Text;
using SecureBuild.Core.Crypto;

namespace SecureBuild.Core.Sigstore;

/// <summary>RFC 6962 / RFC 9162 Merkle inclusion proofs.</summary>
internal static class Merkle
{
    public static byte[] LeafHash(byte[] leaf)
    {
        var data = new byte[leaf.Length + 1];
        Buffer.BlockCopy(leaf, 0, data, 1, leaf.Length);
        return SigstorePublicKey.Digest("SHA-256", data);
    }

    public static byte[] NodeHash(byte[] left, byte[] right)
    {
        var data = new byte[1 + left.Length + right.Length];
        data[0] = 1;
        Buffer.BlockCopy(left, 0, data, 1, left.Length);
        Buffer.BlockCopy(right, 0, data, 1 + left.Length, right.Length);
        return SigstorePublicKey.Digest("SHA-256", data);
    }

    /// <summary>Recomputes the root from the leaf and the proof (RFC 9162 2.1.3.2); null on success or the reason.</summary>
    public static string? VerifyInclusion(long index, long size, byte[] leafHash, IReadOnlyList<byte[]> proof, byte[] expectedRoot)
    {
        if (index < 0 || size <= 0 || index >= size)
        {
            return $"the inclusion proof's index {index} is not inside a tree of size {size}";
        }

        long fn = index;
        long sn = size - 1;
        byte[] r = leafHash;
        foreach (byte[] p in proof)
        {
            if (p.Length != 32)
            {
                return "an inclusion proof hash is not 32 bytes long";
            }

            if (sn == 0)
            {
                return $"the inclusion proof has too many hashes ({proof.Count}) for index {index} in a tree of size {size}";
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                r = NodeHash(p, r);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                r = NodeHash(r, p);
            }

            fn >>= 1;
            sn >>= 1;
        }

        if (sn != 0)
        {
            return $"the inclusion proof has too few hashes ({proof.Count}) for index {index} in a tree of size {size}";
        }

        return ByteArrays.Equal(r, expectedRoot)
            ? null
            : "the root hash recomputed from the inclusion proof does not match the log's root hash (the proof or the entry was altered)";
    }
}

/// <summary>A transparency-log checkpoint in signed-note form (C2SP tlog-checkpoint / signed-note).</summary>
internal sealed class SignedCheckpoint
{
    private const string SignaturePrefix = "\u2014 ";

    private SignedCheckpoint(string origin, long size, byte[] rootHash, byte[] signedText, List<(string Name, byte[] Hint, byte[] Signature)> signatures)
    {
        Origin = origin;
        Size = size;
        RootHash = rootHash;
        SignedText = signedText;
        Signatures = signatures;
    }

    public string Origin { get; }

    public long Size { get; }

    public byte[] RootHash { get; }

    /// <summary>The note body, up to and including its final newline: the signed bytes.</summary>
    public byte[] SignedText { get; }

    public List<(string Name, byte[] Hint, byte[] Signature)> Signatures { get; }

    public static SignedCheckpoint? TryParse(string envelope, out string error)
    {
        error = string.Empty;
        if (envelope.IndexOf('\r') >= 0)
        {
            error = "the checkpoint contains a carriage return";
            return null;
        }

        int split = envelope.IndexOf("\n\n", StringComparison.Ordinal);
        if (split < 0)
        {
            error = "the checkpoint has no blank line between the note and its signatures";
            return null;
        }

        string note = envelope.Substring(0, split + 1);
        string[] lines = note.Substring(0, note.Length - 1).Split('\n');
        if (lines.Length < 3)
        {
            error = "the checkpoint note has fewer than 3 lines (origin, tree size, root hash)";
            return null;
        }

        if (lines[0].Length == 0)
        {
            error = "the checkpoint has an empty origin line";
            return null;
        }

        if (lines[1].Length == 0 || lines[1].Length > 19 || lines[1].Any(c => c < '0' || c > '9')
            || (lines[1].Length > 1 && lines[1][0] == '0')
            || !long.TryParse(lines[1], NumberStyles.None, CultureInfo.InvariantCulture, out long size))
        {
            error = $"the checkpoint's second line \"{Clip(lines[1])}\" is not a tree size";
            return null;
        }

        if (!Attestation.Base64Codec.TryDecode(lines[2], out byte[] root, out _) || root.Length != 32 || lines[2].Length != 44)
        {
            error = $"the checkpoint's third line \"{Clip(lines[2])}\" is not a base64 SHA-256 root hash";
            return null;
        }

        string rest = envelope.Substring(split + 2);
        if (rest.Length == 0 || rest[rest.Length - 1] != '\n')
        {
            error = rest.Length == 0 ? "the checkpoint has no signature lines" : "the checkpoint's last signature line does not end with a newline";
            return null;
        }

        var signatures = new List<(string, byte[], byte[])>();
        foreach (string line in rest.Substring(0, rest.Length - 1).Split('\n'))
        {
            if (!line.StartsWith(SignaturePrefix, StringComparison.Ordinal))
            {
                error = $"the checkpoint line \"{Clip(line)}\" is not a signature line ('\u2014 name signature')";
                return null;
            }

            string[] parts = line.Substring(SignaturePrefix.Length).Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0
                || !Attestation.Base64Codec.TryDecode(parts[1], out byte[] blob, out _) || blob.Length < 5)
            {
                error = $"the checkpoint signature line \"{Clip(line)}\" is malformed";
                return null;
            }

            var hint = new byte[4];
            var sig = new byte[blob.Length - 4];
            Buffer.BlockCopy(blob, 0, hint, 0, 4);
            Buffer.BlockCopy(blob, 4, sig, 0, sig.Length);
            signatures.Add((parts[0], hint, sig));
        }

        return new SignedCheckpoint(lines[0], size, root, Encoding.UTF8.GetBytes(note), signatures);
    }

    /// <summary>True when a signature line names <paramref name="log"/> (host and key hint) and verifies with its key.</summary>
    public bool IsSignedBy(TransparencyLogInstance log)
    {
        if (log.Key is null || log.CheckpointKeyId.Length < 4)
        {
            return false;
        }

        byte[] hint = new byte[4];
        Buffer.BlockCopy(log.CheckpointKeyId, 0, hint, 0, 4);
        string host = log.HostName;
        foreach (var (name, h, sig) in Signatures)
        {
            if (string.Equals(name, host, StringComparison.Ordinal) && ByteArrays.Equal(h, hint) && log.Key.Verify(SignedText, sig))
            {
                return true;
            }
        }

        return false;
    }

    private static string Clip(string s) => s.Length > 60 ? s.Substring(0, 60) + "..." : s;
}

/// <summary>The signed entry timestamp (inclusion promise) of a Rekor v1 entry.</summary>
internal static class SignedEntryTimestamp
{
    /// <summary>The canonical JSON the log signed: body (base64), integratedTime, logID (hex), logIndex.</summary>
    public static byte[] Payload(TransparencyLogEntry entry)
    {
        string json = "{\"body\":\"" + Convert.ToBase64String(entry.CanonicalizedBody)
            + "\",\"integratedTime\":" + entry.IntegratedTime.ToString(CultureInfo.InvariantCulture)
            + ",\"logID\":\"" + Hex.Encode(entry.LogId)
            + "\",\"logIndex\":" + entry.LogIndex.ToString(CultureInfo.InvariantCulture) + "}";
        return Encoding.UTF8.GetBytes(json);
    }
}

using SecureBuild.Core.Attestation;
using SecureBuild.Core.IO;
using SecureBuild.Core.Sigstore;

namespace SecureBuild.Cli;

/// <summary>The DSSE envelopes of an attestation file: a .intoto.jsonl (one per line) or a .sigstore.json bundle.</summary>
internal static class EnvelopeFile
{
    /// <exception cref="IOException">Unreadable.</exception>
    /// <exception cref="InvalidDataException">Empty, or a bundle without an envelope.</exception>
    /// <exception cref="AttestationFormatException">A line that is not a DSSE envelope.</exception>
    /// <exception cref="SigstoreFormatException">A malformed bundle.</exception>
    public static List<DsseEnvelope> Read(string path)
    {
        if (path.EndsWith(SigstoreBundleWriter.FileSuffix, StringComparison.OrdinalIgnoreCase))
        {
            var bundle = SigstoreBundle.Load(path);
            return bundle.DsseEnvelope is { } envelope
                ? new List<DsseEnvelope> { envelope }
                : throw new InvalidDataException($"{path} is a Sigstore bundle without a DSSE envelope (a message signature cannot carry a statement).");
        }
        var lines = InputFile.ReadAllLines(path, InputKind.Bundle).Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count == 0)
        {
            throw new InvalidDataException($"{path} is empty.");
        }
        return lines.Select(DsseEnvelope.Parse).ToList();
    }
}

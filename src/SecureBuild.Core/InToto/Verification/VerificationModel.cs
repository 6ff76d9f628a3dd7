using System.Runtime.CompilerServices;
using SecureBuild.Core.Internal;
using SecureBuild.Core.Json;

namespace SecureBuild.Core.InToto.Verification;

/// <summary>Stops verification with a failure (internal control flow; never escapes <see cref="LayoutVerifier"/>).</summary>
internal sealed class VerificationAbort : Exception
{
    public VerificationAbort(VerificationFailure failure)
        : base(failure.Message)
    {
        Failure = failure;
    }

    public VerificationFailure Failure { get; }

    public static VerificationAbort Format(string message, string? file = null) =>
        new(new VerificationFailure(FailureKind.FormatError, message) { File = file });
}

/// <summary>One entry of a metablock's "signatures".</summary>
/// <param name="KeyId">The entry's "keyid".</param>
/// <param name="SigHex">The "sig" hex; null for a GPG-style signature (no "sig" member), which SecureBuild cannot check.</param>
/// <param name="Cert">The optional "cert" (PEM, leaf first) of a signature made with a certificate's key (in-toto-golang); the reference ignores it.</param>
internal sealed record SignatureEntry(string KeyId, string? SigHex, string? Cert = null);

/// <summary>A parsed link or layout file: signatures, the model and the JSON that is signed.</summary>
internal sealed class MetadataFile
{
    private byte[]? _signableBytes;
    private string? _canonicalError;

    private readonly int _sizeHint;

    public MetadataFile(string file, List<SignatureEntry> signatures, JsonMap signable, Link? link, Layout? layout, int sizeHint)
    {
        _sizeHint = sizeHint;
        File = file;
        Signatures = signatures;
        Signable = signable;
        Link = link;
        Layout = layout;
    }

    public string File { get; }

    public List<SignatureEntry> Signatures { get; }

    /// <summary>The object whose canonical JSON the signatures cover (rebuilt like attrs.asdict(model)).</summary>
    public JsonMap Signable { get; }

    public Link? Link { get; }

    public Layout? Layout { get; }

    public bool IsLayout => Layout is not null;

    public string TypeName => IsLayout ? "layout" : "link";

    private int _signableLength;

    /// <summary>
    /// Hands the canonical bytes back to <see cref="BufferPool"/> once no signature on this file will be checked again
    /// (they would be computed anew if one were).
    /// </summary>
    public void ReleaseSignableBytes()
    {
        var bytes = _signableBytes;
        _signableBytes = null;
        if (bytes is not null)
        {
            BufferPool.Return(bytes);
        }
    }

    /// <summary>Canonical bytes (<c>[0..length)</c> of the returned buffer), computed once per file.</summary>
    /// <exception cref="VerificationAbort">FormatError when the signed part has no canonical form (floats, lone surrogates).</exception>
    public byte[] SignableBytes(out int length)
    {
        if (_signableBytes is not null)
        {
            length = _signableLength;
            return _signableBytes;
        }

        if (_canonicalError is null)
        {
            try
            {
                _signableBytes = CanonicalJson.SerializePooled(Signable, _sizeHint, out _signableLength);
                length = _signableLength;
                return _signableBytes;
            }
            catch (JsonFormatException e)
            {
                _canonicalError = e.Message;
            }
        }

        throw VerificationAbort.Format(
            $"{File}: the signed metadata has no canonical JSON form, so no signature can be checked: {_canonicalError} "
            + "(in-toto-verify fails with FormatError here too).", File);
    }
}

/// <summary>
/// A few large byte buffers kept for reuse (canonical JSON of big links), so that verifying again in the same process
/// does not allocate them on the large-object heap each time (every such allocation brings a full GC closer).
/// </summary>
internal static class BufferPool
{
    private const long MaxPooledBytes = 48L << 20;
    private static readonly byte[]?[] Slots = new byte[]?[12];

    /// <summary>
    /// A buffer of exactly <paramref name="length"/> bytes (its content is undefined), for readers that take the
    /// array's length as the end of the data: a file read again in the same process gets its buffer back.
    /// </summary>
    public static byte[] RentExact(int length)
    {
        lock (Slots)
        {
            for (int i = 0; i < Slots.Length; i++)
            {
                if (Slots[i] is { } b && b.Length == length)
                {
                    Slots[i] = null;
                    return b;
                }
            }
        }

        return new byte[length];
    }

    /// <summary>A buffer of at least <paramref name="minLength"/> bytes (its content is undefined).</summary>
    public static byte[] Rent(int minLength)
    {
        lock (Slots)
        {
            int best = -1;
            for (int i = 0; i < Slots.Length; i++)
            {
                if (Slots[i] is { } b && b.Length >= minLength && (best < 0 || b.Length < Slots[best]!.Length))
                {
                    best = i;
                }
            }

            if (best >= 0)
            {
                var b = Slots[best]!;
                Slots[best] = null;
                return b;
            }
        }

        return new byte[minLength];
    }

    /// <summary>Gives a buffer back; the caller must not use it any more.</summary>
    public static void Return(byte[] buffer)
    {
        if (buffer.Length < 64 * 1024)
        {
            return;
        }

        lock (Slots)
        {
            long total = buffer.Length;
            int free = -1, smallest = -1;
            for (int i = 0; i < Slots.Length; i++)
            {
                var b = Slots[i];
                if (b is null)
                {
                    free = free < 0 ? i : free;
                    continue;
                }

                if (ReferenceEquals(b, buffer))
                {
                    return;
                }

                total += b.Length;
                if (smallest < 0 || b.Length < Slots[smallest]!.Length)
                {
                    smallest = i;
                }
            }

            if (free >= 0 && total <= MaxPooledBytes)
            {
                Slots[free] = buffer;
            }
            else if (smallest >= 0 && Slots[smallest]!.Length < buffer.Length && total - Slots[smallest]!.Length <= MaxPooledBytes)
            {
                Slots[smallest] = buffer;
            }
        }
    }
}


using System.Text;

namespace SecureBuild.Core.Spiffe;

/// <summary>One X.509-SVID as the SPIFFE Workload API hands it out (DER forms).</summary>
public sealed class WorkloadSvid
{
    public WorkloadSvid(string spiffeId, byte[] certificatesDer, byte[] keyDer, byte[] bundleDer, string hint)
    {
        SpiffeId = spiffeId;
        CertificatesDer = certificatesDer;
        KeyDer = keyDer;
        BundleDer = bundleDer;
        Hint = hint;
    }

    public string SpiffeId { get; }

    /// <summary>The chain, leaf first, as concatenated DER certificates.</summary>
    public byte[] CertificatesDer { get; }

    /// <summary>The private key, PKCS#8 DER.</summary>
    public byte[] KeyDer { get; }

    /// <summary>The CAs of the SVID's own trust domain, concatenated DER.</summary>
    public byte[] BundleDer { get; }

    public string Hint { get; }
}

/// <summary>An <c>X509SVIDResponse</c>: the workload's SVIDs (the first is the default) and federated bundles.</summary>
public sealed class X509SvidResponse
{
    public List<WorkloadSvid> Svids { get; } = new();

    public List<byte[]> Crls { get; } = new();

    /// <summary>Foreign trust domains' bundles, by their SPIFFE ID (concatenated DER).</summary>
    public Dictionary<string, byte[]> FederatedBundles { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// The wire forms of the SPIFFE Workload API's <c>FetchX509SVID</c> call: gRPC length-prefixed messages and the
/// protobuf encoding of <c>X509SVIDResponse</c> (workloadapi.proto), read strictly and within bounds so that a broken
/// or hostile agent yields an error, never a crash or an unbounded read.
/// </summary>
public static class WorkloadApiMessages
{
    /// <summary>The gRPC method path (the proto has no package).</summary>
    public const string FetchX509SvidPath = "/SpiffeWorkloadAPI/FetchX509SVID";

    /// <summary>The header every Workload API request carries.</summary>
    public const string SecurityHeader = "workload.spiffe.io";

    /// <summary>Largest message accepted (gRPC's default receive limit).</summary>
    public const int MaxMessageBytes = 4 * 1024 * 1024;

    /// <summary>An empty <c>X509SVIDRequest</c> as one gRPC message (uncompressed, length 0).</summary>
    public static byte[] EmptyRequestFrame() => new byte[5];

    /// <summary>
    /// Reads the next gRPC message from <paramref name="stream"/>: null at a clean end of stream (between messages).
    /// </summary>
    /// <exception cref="SvidException">SB5231: a truncated or oversized frame, or a compressed one (none was asked for).</exception>
    public static async Task<byte[]?> ReadFrameAsync(Stream stream, CancellationToken cancel)
    {
        var header = new byte[5];
        int got = await ReadFullyAsync(stream, header, cancel).ConfigureAwait(false);
        if (got == 0)
        {
            return null;
        }

        if (got < header.Length)
        {
            throw Fail("the Workload API closed the stream in the middle of a message header.");
        }

        if (header[0] != 0)
        {
            throw Fail($"the Workload API sent a {(header[0] == 1 ? "compressed" : "malformed")} message, which was not asked for.");
        }

        long length = ((long)header[1] << 24) | ((long)header[2] << 16) | ((long)header[3] << 8) | header[4];
        if (length > MaxMessageBytes)
        {
            throw Fail($"the Workload API sent a message of {length} bytes, more than the {MaxMessageBytes} allowed.");
        }

        var message = new byte[length];
        if (await ReadFullyAsync(stream, message, cancel).ConfigureAwait(false) < length)
        {
            throw Fail("the Workload API closed the stream in the middle of a message.");
        }

        return message;
    }

    /// <summary>Decodes an <c>X509SVIDResponse</c>; unknown fields are skipped as protobuf requires.</summary>
    /// <exception cref="SvidException">SB5231: not a valid encoding.</exception>
    public static X509SvidResponse ParseX509SvidResponse(byte[] message)
    {
        var response = new X509SvidResponse();
        var reader = new Reader(message, 0, message.Length);
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.Tag();
            switch (field, wire)
            {
                case (1, 2):
                    response.Svids.Add(ParseSvid(reader.Sub()));
                    break;
                case (2, 2):
                    response.Crls.Add(reader.Bytes());
                    break;
                case (3, 2):
                    var entry = reader.Sub();
                    string key = "";
                    byte[] value = Array.Empty<byte>();
                    while (!entry.AtEnd)
                    {
                        var (f, w) = entry.Tag();
                        if (f == 1 && w == 2)
                        {
                            key = entry.String();
                        }
                        else if (f == 2 && w == 2)
                        {
                            value = entry.Bytes();
                        }
                        else
                        {
                            entry.Skip(w);
                        }
                    }

                    response.FederatedBundles[key] = value;
                    break;
                default:
                    reader.Skip(wire);
                    break;
            }
        }

        return response;
    }

    private static WorkloadSvid ParseSvid(Reader r)
    {
        string id = "", hint = "";
        byte[] chain = Array.Empty<byte>(), key = Array.Empty<byte>(), bundle = Array.Empty<byte>();
        while (!r.AtEnd)
        {
            var (field, wire) = r.Tag();
            switch (field, wire)
            {
                case (1, 2): id = r.String(); break;
                case (2, 2): chain = r.Bytes(); break;
                case (3, 2): key = r.Bytes(); break;
                case (4, 2): bundle = r.Bytes(); break;
                case (5, 2): hint = r.String(); break;
                default: r.Skip(wire); break;
            }
        }

        return new WorkloadSvid(id, chain, key, bundle, hint);
    }

    /// <summary>An SB5231 Workload API failure.</summary>
    public static SvidException Fail(string message) =>
        new(SvidException.WorkloadApi, "workload-api", message, "Check that the SPIFFE agent runs and serves this workload (SPIFFE_ENDPOINT_SOCKET), or sign with SVID files.");

    private static async Task<int> ReadFullyAsync(Stream stream, byte[] buffer, CancellationToken cancel)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = await stream.ReadAsync(buffer, total, buffer.Length - total, cancel).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }

    /// <summary>A bounded protobuf reader over one message.</summary>
    private sealed class Reader
    {
        private readonly byte[] _b;
        private readonly int _end;
        private int _pos;

        public Reader(byte[] b, int start, int end)
        {
            _b = b;
            _pos = start;
            _end = end;
        }

        public bool AtEnd => _pos >= _end;

        public (int Field, int Wire) Tag()
        {
            ulong tag = Varint();
            int field = (int)(tag >> 3);
            if (field <= 0 || tag >> 3 > int.MaxValue)
            {
                throw Fail("the Workload API's answer is not a valid protobuf message (field number).");
            }

            return (field, (int)(tag & 7));
        }

        public Reader Sub()
        {
            int length = Length();
            var sub = new Reader(_b, _pos, _pos + length);
            _pos += length;
            return sub;
        }

        public byte[] Bytes()
        {
            int length = Length();
            var result = new byte[length];
            Buffer.BlockCopy(_b, _pos, result, 0, length);
            _pos += length;
            return result;
        }

        public string String()
        {
            try
            {
                return new UTF8Encoding(false, true).GetString(Bytes());
            }
            catch (DecoderFallbackException)
            {
                throw Fail("the Workload API's answer has a string that is not UTF-8.");
            }
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: Varint(); break;
                case 1: Advance(8); break;
                case 2: Advance(Length()); break;
                case 5: Advance(4); break;
                default: throw Fail($"the Workload API's answer is not a valid protobuf message (wire type {wire}).");
            }
        }

        private void Advance(int n)
        {
            if (n > _end - _pos)
            {
                throw Fail("the Workload API's answer is truncated.");
            }

            _pos += n;
        }

        private int Length()
        {
            ulong length = Varint();
            if (length > (ulong)(_end - _pos))
            {
                throw Fail("the Workload API's answer is truncated (a field is longer than the message).");
            }

            return (int)length;
        }

        private ulong Varint()
        {
            ulong value = 0;
            for (int shift = 0; shift < 64; shift += 7)
            {
                if (_pos >= _end)
                {
                    throw Fail("the Workload API's answer is truncated (in a varint).");
                }

                byte b = _b[_pos++];
                value |= (ulong)(b & 0x7f) << shift;
                if ((b & 0x80) == 0)
                {
                    return value;
                }
            }

            throw Fail("the Workload API's answer is not a valid protobuf message (varint too long).");
        }
    }
}

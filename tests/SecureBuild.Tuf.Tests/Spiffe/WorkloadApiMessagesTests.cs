using Google.Protobuf;
using SecureBuild.Core.Spiffe;

namespace SecureBuild.Tuf.Tests.Spiffe;

/// <summary>
/// The hand-written wire decoding of FetchX509SVID answers, checked against messages encoded by the protobuf library
/// from the copied workloadapi.proto, and against broken frames and encodings (each SB5231, never a crash).
/// </summary>
public class WorkloadApiMessagesTests
{
    private static byte[] Encoded()
    {
        var response = new X509SVIDResponse();
        response.Svids.Add(new X509SVID { SpiffeId = "spiffe://example.org/ci/build", X509Svid = ByteString.CopyFrom(1, 2, 3), X509SvidKey = ByteString.CopyFrom(4, 5), Bundle = ByteString.CopyFrom(6), Hint = "h" });
        response.Svids.Add(new X509SVID { SpiffeId = "spiffe://example.org/other" });
        response.Crl.Add(ByteString.CopyFrom(7, 7));
        response.FederatedBundles.Add("spiffe://partner.example", ByteString.CopyFrom(8, 9));
        return response.ToByteArray();
    }

    [Test]
    public void A_message_encoded_by_the_protobuf_library_decodes_field_by_field()
    {
        var answer = WorkloadApiMessages.ParseX509SvidResponse(Encoded());
        Assert.That(answer.Svids, Has.Count.EqualTo(2));
        var first = answer.Svids[0];
        Assert.That((first.SpiffeId, first.CertificatesDer, first.KeyDer, first.BundleDer, first.Hint),
            Is.EqualTo(("spiffe://example.org/ci/build", new byte[] { 1, 2, 3 }, new byte[] { 4, 5 }, new byte[] { 6 }, "h")));
        Assert.That(answer.Svids[1].SpiffeId, Is.EqualTo("spiffe://example.org/other"));
        Assert.That(answer.Crls.Single(), Is.EqualTo(new byte[] { 7, 7 }));
        Assert.That(answer.FederatedBundles["spiffe://partner.example"], Is.EqualTo(new byte[] { 8, 9 }));

        // Unknown fields of every wire type are skipped.
        byte[] extra = Encoded().Concat(new byte[] { 0x48, 0x96, 0x01, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5d, 1, 2, 3, 4, 0x62, 2, 0xaa, 0xbb }).ToArray();
        Assert.That(WorkloadApiMessages.ParseX509SvidResponse(extra).Svids, Has.Count.EqualTo(2));
    }

    [Test]
    public void Every_truncation_and_a_broken_encoding_is_SB5231_never_a_crash()
    {
        byte[] full = Encoded();
        for (int n = 1; n < full.Length; n++)
        {
            try
            {
                WorkloadApiMessages.ParseX509SvidResponse(full.Take(n).ToArray());
            }
            catch (SvidException e)
            {
                Assert.That(e.Code, Is.EqualTo(SvidException.WorkloadApi));
            }
        }

        foreach (var bad in new[] { new byte[] { 0x0f }, new byte[] { 0x0a, 0x80 }, new byte[] { 0x0a, 0x05, 1 }, Enumerable.Repeat((byte)0xff, 11).ToArray(), new byte[] { 0x00, 0x01 } })
        {
            Assert.That(Assert.Throws<SvidException>(() => WorkloadApiMessages.ParseX509SvidResponse(bad))!.Code, Is.EqualTo(SvidException.WorkloadApi), Convert.ToHexString(bad));
        }
    }

    [Test]
    public async Task Frames_are_read_whole_or_refused()
    {
        byte[] message = Encoded();
        byte[] frame = new byte[] { 0, 0, 0, 0, (byte)message.Length }.Concat(message).ToArray();
        using (var stream = new MemoryStream(frame.Concat(frame).ToArray()))
        {
            Assert.That(await WorkloadApiMessages.ReadFrameAsync(stream, CancellationToken.None), Is.EqualTo(message));
            Assert.That(await WorkloadApiMessages.ReadFrameAsync(stream, CancellationToken.None), Is.EqualTo(message));
            Assert.That(await WorkloadApiMessages.ReadFrameAsync(stream, CancellationToken.None), Is.Null, "a clean end between messages");
        }

        var broken = new Dictionary<string, byte[]>
        {
            ["header cut"] = new byte[] { 0, 0, 0 },
            ["body cut"] = frame.Take(frame.Length - 1).ToArray(),
            ["compressed"] = new byte[] { 1, 0, 0, 0, 0 },
            ["oversized"] = new byte[] { 0, 0x7f, 0xff, 0xff, 0xff },
        };
        foreach (var (name, bytes) in broken)
        {
            using var stream = new MemoryStream(bytes);
            var e = Assert.ThrowsAsync<SvidException>(() => WorkloadApiMessages.ReadFrameAsync(stream, CancellationToken.None), name)!;
            Assert.That(e.Code, Is.EqualTo(SvidException.WorkloadApi), name);
        }
    }
}

using System.Text;
using SecureBuild.Core.InToto;

namespace SecureBuild.Core.Tests;

/// <summary>
/// The verifier tests artifact names while parsing, on their UTF-8 bytes and eight bytes at a time; that test must
/// agree with the one on the decoded string (<see cref="ArtifactPath.IsUnusual(string)"/>) for every name.
/// </summary>
[TestFixture]
public class ArtifactPathTests
{
    [TestCase("", true)]
    [TestCase("/", true)]
    [TestCase("/a", true)]
    [TestCase("a/", true)]
    [TestCase("a//b", true)]
    [TestCase("a\\b", true)]
    [TestCase(".", true)]
    [TestCase("..", true)]
    [TestCase("./a", true)]
    [TestCase("../a", true)]
    [TestCase("a/./b", true)]
    [TestCase("a/../b", true)]
    [TestCase("a/.", true)]
    [TestCase("abcdefg/./x", true)]
    [TestCase("abcdefgh/./x", true)]
    [TestCase("abcdefg//x", true)]
    [TestCase("abcdefghijklmno/..", true)]
    [TestCase("abcdefghijklmnop\\", true)]
    [TestCase("a", false)]
    [TestCase(".a", false)]
    [TestCase("...", false)]
    [TestCase("a/.b", false)]
    [TestCase("a/..b", false)]
    [TestCase("a./b", false)]
    [TestCase("src/dir12/file000012.cs", false)]
    [TestCase("abcdefg/.hidden/x", false)]
    [TestCase("é/.é", false)]
    public void Bytes_and_string_agree_on_known_names(string name, bool unusual)
    {
        var bytes = Encoding.UTF8.GetBytes("xx" + name + "yy");
        Assert.That(ArtifactPath.IsUnusual(name), Is.EqualTo(unusual), "string");
        Assert.That(ArtifactPath.IsUnusual(bytes, 2, bytes.Length - 4), Is.EqualTo(unusual), "bytes");
    }

    [Test]
    public void Bytes_and_string_agree_on_random_names()
    {
        // Every position relative to the eight-byte words, separators and dots next to each other and across word
        // boundaries, multi-byte characters shifting the bytes against the characters.
        string[] parts = { "a", "b", "/", ".", "..", "\\", "é", "€", "😀", "xyz", "/." };
        var rng = new Random(2024);
        for (int n = 0; n < 200_000; n++)
        {
            var sb = new StringBuilder();
            int count = rng.Next(0, 14);
            for (int k = 0; k < count; k++)
            {
                sb.Append(parts[rng.Next(parts.Length)]);
            }

            string name = sb.ToString();
            int pad = rng.Next(0, 9);
            var bytes = new byte[pad + Encoding.UTF8.GetByteCount(name) + rng.Next(0, 9)];
            for (int k = 0; k < bytes.Length; k++)
            {
                bytes[k] = (byte)"/.\\a"[rng.Next(4)]; // what surrounds the name must not matter
            }

            int length = Encoding.UTF8.GetBytes(name, 0, name.Length, bytes, pad);
            Assert.That(ArtifactPath.IsUnusual(bytes, pad, length), Is.EqualTo(ArtifactPath.IsUnusual(name)), name);
        }
    }
}

using System.Text;

namespace SecureBuild.Testing.Fuzz;

/// <summary>
/// The one mutation engine of every fuzz test (linked into each test project from tests/Shared/Fuzz): seeded, so a
/// failure names a seed and an iteration that reproduce it exactly, and bounded by a fixed number of mutations rather
/// than by time, so CI runs the same inputs every time. Each mutation applies one to three edits: overwrite a byte
/// (random, or from the format's dictionary), flip a bit, delete a run, insert a dictionary token, duplicate a run,
/// overwrite a little-endian integer with an edge value (for binary formats), or truncate.
/// </summary>
public static class Mutator
{
    /// <summary>Tokens and characters that make JSON parsers take unusual paths.</summary>
    public static readonly MutationDictionary Json = new(
        "{}[],:\" 0123456789abcdef-.eEtrufalsn\\",
        new[] { "\"", ",", "{}", "[]", "null", "\"x\": 1,", "\\u0000", "\\ud800", "1e400", "-0", "123456789012345678901234567890", "true", "{\"a\":", "]]]]", "\xEF\xBB\xBF" });

    /// <summary>PEM armour and base64 edges.</summary>
    public static readonly MutationDictionary Pem = new(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-\n ",
        new[] { "-----BEGIN PUBLIC KEY-----\n", "-----END PUBLIC KEY-----\n", "-----BEGIN PRIVATE KEY-----\n", "-----BEGIN ENCRYPTED PRIVATE KEY-----\n", "====", "\n\n", "AAAA", "////", "MIIB", "\r\n" });

    /// <summary>Bytes and integers that make binary readers (PE, PDB, zip) take unusual paths.</summary>
    public static readonly MutationDictionary Binary = new(
        "\0\u0001\u007f\u0080\u00ff",
        new[] { "PK\u0003\u0004", "PK\u0001\u0002", "PK\u0005\u0006", "BSJB", "MZ", "PE\0\0", "#~", "#Strings", "#Blob", "#GUID" });

    private static readonly ulong[] EdgeValues = { 0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF };

    /// <summary>One mutation of <paramref name="input"/> (never the same array).</summary>
    public static byte[] Mutate(byte[] input, Random random, MutationDictionary dictionary)
    {
        var bytes = new List<byte>(input);
        int edits = random.Next(1, 4);
        for (int e = 0; e < edits; e++)
        {
            if (bytes.Count == 0)
            {
                bytes.AddRange(dictionary.Token(random));
                continue;
            }

            int at = random.Next(bytes.Count);
            switch (random.Next(9))
            {
                case 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 2:
                    bytes[at] = dictionary.Character(random);
                    break;
                case 3:
                    bytes.RemoveRange(at, Math.Min(random.Next(1, 20), bytes.Count - at));
                    break;
                case 4:
                    bytes.InsertRange(at, dictionary.Token(random));
                    break;
                case 5:
                    int length = Math.Min(random.Next(1, 40), bytes.Count - at);
                    bytes.InsertRange(random.Next(bytes.Count), bytes.GetRange(at, length));
                    break;
                case 6:
                case 7:
                    // An integer field set to an edge value: the binary formats' sizes, offsets and counts.
                    ulong value = EdgeValues[random.Next(EdgeValues.Length)];
                    int width = new[] { 1, 2, 4, 8 }[random.Next(4)];
                    for (int b = 0; b < width && at + b < bytes.Count; b++)
                    {
                        bytes[at + b] = (byte)(value >> (8 * b));
                    }

                    break;
                default:
                    if (random.Next(4) == 0)
                    {
                        bytes.RemoveRange(at, bytes.Count - at);
                    }
                    else
                    {
                        bytes[at] = dictionary.Character(random);
                    }

                    break;
            }
        }

        return bytes.ToArray();
    }

    /// <summary>A deterministic seed for a name (test case ids are strings).</summary>
    public static int StableSeed(string name)
    {
        unchecked
        {
            int h = (int)2166136261;
            foreach (char ch in name)
            {
                h = (h ^ ch) * 16777619;
            }

            return h;
        }
    }
}

/// <summary>The characters and tokens of one input format that <see cref="Mutator"/> inserts.</summary>
public sealed class MutationDictionary
{
    private readonly byte[] _characters;
    private readonly byte[][] _tokens;

    public MutationDictionary(string characters, IEnumerable<string> tokens)
    {
        _characters = Encoding.Latin1.GetBytes(characters);
        _tokens = tokens.Select(t => Encoding.Latin1.GetBytes(t)).ToArray();
    }

    public byte Character(Random random) => _characters[random.Next(_characters.Length)];

    public byte[] Token(Random random) => _tokens[random.Next(_tokens.Length)];
}

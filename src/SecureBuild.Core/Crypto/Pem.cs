using System.Text;

namespace SecureBuild.Core.Crypto;

/// <summary>
/// PEM armor (RFC 7468 / RFC 1421 headers). Only the text framing lives here; the DER inside is parsed by
/// BouncyCastle.
/// </summary>
internal static class Pem
{
    internal sealed class Block
    {
        public Block(string label, IReadOnlyList<KeyValuePair<string, string>> headers, byte[] der)
        {
            Label = label;
            Headers = headers;
            Der = der;
        }

        public string Label { get; }

        public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

        public byte[] Der { get; }

        public bool IsEncrypted =>
            Label.IndexOf("ENCRYPTED", StringComparison.Ordinal) >= 0
            || Headers.Any(h => string.Equals(h.Key, "Proc-Type", StringComparison.OrdinalIgnoreCase)
                                && h.Value.IndexOf("ENCRYPTED", StringComparison.OrdinalIgnoreCase) >= 0)
            || Headers.Any(h => string.Equals(h.Key, "DEK-Info", StringComparison.OrdinalIgnoreCase));
    }

    public static bool ContainsPem(string text) => text.IndexOf("-----BEGIN ", StringComparison.Ordinal) >= 0;

    /// <summary>
    /// Reads every PEM block. Text outside the armor is ignored. <paramref name="fail"/> builds the exception for
    /// a malformed block (missing END line, bad base64, ...).
    /// </summary>
    public static List<Block> ReadAll(string text, Func<string, Exception> fail)
    {
        var blocks = new List<Block>();
        string[] lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n');
        int i = 0;
        while (i < lines.Length)
        {
            string line = lines[i].Trim();
            if (!line.StartsWith("-----BEGIN ", StringComparison.Ordinal))
            {
                i++;
                continue;
            }

            if (!line.EndsWith("-----", StringComparison.Ordinal) || line.Length < "-----BEGIN -----".Length + 1)
            {
                throw fail($"the PEM line {Quote(line)} is not a valid BEGIN line");
            }

            string label = line.Substring(11, line.Length - 16);
            string endLine = "-----END " + label + "-----";
            i++;

            var headers = new List<KeyValuePair<string, string>>();
            var body = new StringBuilder();
            bool inHeaders = true;
            bool ended = false;
            for (; i < lines.Length; i++)
            {
                string l = lines[i].Trim();
                if (l == endLine)
                {
                    ended = true;
                    i++;
                    break;
                }

                if (l.StartsWith("-----", StringComparison.Ordinal))
                {
                    throw fail($"the PEM block '{label}' ends with {Quote(l)} instead of '{endLine}'");
                }

                if (inHeaders)
                {
                    int colon = l.IndexOf(':');
                    if (colon > 0)
                    {
                        headers.Add(new KeyValuePair<string, string>(l.Substring(0, colon).Trim(), l.Substring(colon + 1).Trim()));
                        continue;
                    }

                    if (l.Length == 0 && headers.Count > 0)
                    {
                        inHeaders = false;
                        continue;
                    }

                    inHeaders = false;
                }

                body.Append(l);
            }

            if (!ended)
            {
                throw fail($"the PEM block '{label}' has no '{endLine}' line (the file is truncated?)");
            }

            string b64 = body.ToString();
            foreach (char c in b64)
            {
                bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
                if (!ok)
                {
                    throw fail($"the PEM block '{label}' contains a character that is not valid base64");
                }
            }

            byte[] der;
            try
            {
                der = Convert.FromBase64String(b64);
            }
            catch (FormatException)
            {
                throw fail($"the base64 body of the PEM block '{label}' is invalid (wrong length or misplaced '=' padding)");
            }

            if (der.Length == 0 && !IsEncryptedHeaderOnly(headers))
            {
                throw fail($"the PEM block '{label}' is empty");
            }

            blocks.Add(new Block(label, headers, der));
        }

        return blocks;
    }

    /// <summary>PEM text with 64-character base64 lines and LF line endings.</summary>
    public static string Encode(string label, byte[] der, bool trailingNewline)
    {
        string b64 = Convert.ToBase64String(der);
        var sb = new StringBuilder();
        sb.Append("-----BEGIN ").Append(label).Append("-----\n");
        for (int i = 0; i < b64.Length; i += 64)
        {
            sb.Append(b64, i, Math.Min(64, b64.Length - i)).Append('\n');
        }

        sb.Append("-----END ").Append(label).Append("-----");
        if (trailingNewline)
        {
            sb.Append('\n');
        }

        return sb.ToString();
    }

    private static bool IsEncryptedHeaderOnly(List<KeyValuePair<string, string>> headers) => headers.Count > 0;

    private static string Quote(string line) => "'" + (line.Length > 60 ? line.Substring(0, 60) + "..." : line) + "'";
}

using System.Globalization;
using System.Text;

namespace SecureBuild.Core.Reproducibility;

/// <summary>The fallback: where the bytes differ, and whether the readable text around the first difference says why.</summary>
internal static class BinaryComparer
{
    public static void Compare(ArtifactDiffer differ, string name, byte[] left, byte[] right)
    {
        int first = 0;
        int n = Math.Min(left.Length, right.Length);
        while (first < n && left[first] == right[first])
        {
            first++;
        }

        int differing = 0;
        for (int i = first; i < n; i++)
        {
            if (left[i] != right[i])
            {
                differing++;
            }
        }

        differing += Math.Abs(left.Length - right.Length);
        var lc = Printable(left, first);
        var rc = Printable(right, first);
        var cause = differ.Classifier.Classify(lc, rc, Causes.Unknown);
        var aspect = string.Format(CultureInfo.InvariantCulture, "bytes from offset 0x{0:x} ({1} of {2}/{3} bytes differ)", first, differing, left.Length, right.Length);
        differ.Add(new Difference(name, aspect, lc, rc, cause));
    }

    /// <summary>Up to 48 bytes before and 80 after <paramref name="offset"/>, non-printable bytes as '.'.</summary>
    private static string Printable(byte[] bytes, int offset)
    {
        int start = Math.Max(0, offset - 48);
        int end = Math.Min(bytes.Length, offset + 80);
        var sb = new StringBuilder();
        for (int i = start; i < end; i++)
        {
            byte b = bytes[i];
            sb.Append(b >= 0x20 && b < 0x7F ? (char)b : '.');
        }

        return sb.ToString();
    }
}

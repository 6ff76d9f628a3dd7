using System.Text;

namespace SecureBuild.Core.Recording;

/// <summary>
/// Some files MSBuild and NuGet generate embed the absolute directories of the machine that built
/// them (project.assets.json, *.nuget.g.props/.targets, the GeneratedMSBuildEditorConfig, the Source
/// Link map). Their bytes differ between two clones of one commit even when every real input and
/// output is identical. For those files only, a link records the digest of the content with each
/// known root directory replaced by its artifact prefix ("/home/ci/repo/" becomes "@root/"), under the
/// algorithm name "&lt;algorithm&gt;-pathmapped" (e.g. "sha256-pathmapped"), so a reader never mistakes it
/// for a plain file digest.
/// </summary>
public sealed class PathMapping
{
    /// <summary>Suffix of the algorithm names of path-mapped digests.</summary>
    public const string AlgorithmSuffix = "-pathmapped";

    private static readonly string[] MachineLocalSuffixes =
    {
        "/project.assets.json",
        ".nuget.g.props",
        ".nuget.g.targets",
        ".nuget.dgspec.json",
        ".GeneratedMSBuildEditorConfig.editorconfig",
        ".sourcelink.json",
    };

    private readonly List<(byte[] From, byte[] To)> _replacements = new();

    /// <param name="roots">Absolute directory and the token that replaces it (e.g. "@root", "@nuget").</param>
    public PathMapping(IEnumerable<KeyValuePair<string, string>> roots)
    {
        var pairs = new List<(string From, string To)>();
        foreach (var root in roots)
        {
            if (string.IsNullOrWhiteSpace(root.Key))
            {
                continue;
            }
            var full = Path.GetFullPath(root.Key).TrimEnd('/', '\\');
            if (full.Length < 2 || full.EndsWith(":", StringComparison.Ordinal))
            {
                continue; // never map a file system root: it would rewrite every path
            }
            var token = root.Value.TrimEnd('/');
            var forward = full.Replace('\\', '/');
            var backward = full.Replace('/', '\\');
            pairs.Add((forward + "/", token + "/"));
            pairs.Add((backward + "\\", token + "/"));
            pairs.Add((backward.Replace("\\", "\\\\") + "\\\\", token + "/")); // as written inside JSON strings
        }
        foreach (var (from, to) in pairs.Distinct().OrderByDescending(p => p.From.Length))
        {
            _replacements.Add((Encoding.UTF8.GetBytes(from), Encoding.UTF8.GetBytes(to)));
        }
        Fingerprint = string.Join("|", pairs.Distinct().OrderBy(p => p.From, StringComparer.Ordinal).Select(p => p.From + ">" + p.To));
    }

    /// <summary>Identifies the mapping, so cached digests made under another mapping are not reused.</summary>
    public string Fingerprint { get; }

    /// <summary>
    /// True for the generated files whose digest is path-mapped: those above, and the nuspec that pack generates under
    /// obj/ (it names every packed file by its absolute path); a nuspec in the sources is hashed as it is.
    /// </summary>
    public static bool IsMachineLocal(string fullPath)
    {
        var normalized = fullPath.Replace('\\', '/');
        return MachineLocalSuffixes.Any(s => normalized.EndsWith(s, StringComparison.OrdinalIgnoreCase)) ||
            (normalized.EndsWith(".nuspec", StringComparison.OrdinalIgnoreCase) && normalized.IndexOf("/obj/", StringComparison.OrdinalIgnoreCase) >= 0);
    }

    /// <summary>The content with every root replaced by its token (longest root first).</summary>
    public byte[] Map(byte[] content)
    {
        var output = new MemoryStream(content.Length);
        Map(new MemoryStream(content, writable: false), output.Write);
        return output.ToArray();
    }

    /// <summary>
    /// <see cref="Map(byte[])"/> as a stream: reads <paramref name="input"/> to its end and hands the mapped bytes to
    /// <paramref name="output"/> in blocks, holding no more than a 64 KiB window (so a file of any size is mapped and
    /// hashed without being loaded).
    /// </summary>
    public void Map(Stream input, Action<byte[], int, int> output)
    {
        int longest = _replacements.Count == 0 ? 1 : _replacements.Max(r => r.From.Length);
        var window = new byte[Math.Max(1 << 16, 2 * longest)];
        var staged = new byte[1 << 16];
        int stagedCount = 0;
        int start = 0, end = 0;
        bool eof = false;
        void Emit(byte[] bytes, int offset, int count)
        {
            if (stagedCount + count > staged.Length)
            {
                output(staged, 0, stagedCount);
                stagedCount = 0;
            }
            if (count > staged.Length)
            {
                output(bytes, offset, count);
                return;
            }
            Buffer.BlockCopy(bytes, offset, staged, stagedCount, count);
            stagedCount += count;
        }

        while (true)
        {
            if (!eof && end - start < longest)
            {
                Buffer.BlockCopy(window, start, window, 0, end - start);
                end -= start;
                start = 0;
                int n;
                while (end < window.Length && (n = input.Read(window, end, window.Length - end)) > 0)
                {
                    end += n;
                }
                eof = end < window.Length;
            }
            if (start >= end)
            {
                break;
            }
            var matched = false;
            foreach (var (from, to) in _replacements)
            {
                if (StartsWith(window, start, end, from))
                {
                    Emit(to, 0, to.Length);
                    start += from.Length;
                    matched = true;
                    break;
                }
            }
            if (!matched)
            {
                if (stagedCount == staged.Length)
                {
                    output(staged, 0, stagedCount);
                    stagedCount = 0;
                }
                staged[stagedCount++] = window[start++];
            }
        }
        if (stagedCount > 0)
        {
            output(staged, 0, stagedCount);
        }
    }

    private static bool StartsWith(byte[] window, int offset, int end, byte[] prefix)
    {
        if (end - offset < prefix.Length)
        {
            return false;
        }
        for (var j = 0; j < prefix.Length; j++)
        {
            if (window[offset + j] != prefix[j])
            {
                return false;
            }
        }
        return true;
    }
}

using System.IO.Compression;

namespace SecureBuild.Reproducibility.Tests.Infrastructure;

/// <summary>Builds zip files entry by entry, with chosen timestamps.</summary>
public static class Zips
{
    public static byte[] Create(IEnumerable<(string Name, byte[] Content, DateTimeOffset Time)> entries)
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content, time) in entries)
            {
                var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
                entry.LastWriteTime = time;
                using var stream = entry.Open();
                stream.Write(content);
            }
        }

        return buffer.ToArray();
    }

    public static readonly DateTimeOffset Epoch1 = new(2024, 1, 2, 3, 4, 6, TimeSpan.Zero);
    public static readonly DateTimeOffset Epoch2 = new(2025, 6, 7, 8, 9, 10, TimeSpan.Zero);

    public static byte[] Text(string text) => System.Text.Encoding.UTF8.GetBytes(text);
}

namespace UnorderedGlob;

public static class Parts
{
    public static string List()
    {
        using var stream = typeof(Parts).Assembly.GetManifestResourceStream("UnorderedGlob.parts.txt")!;
        using var reader = new System.IO.StreamReader(stream);
        return reader.ReadToEnd();
    }
}

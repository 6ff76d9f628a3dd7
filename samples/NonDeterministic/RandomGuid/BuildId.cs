namespace RandomGuid;

public static class BuildId
{
    public static string Read()
    {
        using var stream = typeof(BuildId).Assembly.GetManifestResourceStream("RandomGuid.build-id.txt")!;
        using var reader = new System.IO.StreamReader(stream);
        return reader.ReadToEnd();
    }
}

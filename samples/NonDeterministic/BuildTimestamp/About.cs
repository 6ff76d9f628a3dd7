namespace BuildTimestamp;

public static class About
{
    public static string Text() => "built at " + BuildInfo.BuiltAt;
}

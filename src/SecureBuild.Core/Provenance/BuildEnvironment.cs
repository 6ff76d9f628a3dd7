namespace SecureBuild.Core.Provenance;

/// <summary>
/// The process environment a build runs in. What of it provenance may carry is decided by
/// <see cref="ParameterAllowList.ForEnvironment"/>.
/// </summary>
public static class BuildEnvironment
{
    /// <summary>The current process environment as pairs.</summary>
    public static IEnumerable<KeyValuePair<string, string>> Current()
    {
        foreach (System.Collections.DictionaryEntry entry in System.Environment.GetEnvironmentVariables())
        {
            yield return new KeyValuePair<string, string>((string)entry.Key, (string?)entry.Value ?? "");
        }
    }
}

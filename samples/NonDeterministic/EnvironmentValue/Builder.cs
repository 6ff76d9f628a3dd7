using System.Linq;
using System.Reflection;

namespace EnvironmentValue;

public static class Builder
{
    public static string? Name() =>
        typeof(Builder).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "BuiltBy")?.Value;
}

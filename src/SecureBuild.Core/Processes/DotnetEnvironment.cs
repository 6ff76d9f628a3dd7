using System.Collections.Generic;

namespace SecureBuild.Core.Processes;

/// <summary>
/// The variables that make a `dotnet` child quiet and self-contained, for every build the product starts on its own
/// (rebuilds, hermetic steps): no MSBuild node or server left running, no telemetry, logo, first-run experience or
/// developer certificate.
/// </summary>
public static class DotnetEnvironment
{
    public static void MakeQuiet(IDictionary<string, string> environment)
    {
        environment["MSBUILDDISABLENODEREUSE"] = "1";
        environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        environment["DOTNET_NOLOGO"] = "1";
        environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        environment["DOTNET_GENERATE_ASPNET_CERTIFICATE"] = "false";
    }
}

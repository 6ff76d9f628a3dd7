using System.Collections.Generic;

namespace SecureBuild.Core.Processes;

/// <summary>
/// The variables that make a `dotnet` child quiet and self-contained, for every build the product starts on its own
/// (rebuilds, hermetic steps, traced builds): no MSBuild node or server left running, no telemetry, logo, first-run
/// experience, developer certificate or workload update check. The last one matters for traces: in a HOME whose
/// sentinel is missing or a day old, `dotnet build` looks for workload updates on nuget.org from a background thread
/// of the CLI (which is also MSBuild's in-proc node), so name lookups and HTTPS connections appear at a random moment
/// of the build, inside whatever task runs then.
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
        environment["DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE"] = "true"; // the SDK parses it as a bool: "true", not "1"
    }
}

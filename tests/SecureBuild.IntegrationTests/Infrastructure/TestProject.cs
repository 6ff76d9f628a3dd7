using System.Text;

namespace SecureBuild.IntegrationTests.Infrastructure;

/// <summary>
/// A throw-away directory holding a user's project: global.json pinning the SDK and SecureBuild.Sdk,
/// a nuget.config that takes SecureBuild.* from the test feed and everything else from nuget.org.
/// </summary>
public sealed class TestProject
{
    public TestProject(string name)
    {
        Directory = System.IO.Path.Combine(SdkFeed.WorkRoot, $"{name}-{Guid.NewGuid():N}".Substring(0, Math.Min(name.Length + 9, 60)));
        System.IO.Directory.CreateDirectory(Directory);
        SdkFeed.Package.WriteConsumerConfiguration(Directory);
    }

    public string Directory { get; }

    public string Path(string relative) => System.IO.Path.Combine(Directory, relative);

    public TestProject Write(string relative, string content)
    {
        var path = Path(relative);
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content, new UTF8Encoding(false));
        return this;
    }

    /// <summary>A console app using SecureBuild.Sdk as its project SDK.</summary>
    public TestProject WithConsoleApp(string relativeDirectory = "App", string extraProperties = "", string extraItems = "")
    {
        var name = System.IO.Path.GetFileName(relativeDirectory.TrimEnd('/'));
        Write($"{relativeDirectory}/{name}.csproj", $$"""
            <Project Sdk="SecureBuild.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                {{extraProperties}}
              </PropertyGroup>
              <ItemGroup>
                {{extraItems}}
              </ItemGroup>
            </Project>
            """);
        Write($"{relativeDirectory}/Program.cs", "System.Console.WriteLine(\"hello\");\n");
        return this;
    }

    public ProcessResult DotNet(IDictionary<string, string?>? environment, params string[] arguments) =>
        Run.DotNet(Directory, environment, arguments);

    public ProcessResult DotNet(params string[] arguments) => Run.DotNet(Directory, null, arguments);
}

using SecureBuild.Core.Json;
using SecureBuild.Core.Locking;
using SecureBuild.IntegrationTests.Infrastructure;

namespace SecureBuild.IntegrationTests;

/// <summary>
/// securebuild.lock.json end to end: `securebuild lock` writes it, real `dotnet build`s verify it, and
/// each kind of drift or tampering is caught with its code and a message naming what changed. Every
/// test restores into its own NUGET_PACKAGES folder, so tampering never touches the machine's cache.
/// </summary>
[Parallelizable(ParallelScope.All)]
public sealed class LockTests
{
    private const string Newtonsoft = """<PackageReference Include="Newtonsoft.Json" Version="13.0.3" />""";

    private sealed class Repo
    {
        public Repo(string name, string extraItems = Newtonsoft)
        {
            Project = new TestProject("lock-" + name).WithConsoleApp("App", extraItems: extraItems);
            Packages = Project.Path(".packages");
            // Its own per-user cache too: the verified-folders store (see the user-store test) stays with the test.
            Environment = new Dictionary<string, string?> { ["NUGET_PACKAGES"] = Packages, ["XDG_CACHE_HOME"] = Project.Path(".user-cache"), ["SecureBuildSigningKey"] = null, ["ContinuousIntegrationBuild"] = null, ["CI"] = null };
        }

        public TestProject Project { get; }
        public string Packages { get; }
        public Dictionary<string, string?> Environment { get; }
        public string LockPath => Project.Path("securebuild.lock.json");

        public ProcessResult Lock(params string[] arguments) =>
            SdkFeed.Securebuild(Project.Directory, Environment, new[] { "lock" }.Concat(arguments).ToArray());

        public ProcessResult Build(params string[] arguments) =>
            Project.DotNet(Environment, new[] { "build", "App/App.csproj", "-nologo" }.Concat(arguments).ToArray());

        /// <summary>A build with extra environment variables (e.g. a CI system's).</summary>
        public ProcessResult BuildWith(IDictionary<string, string?> extra, params string[] arguments)
        {
            var environment = new Dictionary<string, string?>(Environment);
            foreach (var (name, value) in extra)
            {
                environment[name] = value; // CI=true replaces the CI=null the builds run with
            }
            return Project.DotNet(environment, new[] { "build", "App/App.csproj", "-nologo" }.Concat(arguments).ToArray());
        }

        public ProcessResult Strict(params string[] arguments) => Build(arguments.Concat(new[] { "-p:SecureBuildLockMode=strict" }).ToArray());

        public Repo Locked()
        {
            var result = Lock();
            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(File.Exists(LockPath), Is.True, result.ToString());
            return this;
        }
    }

    private static string Sha256Text(string text) =>
        Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text))).ToLowerInvariant();

    private static void AssertFails(ProcessResult result, string code, params string[] fragments)
    {
        Assert.That(result.ExitCode, Is.Not.EqualTo(0), "the build should fail:\n" + result);
        Assert.That(result.Output, Does.Contain($"error {code}:"), result.ToString());
        var lines = result.Output.Split('\n').Where(l => l.Contains($"error {code}:", StringComparison.Ordinal)).ToList();
        Assert.That(lines.Any(line => fragments.All(f => line.Contains(f, StringComparison.Ordinal))), Is.True,
            $"no error {code} names all of: {string.Join(" | ", fragments)}\n{result}");
    }

    [Test]
    public void An_untouched_repository_builds_clean_in_strict_mode_and_the_lock_is_stable()
    {
        var repo = new Repo("clean").Locked();
        var first = File.ReadAllBytes(repo.LockPath);
        var text = File.ReadAllText(repo.LockPath);
        Assert.That(text, Does.Not.Contain(repo.Project.Directory), "no absolute paths");
        Assert.That(text, Does.Not.Contain("\r"), "LF only");
        Assert.That(text, Does.Contain("\"newtonsoft.json/13.0.3\""));
        Assert.That(text, Does.Contain("\"microsoft.netcore.app.ref\""), "targeting packs are locked");
        Assert.That(text, Does.Contain("NuGet.org Repository by Microsoft"), "the repository signer is recorded");
        Assert.That(File.Exists(repo.Project.Path("App/packages.lock.json")), Is.False, "the SDK adds no packages.lock.json to the sources");

        var strict = repo.Strict();
        Assert.That(strict.ExitCode, Is.EqualTo(0), strict.ToString());
        Assert.That(strict.Output, Does.Not.Match("(error|warning) SB(14|24)"), strict.ToString());
        var statement = Directory.GetFiles(repo.Project.Path("App/bin/Debug/attestations"), "dependencies.*.intoto.jsonl").Single();
        var envelope = (JsonMap)JsonParser.Parse(File.ReadAllText(statement));
        var payload = (JsonMap)JsonParser.Parse(Convert.FromBase64String(((JsonString)envelope["payload"]).Value));
        var predicate = (JsonMap)payload["predicate"];
        Assert.That(((JsonString)((JsonMap)predicate["verdicts"])["lock"]).Value, Is.EqualTo("match"));
        Assert.That(((JsonString)((JsonMap)predicate["verdicts"])["packageCache"]).Value, Is.EqualTo("verified"));
        Assert.That(((JsonString)((JsonMap)((JsonList)payload["subject"])[0])["name"]).Value, Is.EqualTo("securebuild.lock.json"));

        var again = repo.Lock("--update");
        Assert.That(again.ExitCode, Is.EqualTo(0), again.ToString());
        Assert.That(File.ReadAllBytes(repo.LockPath), Is.EqualTo(first), "generated twice: byte-identical");
        var rid = repo.Lock("--update", "-p", "RuntimeIdentifier=linux-x64");
        Assert.That(rid.ExitCode, Is.EqualTo(0), rid.ToString());
        Assert.That(File.ReadAllBytes(repo.LockPath), Is.EqualTo(first), "generated for a runtime identifier: byte-identical");
        var check = repo.Lock();
        Assert.That(check.ExitCode, Is.EqualTo(0), check.ToString());
        Assert.That(check.Output, Does.Contain("up to date"));
    }

    [Test]
    public void A_tampered_dll_in_the_package_cache_is_caught_and_named()
    {
        var repo = new Repo("tamper").Locked();
        var dll = Path.Combine(repo.Packages, "newtonsoft.json", "13.0.3", "lib", "net6.0", "Newtonsoft.Json.dll");
        var nupkg = Path.Combine(repo.Packages, "newtonsoft.json", "13.0.3", "newtonsoft.json.13.0.3.nupkg");
        File.AppendAllText(dll, "tampered");
        AssertFails(repo.Build(), "SB1430", "lib/net6.0/Newtonsoft.Json.dll", "differs from the package");

        // Tampering with the .nupkg too (NuGet's locked mode would not notice): the content hash gives it away.
        File.AppendAllText(nupkg, "tampered");
        AssertFails(repo.Build(), "SB1430", "content hash", "securebuild.lock.json says");
    }

    [Test]
    public void A_multi_targeted_no_op_build_confirms_each_package_once_and_a_tampered_one_is_caught_by_every_framework_and_every_build()
    {
        // No lock (serilog's case): the cache is verified all the same. One node, so both frameworks share what the build confirmed.
        var repo = new Repo("multi-tfm");
        repo.Project.WithConsoleApp("App", extraProperties: "<TargetFramework></TargetFramework><TargetFrameworks>net8.0;net10.0</TargetFrameworks>", extraItems: Newtonsoft);
        var first = repo.Build("-m:1");
        Assert.That(first.ExitCode, Is.EqualTo(0), first.ToString());
        var noOp = repo.Build("-m:1", "-v:n");
        Assert.That(noOp.ExitCode, Is.EqualTo(0), noOp.ToString());
        Assert.That(noOp.Output, Does.Match(@"packages verified in the cache in \d+ ms \(0 in full[^)]*, [1-9]\d* confirmed earlier in this build\)"),
            "the second framework takes the first one's answer:\n" + noOp);

        var dll = Path.Combine(repo.Packages, "newtonsoft.json", "13.0.3", "lib", "net6.0", "Newtonsoft.Json.dll");
        File.AppendAllText(dll, "tampered");
        var tampered = repo.Build("-m:1");
        AssertFails(tampered, "SB1430", "lib/net6.0/Newtonsoft.Json.dll", "differs from the package");
        foreach (var framework in new[] { "net8.0", "net10.0" })
        {
            Assert.That(tampered.Output.Split('\n').Any(l => l.Contains("error SB1430:", StringComparison.Ordinal) && l.Contains("TargetFramework=" + framework, StringComparison.Ordinal)),
                Is.True, $"{framework} must report the tampered package too (a failure is never confirmed):\n{tampered}");
        }
        // The next build looks at the disk again: still caught.
        AssertFails(repo.Build("-m:1"), "SB1430", "lib/net6.0/Newtonsoft.Json.dll");
    }

    [Test]
    public void A_clean_build_confirms_packages_from_the_user_store_without_rehashing_them_and_a_package_tampered_after_is_still_caught()
    {
        var repo = new Repo("user-store");
        void Clean()
        {
            // What `git clean -xdf` leaves: no obj/, no bin/; the NuGet cache and the user's cache stay.
            foreach (var folder in new[] { "App/obj", "App/bin" }.Select(repo.Project.Path).Where(Directory.Exists))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        Assert.That(repo.Build("-m:1").ExitCode, Is.EqualTo(0));
        // A second build keeps what the first could not (folders extracted within two seconds of their verification).
        var noOp = repo.Build("-m:1");
        Assert.That(noOp.ExitCode, Is.EqualTo(0), noOp.ToString());
        Assert.That(Directory.GetFiles(repo.Project.Path(".user-cache/securebuild/verified-folders"), "*.entry"), Is.Not.Empty);

        Clean();
        var clean = repo.Build("-m:1", "-v:n");
        Assert.That(clean.ExitCode, Is.EqualTo(0), clean.ToString());
        Assert.That(clean.Output, Does.Match(@"packages verified in the cache in \d+ ms \(0 in full, [^)]*[1-9]\d* of all known from the user's verified-folders store"),
            "a clean build confirms what the last build verified by lstat:\n" + clean);

        Clean();
        var dll = Path.Combine(repo.Packages, "newtonsoft.json", "13.0.3", "lib", "net6.0", "Newtonsoft.Json.dll");
        var written = File.GetLastWriteTimeUtc(dll);
        var bytes = File.ReadAllBytes(dll);
        bytes[bytes.Length / 2] ^= 1;
        File.WriteAllBytes(dll, bytes);
        File.SetLastWriteTimeUtc(dll, written); // same size, same write time: only the ctime changed
        AssertFails(repo.Build("-m:1"), "SB1430", "lib/net6.0/Newtonsoft.Json.dll", "differs from the package");
        Clean();
        AssertFails(repo.Build("-m:1"), "SB1430", "lib/net6.0/Newtonsoft.Json.dll");
    }

    [Test]
    public void A_package_version_bumped_in_the_project_is_drift_with_the_fix()
    {
        var repo = new Repo("bump").Locked();
        var before = File.ReadAllBytes(repo.LockPath);
        repo.Project.WithConsoleApp("App", extraItems: """<PackageReference Include="Newtonsoft.Json" Version="13.0.1" />""");
        AssertFails(repo.Strict(), "SB1420", "App/App.csproj (net10.0)", "newtonsoft.json changed from 13.0.3 to 13.0.1", "securebuild lock --update");
        var local = repo.Build();
        Assert.That(local.ExitCode, Is.EqualTo(0), "locally drift is a warning:\n" + local);
        Assert.That(local.Output, Does.Contain("warning SB2420"));
        Assert.That(local.Output, Does.Contain("warning SB2421"), "the resolved package differs too");
        var release = repo.Build("-c", "Release");
        Assert.That(release.ExitCode, Is.EqualTo(0), "a local Release build (ContinuousIntegrationBuild defaulted for path mapping) warns too:\n" + release);
        Assert.That(release.Output, Does.Contain("warning SB2420"));
        AssertFails(repo.BuildWith(new Dictionary<string, string?> { ["GITHUB_ACTIONS"] = "true" }), "SB1420");
        Assert.That(File.ReadAllBytes(repo.LockPath), Is.EqualTo(before), "builds never modify the lock");

        var check = repo.Lock();
        Assert.That(check.ExitCode, Is.EqualTo(1), check.ToString());
        Assert.That(check.Output, Does.Contain("newtonsoft.json: \"13.0.3\" -> \"13.0.1\""));
        Assert.That(File.ReadAllBytes(repo.LockPath), Is.EqualTo(before), "`securebuild lock` without --update never modifies the lock");
        Assert.That(repo.Lock("--update").ExitCode, Is.EqualTo(0));
        Assert.That(repo.Strict().ExitCode, Is.EqualTo(0), "accepted deliberately");
    }

    [Test]
    public void A_project_that_sets_ContinuousIntegrationBuild_itself_warns_locally_and_a_lock_hidden_by_gitignore_is_named()
    {
        // CsvHelper sets ContinuousIntegrationBuild in its project (here: for Debug only); Polly's .gitignore has *.lock.json.
        var repo = new Repo("ci-prop");
        repo.Project.WithConsoleApp("App", extraProperties: """<ContinuousIntegrationBuild Condition="'$(Configuration)' == 'Debug'">true</ContinuousIntegrationBuild>""", extraItems: Newtonsoft);
        repo.Project.Write(".gitignore", "bin/\nobj/\n*.lock.json\n");
        var init = Run.Process("git", new[] { "init", "--quiet" }, repo.Project.Directory);
        Assert.That(init.ExitCode, Is.EqualTo(0), init.ToString());

        // A value with ';' is passed on as MSBuild needs it (it failed with MSB1006).
        var locked = repo.Lock("-p", "DefineConstants=FOO;BAR");
        Assert.That(locked.ExitCode, Is.EqualTo(0), locked.ToString());
        Assert.That(locked.Output, Does.Contain("warning SB3470").And.Contain(".gitignore:3:*.lock.json"), locked.ToString());
        Assert.That(File.Exists(repo.Project.Path("App/packages.lock.json")), Is.False, "no NuGet lock file appears in the sources");
        var status = Run.Process("git", new[] { "status", "--porcelain", "--untracked-files=all" }, repo.Project.Directory);
        Assert.That(status.Output, Does.Not.Contain("packages.lock.json"), status.ToString());

        repo.Project.WithConsoleApp("App", extraProperties: """<ContinuousIntegrationBuild Condition="'$(Configuration)' == 'Debug'">true</ContinuousIntegrationBuild>""",
            extraItems: """<PackageReference Include="Newtonsoft.Json" Version="13.0.1" />""");
        foreach (var configuration in new[] { "Debug", "Release" })
        {
            var local = repo.Build("-c", configuration);
            Assert.That(local.ExitCode, Is.EqualTo(0), $"a local {configuration} build warns, whatever ContinuousIntegrationBuild is:\n{local}");
            Assert.That(local.Output, Does.Contain("warning SB2420"));
        }
        AssertFails(repo.BuildWith(new Dictionary<string, string?> { ["CI"] = "true" }), "SB1420");

        File.WriteAllText(repo.Project.Path(".gitignore"), "bin/\nobj/\n*.lock.json\n!securebuild.lock.json\n");
        var unignored = repo.Lock("--update");
        Assert.That(unignored.ExitCode, Is.EqualTo(0), unignored.ToString());
        Assert.That(unignored.Output, Does.Not.Contain("SB3470"), "the fix the warning names silences it");
    }

    [Test]
    public void The_sdk_in_global_json_and_the_tool_manifest_are_locked()
    {
        var repo = new Repo("sdk-tools");
        repo.Project.Write(".config/dotnet-tools.json", """
            { "version": 1, "isRoot": true, "tools": { "dotnet-example": { "version": "1.0.0", "commands": [ "example" ] } } }
            """);
        repo.Locked();
        Assert.That(File.ReadAllText(repo.LockPath), Does.Contain("\"dotnet-example\""));

        var globalJson = File.ReadAllText(repo.Project.Path("global.json"));
        repo.Project.Write("global.json", globalJson.Replace("\"latestPatch\"", "\"latestFeature\""));
        AssertFails(repo.Strict(), "SB1411", "global.json sdk.rollForward changed from latestPatch to latestFeature");
        var sdkVersion = System.Text.RegularExpressions.Regex.Match(globalJson, "\"version\": \"([^\"]+)\"").Groups[1].Value;
        // Same feature band, lowest patch: latestPatch still picks the installed SDK, but global.json changed.
        var patch = int.Parse(sdkVersion.Substring(sdkVersion.LastIndexOf('.') + 1), System.Globalization.CultureInfo.InvariantCulture);
        var lower = sdkVersion.Substring(0, sdkVersion.LastIndexOf('.') + 1) + (patch / 100 * 100).ToString(System.Globalization.CultureInfo.InvariantCulture);
        repo.Project.Write("global.json", globalJson.Replace(sdkVersion, lower));
        AssertFails(repo.Strict(), "SB1411", $"global.json sdk.version changed from {sdkVersion} to {lower}");
        repo.Project.Write("global.json", globalJson);

        repo.Project.Write(".config/dotnet-tools.json", """
            { "version": 1, "isRoot": true, "tools": { "dotnet-example": { "version": "1.0.1", "commands": [ "example" ] } } }
            """);
        AssertFails(repo.Strict(), "SB1413", "tool dotnet-example changed from 1.0.0 to 1.0.1");
    }

    [Test]
    public void A_changed_PackageDownload_and_a_changed_downloaded_file_are_caught()
    {
        var repo = new Repo("download", """<PackageDownload Include="Newtonsoft.Json" Version="[13.0.1]" />""").Locked();
        Assert.That(File.ReadAllText(repo.LockPath), Does.Contain("\"newtonsoft.json/13.0.1\""), "PackageDownload packages are locked with their hash");

        var downloaded = Path.Combine(repo.Packages, "newtonsoft.json", "13.0.1", "lib", "netstandard2.0", "Newtonsoft.Json.dll");
        var original = File.ReadAllBytes(downloaded);
        File.WriteAllBytes(downloaded, original.Take(original.Length - 1).Append((byte)(original[^1] ^ 1)).ToArray());
        AssertFails(repo.Strict(), "SB1430", "newtonsoft.json 13.0.1", "lib/netstandard2.0/Newtonsoft.Json.dll");
        File.WriteAllBytes(downloaded, original);

        repo.Project.WithConsoleApp("App", extraItems: """<PackageDownload Include="Newtonsoft.Json" Version="[13.0.3]" />""");
        AssertFails(repo.Strict(), "SB1422", "PackageDownload newtonsoft.json changed from 13.0.1 to 13.0.3");
    }

    [Test]
    public void A_file_fetched_with_DownloadFile_is_locked_and_a_changed_one_is_caught()
    {
        var content = "tool v1";
        using var server = StartOnFreePort(out var port);
        var serving = Task.Run(async () =>
        {
            while (server.IsListening)
            {
                System.Net.HttpListenerContext context;
                try
                {
                    context = await server.GetContextAsync();
                }
                catch (Exception e) when (e is System.Net.HttpListenerException || e is ObjectDisposedException)
                {
                    return;
                }
                var bytes = System.Text.Encoding.UTF8.GetBytes(Volatile.Read(ref content));
                context.Response.ContentLength64 = bytes.Length;
                await context.Response.OutputStream.WriteAsync(bytes);
                context.Response.Close();
            }
        });
        var url = $"http://127.0.0.1:{port}/tool.txt";
        var repo = new Repo("downloadfile", "");
        repo.Project.Write("App/Directory.Build.targets", $$"""
            <Project>
              <Target Name="FetchTool" BeforeTargets="BeforeBuild">
                <DownloadFile SourceUrl="{{url}}" DestinationFolder="$(IntermediateOutputPath)downloads" SkipUnchangedFiles="false" />
              </Target>
            </Project>
            """);
        repo.Locked();
        Assert.That(File.ReadAllText(repo.LockPath), Does.Contain(url).And.Contain(Sha256Text("tool v1")));
        Assert.That(repo.Strict().ExitCode, Is.EqualTo(0));

        Volatile.Write(ref content, "tool v2 (changed upstream)");
        AssertFails(repo.Strict(), "SB1424", $"the file downloaded from {url} changed", Sha256Text("tool v1"));
        server.Stop();
    }

    [Test]
    public void A_corrupted_hand_edited_or_foreign_lock_is_a_clear_error_and_is_left_alone()
    {
        var repo = new Repo("badlock").Locked();
        var good = File.ReadAllText(repo.LockPath);

        var edited = good.Replace("\"13.0.3\"", "\"13.0.4\"");
        File.WriteAllText(repo.LockPath, edited);
        AssertFails(repo.Build(), "SB1401", "changed by hand");
        Assert.That(File.ReadAllText(repo.LockPath), Is.EqualTo(edited));
        var check = repo.Lock();
        Assert.That(check.ExitCode, Is.EqualTo(1), check.ToString());
        Assert.That(check.Output, Does.Contain("SB1401"));
        Assert.That(File.ReadAllText(repo.LockPath), Is.EqualTo(edited), "not modified unless asked");

        File.WriteAllText(repo.LockPath, good.Substring(0, good.Length / 2));
        AssertFails(repo.Build(), "SB1400", "not valid JSON");

        // A number past a long used to escape the parser: MSB4018 and a stack trace in the build, a crash in `lock`.
        var huge = good.Replace("\"version\": 1\n", "\"version\": 123456789012345678901234567890\n");
        Assert.That(huge, Is.Not.EqualTo(good));
        File.WriteAllText(repo.LockPath, huge);
        var build = repo.Build();
        AssertFails(build, "SB1400", "$.version");
        Assert.That(build.Output, Does.Not.Contain("MSB4018"));
        var locked = repo.Lock();
        Assert.That(locked.ExitCode, Is.EqualTo(1), locked.ToString());
        Assert.That(locked.Output, Does.Contain("SB1400").And.Not.Contain("   at "));

        var foreign = LockFile.Parse(System.Text.Encoding.UTF8.GetBytes(good), "lock");
        var project = foreign.Projects["App/App.csproj"];
        foreign.Projects.Clear();
        foreign.Projects["src/Other/Other.csproj"] = project;
        LockFile.Save(foreign, repo.LockPath);
        AssertFails(repo.Build(), "SB1402", "belongs to another repository", "src/Other/Other.csproj");

        File.WriteAllText(repo.LockPath, good);
        Assert.That(repo.Strict().ExitCode, Is.EqualTo(0), "the committed lock again: clean");
    }

    [Test]
    public void A_missing_partially_extracted_or_linked_package_is_an_error_never_a_pass()
    {
        var repo = new Repo("cachestate").Locked();
        var folder = Path.Combine(repo.Packages, "newtonsoft.json", "13.0.3");
        var xml = Path.Combine(folder, "lib", "net6.0", "Newtonsoft.Json.xml");
        var xmlBytes = File.ReadAllBytes(xml);

        File.Delete(xml);
        AssertFails(repo.Build("--no-restore"), "SB1431", "lib/net6.0/Newtonsoft.Json.xml", "partially extracted");
        File.WriteAllBytes(xml, xmlBytes);

        var elsewhere = Path.Combine(repo.Project.Directory, "evil.xml");
        File.WriteAllBytes(elsewhere, xmlBytes);
        File.Delete(xml);
        File.CreateSymbolicLink(xml, elsewhere);
        AssertFails(repo.Build("--no-restore"), "SB1430", "lib/net6.0/Newtonsoft.Json.xml", "symbolic link");
        File.Delete(xml);
        File.WriteAllBytes(xml, xmlBytes);

        File.WriteAllText(Path.Combine(folder, "lib", "net6.0", "Extra.dll"), "not from the package");
        AssertFails(repo.Build("--no-restore"), "SB1430", "lib/net6.0/Extra.dll", "not in the package");
        File.Delete(Path.Combine(folder, "lib", "net6.0", "Extra.dll"));

        var moved = folder + ".moved";
        Directory.Move(folder, moved);
        var missing = repo.Build("--no-restore");
        Assert.That(missing.ExitCode, Is.Not.EqualTo(0), missing.ToString());
        Assert.That(missing.Output, Does.Contain("error SB1431").Or.Contain("error NETSDK1064"), "the SDK itself may notice the missing package first");
        Directory.Move(moved, folder);
        Assert.That(repo.Strict().ExitCode, Is.EqualTo(0));
    }

    /// <summary>
    /// An HttpListener on a port of 127.0.0.1 the system called free. HttpListener cannot bind port 0, so the port is
    /// probed first; another process may take it in between (a busy machine runs builds in parallel), and then another
    /// port is tried, ten times at most.
    /// </summary>
    private static System.Net.HttpListener StartOnFreePort(out int port)
    {
        for (var attempt = 1; ; attempt++)
        {
            var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            var server = new System.Net.HttpListener();
            server.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                server.Start();
                return server;
            }
            catch (System.Net.HttpListenerException) when (attempt < 10)
            {
                server.Close();
            }
        }
    }
}

using System.Text;
using System.Text.Json;

namespace SecureBuild.Tests.Shared;

/// <summary>
/// The attack on "no secret in any signed statement" (issue #16), shared by the Core, task and integration
/// tests (from SecureBuild.TestSupport): a random canary put into every name and shape a secret reaches a build
/// in, and a search for it in every file a build wrote, DSSE and Sigstore bundle payloads decoded.
/// </summary>
public static class SecretCanaries
{
    /// <summary>A random string that appears nowhere unless a build copied it.</summary>
    public static string NewCanary() => "cnry" + Guid.NewGuid().ToString("N");

    /// <summary>
    /// The names found leaking (none says "secret" the way a name deny-list expects), and twenty more generated
    /// ones: mixed case, short, odd, in the DOTNET_ and NUGET_ namespaces too.
    /// </summary>
    public static IReadOnlyList<string> Names()
    {
        var names = new List<string> { "Pat", "NuGetPat", "FeedPass", "Creds", "MyFeed", "NUGET_PAT", "NUGET_PASS", "NUGET_CREDS", "DOTNET_FEED_PW" };
        var random = new Random(1600);
        var stems = new[] { "X1", "Foo_Bar", "feed", "Upload", "q", "Deploy", "mirror", "Z9z", "Acct", "hub" };
        for (var i = 0; names.Count < 29; i++)
        {
            var stem = stems[i % stems.Length];
            names.Add((i % 4) switch
            {
                0 => stem + i,
                1 => string.Concat(stem.Select(c => random.Next(2) == 0 ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c))) + "_" + i,
                2 => "DOTNET_" + stem.ToUpperInvariant() + i,
                _ => "NUGET_" + stem + "_x" + i,
            });
        }
        return names;
    }

    /// <summary>Every shape the canary takes: bare, and in each credential position of a URL.</summary>
    public static IReadOnlyList<string> Shapes(string canary) => new[]
    {
        canary,
        $"https://{canary}@host.example/feed/index.json",
        $"https://user:{canary}@host.example/feed",
        $"https://host.example/blob?sv=2020&sig={canary}",
        $"https://host.example/x?token={canary}",
        $"https://host.example/cb?access_token={canary}&x=1",
        $"https://host.example/cb?code={canary}",
        $"https://host.example/cb#access_token={canary}",
        $"https://host.example/s3?X-Amz-Signature={canary}",
        $"git+ssh://git:{canary}@host.example/repo.git",
    };

    /// <summary>Each of <see cref="Names"/> with one of the <see cref="Shapes"/> (every shape used), shifted by <paramref name="offset"/>.</summary>
    public static Dictionary<string, string> Parameters(string canary, int offset = 0)
    {
        var shapes = Shapes(canary);
        return Names().Select((n, i) => (n, shapes[(i + offset) % shapes.Count])).ToDictionary(p => p.n, p => p.Item2);
    }

    /// <summary>
    /// Fails when <paramref name="canary"/> is in any file below <paramref name="directory"/> (but .git), read as
    /// text and, for JSON files and JSON Lines, with every base64 "payload" (DSSE envelopes, Sigstore bundles) decoded.
    /// </summary>
    public static void AssertAbsent(string directory, string canary)
    {
        var separator = Path.DirectorySeparatorChar;
        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{separator}.git{separator}", StringComparison.Ordinal)).ToList();
        var payloads = 0;
        foreach (var file in files)
        {
            var text = Encoding.UTF8.GetString(File.ReadAllBytes(file));
            Assert.That(text, Does.Not.Contain(canary), $"{file} contains the canary");
            foreach (var payload in Payloads(text))
            {
                payloads++;
                Assert.That(payload, Does.Not.Contain(canary), $"a payload in {file} contains the canary");
            }
        }
        Assert.That(payloads, Is.GreaterThan(0), "no DSSE or bundle payload was searched: the build wrote no attestation");
    }

    private static IEnumerable<string> Payloads(string text)
    {
        // A file of one JSON document (a bundle), else JSON Lines (a DSSE .intoto.jsonl).
        var documents = new List<JsonDocument>();
        if (TryParse(text) is { } whole)
        {
            documents.Add(whole);
        }
        else
        {
            documents.AddRange(text.Split('\n').Select(TryParse).OfType<JsonDocument>());
        }
        var payloads = new List<string>();
        foreach (var document in documents)
        {
            using (document)
            {
                payloads.AddRange(Find(document.RootElement));
            }
        }
        return payloads;
    }

    private static JsonDocument? TryParse(string text)
    {
        if (!text.TrimStart().StartsWith('{'))
        {
            return null;
        }
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static IEnumerable<string> Find(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
            {
                if (property.Name == "payload" && property.Value.ValueKind == JsonValueKind.String)
                {
                    yield return Encoding.UTF8.GetString(Convert.FromBase64String(property.Value.GetString()!));
                }
                foreach (var inner in Find(property.Value))
                {
                    yield return inner;
                }
            }
        }
        else if (element.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in element.EnumerateArray())
            {
                foreach (var inner in Find(item))
                {
                    yield return inner;
                }
            }
        }
    }
}

# The generated 10-project benchmark solution, shared by the benchmark scripts in build/bench (sourced, not run).
# write_solution DIR SDK MSBUILD_SDKS_JSON writes it into DIR as a git repository: Bench.slnx, global.json (the
# repository's .NET SDK, latestPatch), nuget.config (SecureBuild.* from $FEED, everything else from nuget.org) and
# Directory.Build.props. Needs DOTNET_SDK_VERSION and FEED set, and jq and git on PATH.

# Ten projects: 8 libraries in a dependency tree, a console app on top, a test-like library.
# name|kind|project references|uses Newtonsoft.Json
PROJECTS=(
  "Abstractions|lib||no"
  "Core|lib|Abstractions|yes"
  "Model|lib|Core|no"
  "Data|lib|Model|no"
  "Text|lib|Core|no"
  "Services|lib|Data Text|no"
  "Serialization|lib|Model|yes"
  "Plugins|lib|Services Serialization|no"
  "App|exe|Plugins Services Serialization|yes"
  "Tests|lib|Services Serialization|yes"
)

write_project() { # dir name kind deps json
  local root="$1" name="$2" kind="$3" deps="$4" json="$5" dir d i
  dir="$root/src/Bench.$name"
  mkdir -p "$dir"
  {
    echo '<Project Sdk="@SDK@">'
    echo '  <PropertyGroup>'
    echo '    <TargetFramework>net10.0</TargetFramework>'
    [ "$kind" = exe ] && echo '    <OutputType>Exe</OutputType>'
    [ "$name" = Tests ] && echo '    <IsPackable>false</IsPackable>'
    echo '  </PropertyGroup>'
    if [ -n "$deps" ] || [ "$json" = yes ]; then
      echo '  <ItemGroup>'
      for d in $deps; do echo "    <ProjectReference Include=\"../Bench.$d/Bench.$d.csproj\" />"; done
      [ "$json" = yes ] && echo '    <PackageReference Include="Newtonsoft.Json" Version="13.0.3" />'
      echo '  </ItemGroup>'
    fi
    echo '</Project>'
  } >"$dir/Bench.$name.csproj"

  # Models.cs: 6 records with some behaviour.
  {
    echo "namespace Bench.$name;"
    echo
    for i in 1 2 3 4 5 6; do
      cat <<EOF
public sealed record ${name}Item$i(int Id, string Name, decimal Amount, DateTimeOffset When)
{
    public bool IsLarge => Amount > $((i * 100))m;
    public string Describe() => \$"{nameof(${name}Item$i)}#{Id} {Name} {Amount:F2} at {When:O}";
    public ${name}Item$i Scale(decimal factor) => this with { Amount = Amount * factor };
}

EOF
    done
  } >"$dir/Models.cs"

  # Contracts.cs: 2 interfaces.
  cat >"$dir/Contracts.cs" <<EOF
namespace Bench.$name;

public interface I${name}Store<TKey, TValue> where TKey : notnull
{
    void Put(TKey key, TValue value);
    bool TryGet(TKey key, out TValue? value);
    IReadOnlyCollection<TValue> All { get; }
}

public interface I${name}Processor
{
    Task<decimal> ProcessAsync(IEnumerable<${name}Item1> items, CancellationToken cancellationToken = default);
}
EOF

  # Services.cs: 4 classes + a facade that reaches into every dependency.
  {
    echo "namespace Bench.$name;"
    echo
    cat <<EOF
public sealed class ${name}Store<TKey, TValue> : I${name}Store<TKey, TValue> where TKey : notnull
{
    private readonly Dictionary<TKey, TValue> _items = new();
    public void Put(TKey key, TValue value) => _items[key] = value;
    public bool TryGet(TKey key, out TValue? value)
    {
        var found = _items.TryGetValue(key, out var v);
        value = v;
        return found;
    }
    public IReadOnlyCollection<TValue> All => _items.Values;
}

public sealed class ${name}Processor : I${name}Processor
{
    public async Task<decimal> ProcessAsync(IEnumerable<${name}Item1> items, CancellationToken cancellationToken = default)
    {
        await Task.Yield();
        return items.Where(i => i.IsLarge)
                    .GroupBy(i => i.Name.Length % 3)
                    .Select(g => g.Sum(i => i.Amount) / Math.Max(1, g.Count()))
                    .DefaultIfEmpty(0m)
                    .Max();
    }
}

public sealed class ${name}Report
{
    private readonly List<string> _lines = new();
    public ${name}Report Add(object? value) { _lines.Add(value switch
    {
        null => "<null>",
        ${name}Item1 a => a.Describe(),
        ${name}Item2 b when b.IsLarge => "large " + b.Describe(),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    }); return this; }
    public override string ToString() => string.Join(Environment.NewLine, _lines);
}

public sealed class ${name}Pipeline
{
    private readonly ${name}Store<int, ${name}Item1> _store = new();
    private readonly ${name}Processor _processor = new();
    public async Task<string> RunAsync(int count)
    {
        for (var i = 0; i < count; i++)
            _store.Put(i, new ${name}Item1(i, "item" + i, i * 17.5m, DateTimeOffset.UnixEpoch.AddDays(i)));
        var total = await _processor.ProcessAsync(_store.All);
        return new ${name}Report().Add(total).Add(_store.All.FirstOrDefault()).ToString();
    }
}

public static class ${name}Facade
{
    public static string Describe()
    {
        var parts = new List<string> { "$name" };
EOF
    for d in $deps; do echo "        parts.Add(Bench.$d.${d}Facade.Describe());"; done
    cat <<EOF
        return string.Join(" > ", parts.Distinct());
    }
}
EOF
  } >"$dir/Services.cs"

  if [ "$json" = yes ]; then
    cat >"$dir/JsonHelpers.cs" <<EOF
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace Bench.$name;

public static class ${name}Json
{
    private static readonly JsonSerializerSettings Settings = new() { Formatting = Formatting.Indented, NullValueHandling = NullValueHandling.Ignore };
    public static string Serialize<T>(T value) => JsonConvert.SerializeObject(value, Settings);
    public static T? Deserialize<T>(string json) => JsonConvert.DeserializeObject<T>(json, Settings);
    public static int CountProperties(string json) => JObject.Parse(json).Properties().Count();
}
EOF
  fi

  if [ "$kind" = exe ]; then
    cat >"$dir/Program.cs" <<EOF
using Bench.$name;

var pipeline = new ${name}Pipeline();
Console.WriteLine(await pipeline.RunAsync(args.Length > 0 ? int.Parse(args[0]) : 10));
Console.WriteLine(${name}Facade.Describe());
Console.WriteLine(${name}Json.Serialize(new ${name}Item3(1, "one", 1m, DateTimeOffset.UnixEpoch)));
EOF
  fi

  if [ "$name" = Tests ]; then
    cat >"$dir/PipelineChecks.cs" <<EOF
namespace Bench.Tests;

public static class Check
{
    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
            throw new InvalidOperationException(\$"{what}: expected {expected}, got {actual}");
    }
}

public sealed class ServicesChecks
{
    public async Task PipelineProducesReport()
    {
        var text = await new Bench.Services.ServicesPipeline().RunAsync(5);
        Check.Equal(true, text.Length > 0, "report");
    }
    public void FacadeNamesEveryLayer() =>
        Check.Equal(true, Bench.Services.ServicesFacade.Describe().Contains("Core"), "facade");
}

public sealed class SerializationChecks
{
    public void RoundTrips()
    {
        var item = new Bench.Serialization.SerializationItem2(7, "seven", 7m, DateTimeOffset.UnixEpoch);
        var json = Bench.Serialization.SerializationJson.Serialize(item);
        Check.Equal(item, Bench.Serialization.SerializationJson.Deserialize<Bench.Serialization.SerializationItem2>(json), "round trip");
        Check.Equal(4, TestsJson.CountProperties(json), "properties");
    }
}
EOF
  fi
}

write_solution() { # dir sdk-attribute msbuild-sdks-json
  local root="$1" sdk="$2" msbuild_sdks="$3" entry name kind deps json
  mkdir -p "$root/src"
  for entry in "${PROJECTS[@]}"; do
    IFS='|' read -r name kind deps json <<<"$entry"
    write_project "$root" "$name" "$kind" "$deps" "$json"
  done
  find "$root/src" -name '*.csproj' -exec sed -i "s|@SDK@|$sdk|" {} +

  {
    echo '<Solution>'
    for entry in "${PROJECTS[@]}"; do
      IFS='|' read -r name _ <<<"$entry"
      echo "  <Project Path=\"src/Bench.$name/Bench.$name.csproj\" />"
    done
    echo '</Solution>'
  } >"$root/Bench.slnx"

  jq -n --arg v "$DOTNET_SDK_VERSION" --argjson sdks "$msbuild_sdks" \
    '{sdk: {version: $v, rollForward: "latestPatch"}} + (if $sdks == {} then {} else {"msbuild-sdks": $sdks} end)' \
    >"$root/global.json"

  cat >"$root/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="securebuild-bench" value="$FEED" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="securebuild-bench">
      <package pattern="SecureBuild.*" />
    </packageSource>
    <packageSource key="nuget.org">
      <package pattern="*" />
    </packageSource>
  </packageSourceMapping>
</configuration>
EOF

  cat >"$root/Directory.Build.props" <<'EOF'
<Project>
  <PropertyGroup>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <LangVersion>latest</LangVersion>
    <Deterministic>true</Deterministic>
    <Authors>Bench</Authors>
  </PropertyGroup>
</Project>
EOF
  printf 'bin/\nobj/\n*.binlog\n' >"$root/.gitignore"

  git -C "$root" init -q -b main
  git -C "$root" add -A
  git -C "$root" -c user.name=bench -c user.email=bench@example.invalid -c commit.gpgsign=false \
    commit -q -m "generated benchmark solution"
}

#!/usr/bin/env bash
# Benchmark (not a test): what NuGet cache verification adds to a no-op `dotnet build` of a project
# with ~300 packages. Packs SecureBuild.Sdk with a unique version into a private feed, generates a
# net10.0 library referencing a few meta-packages that pull in hundreds of packages, restores it into
# a private NUGET_PACKAGES folder, locks it, then times no-op builds with and without
# SecureBuildVerifyPackageCache (hyperfine, alternating, same machine and run) and reports the
# SecureBuildVerifyDependencies target's own time from MSBuild's performance summary.
#   build/bench/lock-bench.sh [runs]      (default 10 runs per variant)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-10}"
work="${LOCK_BENCH_DIR:-/tmp/securebuild-lock-bench}"
version="0.1.0-bench$(date +%s)"
mkdir -p "$work"
export NUGET_PACKAGES="$work/packages"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0
command -v hyperfine >/dev/null || { echo "hyperfine is needed: apt-get install -y hyperfine"; exit 1; }

echo "== packing SecureBuild.Sdk $version"
rm -rf "$work/feed" "$work/proj"
dotnet pack "$repo/src/SecureBuild.Sdk/SecureBuild.Sdk.csproj" -c Release -o "$work/feed" -p:SecureBuildVersion="$version" -v q -nologo >/dev/null

sdk=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$repo/global.json" | head -1)
mkdir -p "$work/proj/Big"
cat > "$work/proj/global.json" <<JSON
{ "sdk": { "version": "$sdk", "rollForward": "latestPatch" }, "msbuild-sdks": { "SecureBuild.Sdk": "$version" } }
JSON
cat > "$work/proj/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources><clear /><add key="bench-feed" value="$work/feed" /><add key="nuget.org" value="https://api.nuget.org/v3/index.json" /></packageSources>
  <packageSourceMapping>
    <packageSource key="bench-feed"><package pattern="SecureBuild.*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML
cat > "$work/proj/Big/Big.csproj" <<'XML'
<Project Sdk="SecureBuild.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <NoWarn>$(NoWarn);NU1603;NU1605;NU1701;NU1902;NU1903;NU1904</NoWarn>
    <SecureBuildRecordCompile>false</SecureBuildRecordCompile>
    <!-- .NET 10 prunes packages the framework provides; keep them, so restore resolves ~300 packages. -->
    <RestoreEnablePackagePruning>false</RestoreEnablePackagePruning>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="NETStandard.Library" Version="1.6.1" />
    <PackageReference Include="Microsoft.AspNetCore" Version="2.3.14" />
    <PackageReference Include="Microsoft.AspNetCore.Mvc" Version="2.3.14" />
    <PackageReference Include="Microsoft.EntityFrameworkCore.SqlServer" Version="2.2.6" />
    <PackageReference Include="System.Net.Http" Version="4.3.4" />
    <PackageReference Include="System.Xml.XDocument" Version="4.3.0" />
    <PackageReference Include="System.Net.Security" Version="4.3.2" />
  </ItemGroup>
</Project>
XML
echo 'namespace Big; public class C { }' > "$work/proj/Big/C.cs"
cd "$work/proj"
export SecureBuildSigningKey="$work/bench.key"
[ -f "$SecureBuildSigningKey" ] || dotnet run --project "$repo/src/SecureBuild.Cli" -c Release -- keygen -o "$SecureBuildSigningKey" >/dev/null

echo "== restore, first build (every package verified in full) and lock"
first_start=$(date +%s%N)
dotnet build Big/Big.csproj -nologo -v q -p:SecureBuildLockUpdate=true -clp:PerformanceSummary > "$work/first.log" 2>&1 || { tail -30 "$work/first.log"; exit 1; }
first_ms=$(( ($(date +%s%N) - first_start) / 1000000 ))
packages=$(python3 -c "import json;print(sum(1 for v in json.load(open('Big/obj/project.assets.json'))['libraries'].values() if v['type']=='package'))")
files=$(find "$NUGET_PACKAGES" -type f | wc -l)
full_ms=$(sed -n 's/^ *\([0-9]*\) ms  SecureBuildVerifyDependencies .*/\1/p' "$work/first.log" | head -1)
echo "   $packages packages ($files files in the package folder); first build ${first_ms} ms, of which full verification ${full_ms:-?} ms"

echo "== no-op builds: $runs runs each"
hyperfine --warmup 2 --runs "$runs" --export-json "$work/hyperfine.json" \
  -n "cache verification off" "dotnet build Big/Big.csproj --no-restore -nologo -v q -p:SecureBuildVerifyPackageCache=false" \
  -n "cache verification on"  "dotnet build Big/Big.csproj --no-restore -nologo -v q" | grep -v "^ *$"

dotnet build Big/Big.csproj --no-restore -nologo -v q -clp:PerformanceSummary > "$work/noop.log" 2>&1
noop_ms=$(sed -n 's/^ *\([0-9]*\) ms  SecureBuildVerifyDependencies .*/\1/p' "$work/noop.log" | head -1)
dotnet build Big/Big.csproj --no-restore -nologo -v q -clp:PerformanceSummary -p:SecureBuildVerifyPackageCache=false > "$work/noop-off.log" 2>&1
off_ms=$(sed -n 's/^ *\([0-9]*\) ms  SecureBuildVerifyDependencies .*/\1/p' "$work/noop-off.log" | head -1)
cache_lines=""
for i in 1 2 3 4 5; do
  line=$(dotnet build Big/Big.csproj --no-restore -nologo -v n 2>&1 | sed -n 's/.*SecureBuild: \([0-9]* packages verified in the cache in [0-9]* ms\).*/\1/p' | head -1)
  cache_lines="$cache_lines${line#* in the cache in }; "
done
echo "   cache check alone on 5 more no-op builds (task's own stopwatch): $cache_lines"
python3 - "$work/hyperfine.json" "$packages" "${noop_ms:-0}" "${off_ms:-0}" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
off, on = r["cache verification off"], r["cache verification on"]
d = (on["mean"] - off["mean"]) * 1000
print(f"== result: {sys.argv[2]} packages, no-op build {off['mean']*1000:.0f} ± {off['stddev']*1000:.0f} ms without, "
      f"{on['mean']*1000:.0f} ± {on['stddev']*1000:.0f} ms with cache verification: +{d:.0f} ms wall clock (ratio {on['mean']/off['mean']:.3f})")
print(f"   SecureBuildVerifyDependencies target on a no-op build: {sys.argv[3]} ms with cache verification, {sys.argv[4]} ms without "
      f"(target budget: < 100 ms added)")
PY

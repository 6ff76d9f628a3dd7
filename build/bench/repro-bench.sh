#!/usr/bin/env bash
# Reproducibility benchmark (not a test: it never fails because of a timing; it fails only when it cannot measure).
#
#  1. `securebuild rebuild` (both builds concurrently on 2+ cores, every variation) of a generated 10-project
#     solution, against one clean `dotnet build` of the same solution, measured in the same run.
#     Goal: rebuild <= 2.2 x clean build. Measured for --command build (vs a clean build) and for the default
#     --command pack (vs a clean build followed by pack --no-build).
#  2. `securebuild diff` of two trees of 200 assemblies with their PDBs, every pair different (compiled in two
#     directories without PathMap, every fifth with a build timestamp). Goal: < 5 s.
#
# Usage: bash build/bench/repro-bench.sh
# Environment: BENCH_RUNS (timed runs per measurement, default 3), BENCH_ASSEMBLIES (default 200),
#              BENCH_RESULTS_DIR (default <repo>/artifacts/bench/repro), BENCH_KEEP_TEMP=1 keeps the work directory.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUNS="${BENCH_RUNS:-3}"
ASSEMBLIES="${BENCH_ASSEMBLIES:-200}"
RESULTS_DIR="${BENCH_RESULTS_DIR:-$REPO_ROOT/artifacts/bench/repro}"
KEEP_TEMP="${BENCH_KEEP_TEMP:-0}"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_USE_MSBUILD_SERVER=0

log() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'repro-bench: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

WORK="$(mktemp -d "${TMPDIR:-/tmp}/repro-bench.XXXXXX")"
VERSION="0.1.0-rbench.$(date +%s)"
PACKAGES="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
cleanup() {
  local status=$?
  if [ "$KEEP_TEMP" = "1" ]; then echo "repro-bench: kept $WORK" >&2; else rm -rf "$WORK"; fi
  rm -rf "$PACKAGES/securebuild.sdk/$VERSION"
  exit "$status"
}
trap cleanup EXIT
mkdir -p "$RESULTS_DIR" "$WORK/feed"

log "packing SecureBuild.Sdk $VERSION and building the securebuild tool"
(cd "$REPO_ROOT" && dotnet pack src/SecureBuild.Sdk/SecureBuild.Sdk.csproj -c Release -o "$WORK/feed" -p:SecureBuildVersion="$VERSION" -v q -nologo) >"$RESULTS_DIR/pack.log" 2>&1 || die "pack failed: $RESULTS_DIR/pack.log"
(cd "$REPO_ROOT" && dotnet build src/SecureBuild.Cli/SecureBuild.Cli.csproj -c Release -o "$WORK/cli" -v q -nologo) >"$RESULTS_DIR/cli.log" 2>&1 || die "tool build failed: $RESULTS_DIR/cli.log"
SECUREBUILD=(dotnet "$WORK/cli/securebuild.dll")
SDK_VERSION="$(sed -n 's/.*"version" *: *"\([^"]*\)".*/\1/p' "$REPO_ROOT/global.json" | head -1)"

log "generating a 10-project solution (git repository)"
SLN="$WORK/solution"
mkdir -p "$SLN/src"
cat >"$SLN/global.json" <<JSON
{ "sdk": { "version": "$SDK_VERSION", "rollForward": "latestPatch" }, "msbuild-sdks": { "SecureBuild.Sdk": "$VERSION" } }
JSON
cat >"$SLN/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources><clear /><add key="bench" value="$WORK/feed" /><add key="nuget.org" value="https://api.nuget.org/v3/index.json" /></packageSources>
  <packageSourceMapping>
    <packageSource key="bench"><package pattern="SecureBuild.*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML
echo '<Project />' >"$SLN/Directory.Build.props"
echo '<Project />' >"$SLN/Directory.Packages.props"
# name|kind|references|Newtonsoft.Json
PROJECTS=("Abstractions|lib||no" "Core|lib|Abstractions|yes" "Model|lib|Core|no" "Data|lib|Model|no" "Text|lib|Core|no"
          "Services|lib|Data Text|no" "Serialization|lib|Model|yes" "Plugins|lib|Services Serialization|no"
          "App|exe|Plugins Services Serialization|yes" "Tests|lib|Services Serialization|yes")
for entry in "${PROJECTS[@]}"; do
  IFS='|' read -r name kind deps json <<<"$entry"
  dir="$SLN/src/Bench.$name"; mkdir -p "$dir"
  {
    echo '<Project Sdk="SecureBuild.Sdk">'
    echo '  <PropertyGroup><TargetFramework>net10.0</TargetFramework><ImplicitUsings>enable</ImplicitUsings><Nullable>enable</Nullable>'
    [ "$kind" = exe ] && echo '    <OutputType>Exe</OutputType>'
    [ "$name" = Tests ] && echo '    <IsPackable>false</IsPackable>'
    echo '  </PropertyGroup>'
    echo '  <ItemGroup>'
    for d in $deps; do echo "    <ProjectReference Include=\"../Bench.$d/Bench.$d.csproj\" />"; done
    [ "$json" = yes ] && echo '    <PackageReference Include="Newtonsoft.Json" Version="13.0.3" />'
    echo '  </ItemGroup>'
    echo '</Project>'
  } >"$dir/Bench.$name.csproj"
  for f in 1 2 3 4; do
    {
      echo "namespace Bench.$name;"
      for t in 1 2 3; do
        echo "public sealed record ${name}Item${f}_$t(int Id, string Name, decimal Amount)"
        echo "{"
        echo "    public bool IsLarge => Amount > $((f * t * 10))m;"
        echo "    public string Describe() => \$\"{nameof(${name}Item${f}_$t)}#{Id} {Name} {Amount:F2}\";"
        echo "    public static decimal Total(IEnumerable<${name}Item${f}_$t> items) => items.Where(i => i.IsLarge).Sum(i => i.Amount);"
        echo "}"
      done
    } >"$dir/Items$f.cs"
  done
  [ "$kind" = exe ] && echo 'System.Console.WriteLine("bench");' >"$dir/Program.cs"
done
(cd "$SLN" && dotnet new sln -n Bench --format sln >/dev/null && for entry in "${PROJECTS[@]}"; do IFS='|' read -r name _ <<<"$entry"; dotnet sln Bench.sln add "src/Bench.$name/Bench.$name.csproj" >/dev/null; done)
(cd "$SLN" && git init -q . && git add -A && git -c user.email=b@example.invalid -c user.name=bench commit -qm bench)

log "warming up (restore into the package cache, first build)"
(cd "$SLN" && dotnet build Bench.sln -c Release -nologo -v q) >"$RESULTS_DIR/warmup.log" 2>&1 || die "the solution does not build: $RESULTS_DIR/warmup.log"
"${SECUREBUILD[@]}" rebuild "$SLN/Bench.sln" --command build >"$RESULTS_DIR/rebuild-warmup.txt" 2>&1 || die "rebuild of the solution is not reproducible or failed: $RESULTS_DIR/rebuild-warmup.txt"

clean() { find "$SLN/src" -maxdepth 2 \( -name bin -o -name obj \) -type d -exec rm -rf {} +; }
time_clean_build() { clean; local s; s=$(now); (cd "$SLN" && dotnet build Bench.sln -c Release -nologo -v q) >/dev/null 2>&1 || die "clean build failed"; echo "$(now) - $s" | bc; }
time_clean_build_pack() { clean; local s; s=$(now); (cd "$SLN" && dotnet build Bench.sln -c Release -nologo -v q && dotnet pack Bench.sln -c Release -nologo -v q --no-build) >/dev/null 2>&1 || die "clean build+pack failed"; echo "$(now) - $s" | bc; }
time_rebuild() { local s; s=$(now); "${SECUREBUILD[@]}" rebuild "$SLN/Bench.sln" --command "$1" >"$RESULTS_DIR/rebuild-$1.txt" 2>&1 || die "rebuild --command $1 failed or differed: $RESULTS_DIR/rebuild-$1.txt"; echo "$(now) - $s" | bc; }
command -v bc >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bc >/dev/null; }

declare -A SAMPLES
for ((i = 1; i <= RUNS; i++)); do
  log "round $i/$RUNS"
  SAMPLES[clean]+="$(time_clean_build) "
  SAMPLES[rebuild_build]+="$(time_rebuild build) "
  SAMPLES[clean_pack]+="$(time_clean_build_pack) "
  SAMPLES[rebuild_pack]+="$(time_rebuild pack) "
done
med() { tr ' ' '\n' <<<"${SAMPLES[$1]}" | grep -v '^$' | median; }
CLEAN=$(med clean); RB=$(med rebuild_build); CLEANP=$(med clean_pack); RBP=$(med rebuild_pack)

log "generating two trees of $ASSEMBLIES assemblies"
(cd "$REPO_ROOT" && dotnet run --project build/bench/ReproBenchGen -c Release -- "$WORK/trees" "$ASSEMBLIES") >"$RESULTS_DIR/gen.log" 2>&1 || die "generator failed: $RESULTS_DIR/gen.log"
DIFFS=""
for ((i = 1; i <= RUNS; i++)); do
  s=$(now)
  set +e; "${SECUREBUILD[@]}" diff "$WORK/trees/a" "$WORK/trees/b" --format json -o "$RESULTS_DIR/diff.json" 2>/dev/null; code=$?; set -e
  [ "$code" -eq 1 ] || die "securebuild diff of the trees exited $code (expected 1: different)"
  DIFFS+="$(echo "$(now) - $s" | bc) "
done
DIFF=$(tr ' ' '\n' <<<"$DIFFS" | grep -v '^$' | median)
ROOTS=$(grep -o '"rootDifferences": [0-9]*' "$RESULTS_DIR/diff.json" | grep -o '[0-9]*$')

{
  echo "repro-bench ($(nproc) cores, median of $RUNS runs)"
  printf '  clean dotnet build (10 projects)                 %7.2f s\n' "$CLEAN"
  printf '  securebuild rebuild --command build             %7.2f s   ratio %.2f x  (goal <= 2.2)\n' "$RB" "$(echo "$RB / $CLEAN" | bc -l)"
  printf '  clean dotnet build + pack --no-build            %7.2f s\n' "$CLEANP"
  printf '  securebuild rebuild (default: build + pack)     %7.2f s   ratio %.2f x  (goal <= 2.2)\n' "$RBP" "$(echo "$RBP / $CLEANP" | bc -l)"
  printf '  securebuild diff, 2 x %d assemblies + PDBs     %7.2f s   (goal < 5 s; %s root differences)\n' "$ASSEMBLIES" "$DIFF" "$ROOTS"
} | tee "$RESULTS_DIR/summary.txt"

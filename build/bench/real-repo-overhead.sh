#!/usr/bin/env bash
# What SecureBuild.Sdk costs on a real repository: adopts the SDK repo-wide with the one documented edit
# (<Sdk Name="SecureBuild.Sdk" /> in Directory.Build.props, the version in global.json msbuild-sdks) in
# one copy of a checkout, leaves a second copy plain, and times interleaved pairs of builds of both
# (clean and no-op), printing the median of the per-pair ratios, wall and CPU (the machine's, while the build ran).
#
# This is a benchmark, not a test: it never fails because of timings. It exits non-zero only when it
# cannot measure (the SDK does not pack, a build fails, or the SDK copy wrote no links).
#
# Usage: bash build/bench/real-repo-overhead.sh CHECKOUT [BUILD COMMAND...]
#   CHECKOUT        a git checkout (its HEAD commit is copied twice; local changes are not)
#   BUILD COMMAND   run in each copy's root; default: dotnet build
# Examples (docs: build/bench/README.md, "Real repositories"):
#   bash build/bench/real-repo-overhead.sh ~/src/serilog dotnet build src/Serilog/Serilog.csproj
#   bash build/bench/real-repo-overhead.sh ~/src/Polly dotnet build src/Polly.Core/Polly.Core.csproj
# Environment:
#   BENCH_PAIRS_CLEAN   clean pairs (default 3): `git clean -xdf` before each build, so restore runs too
#   BENCH_PAIRS_NOOP    no-op pairs (default 5): right after a completed build
#   BENCH_RESULTS_DIR   where the results and logs go (default <repo>/artifacts/bench/real-<name>)
#   BENCH_PERF_SUMMARY  1 (default): afterwards one no-op build of the SDK copy with -clp:PerformanceSummary,
#                       to show which SecureBuild targets and tasks cost what
#   BENCH_KEEP_TEMP     1: keep the two copies (the path is printed)
#   BENCH_SDK_IMPORT    sdk (default): the documented adoption, <Sdk Name="SecureBuild.Sdk" /> resolved by NuGet's MSBuild
#                       SDK resolver; path: the SDK's Sdk.props/Sdk.targets imported by path from the unpacked package
#                       instead (no SDK resolver), to tell what the SDK's own files cost from what resolving it costs
#   BENCH_NODE_REUSE    0 (default): every build starts its own MSBuild worker nodes (MSBUILDDISABLENODEREUSE=1), as a CI
#                       job does; 1: MSBuild's own default on a developer's machine, worker nodes stay alive between builds and
#                       both copies' builds share them (they are shut down at the end with `dotnet build-server shutdown`)
#   BENCH_BASELINE      plain (default): the other copy is the repository as it is; empty-sdk: the other copy adopts an
#                       empty MSBuild SDK (Sdk.props and Sdk.targets with nothing in them) from the same feed in the same
#                       way, so both copies pay NuGet's SDK resolver and the ratio is what SecureBuild.Sdk's own files cost
set -euo pipefail
BENCH_NAME=real-repo-overhead
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=bench-lib.sh
source "$REPO_ROOT/build/bench/bench-lib.sh"

[ $# -ge 1 ] || bench_die "usage: real-repo-overhead.sh CHECKOUT [BUILD COMMAND...]"
CHECKOUT="$(cd "$1" && pwd)" || bench_die "no such directory: $1"
shift
BUILD=("$@")
[ ${#BUILD[@]} -gt 0 ] || BUILD=(dotnet build)
git -C "$CHECKOUT" rev-parse --verify -q HEAD >/dev/null || bench_die "$CHECKOUT is not a git checkout with a commit"
NAME="$(basename "$CHECKOUT")"
PAIRS_CLEAN="${BENCH_PAIRS_CLEAN:-3}"
PAIRS_NOOP="${BENCH_PAIRS_NOOP:-5}"
SDK_IMPORT="${BENCH_SDK_IMPORT:-sdk}"
case "$SDK_IMPORT" in sdk|path) ;; *) bench_die "BENCH_SDK_IMPORT is 'sdk' or 'path' (got '$SDK_IMPORT')" ;; esac
BASELINE="${BENCH_BASELINE:-plain}"
case "$BASELINE" in plain|empty-sdk) ;; *) bench_die "BENCH_BASELINE is 'plain' or 'empty-sdk' (got '$BASELINE')" ;; esac
[ "$BASELINE" = plain ] || [ "$SDK_IMPORT" = sdk ] \
  || bench_die "BENCH_BASELINE=empty-sdk compares two SDKs resolved by NuGet; it needs BENCH_SDK_IMPORT=sdk"
EMPTY_SDK=SecureBuild.Bench.EmptySdk
RESULTS_DIR="${BENCH_RESULTS_DIR:-$REPO_ROOT/artifacts/bench/real-$NAME}"
for n in "$PAIRS_CLEAN" "$PAIRS_NOOP"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || bench_die "pair counts must be positive integers (got '$n')"
done

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# By default every build starts its own MSBuild nodes, so no variant profits from nodes the other one warmed.
# BENCH_NODE_REUSE=1 measures what a developer's repeated builds cost instead: reused nodes, shared by both copies.
NODE_REUSE="${BENCH_NODE_REUSE:-0}"
case "$NODE_REUSE" in
  0) export MSBUILDDISABLENODEREUSE=1 ;;
  1) unset MSBUILDDISABLENODEREUSE ;;
  *) bench_die "BENCH_NODE_REUSE is 0 or 1 (got '$NODE_REUSE')" ;;
esac
export DOTNET_CLI_USE_MSBUILD_SERVER=0
bench_require git jq openssl python3

WORK="$(mktemp -d "${TMPDIR:-/tmp}/real-repo-overhead.XXXXXX")"
FEED="$WORK/feed"
VERSION="0.1.0-bench.$(date +%s)"
GLOBAL_PACKAGES="$(bench_global_packages)"
bench_cleanup_on_exit "${BENCH_KEEP_TEMP:-0}"
# Reused nodes outlive the builds: stop MSBuild's nodes (not the compiler server) whatever way the script ends. That
# stops idle nodes other builds of this user left too; the bench wants a machine where nothing else builds anyway.
[ "$NODE_REUSE" = 0 ] || bench_on_exit 'dotnet build-server shutdown --msbuild >/dev/null 2>&1 || true'

rm -rf "$RESULTS_DIR"
mkdir -p "$RESULTS_DIR"

bench_log "packing SecureBuild.Sdk $VERSION from $REPO_ROOT"
bench_pack_sdk "$REPO_ROOT" "$FEED" "$VERSION" "$RESULTS_DIR/pack.log"

# Both copies sit at paths of the same length, so nothing path-dependent differs in size.
PLAIN="$WORK/plain/$NAME"
SECURE="$WORK/sbsdk/$NAME"
COMMIT="$(git -C "$CHECKOUT" rev-parse HEAD)"
bench_log "copying $NAME at ${COMMIT:0:12} twice into $WORK"
for copy in "$PLAIN" "$SECURE"; do
  git clone -q --no-hardlinks "$CHECKOUT" "$copy"
  git -C "$copy" checkout -q --detach "$COMMIT"
done

# Both copies get the bench feed as a package source (so a restore asks the same sources); only the SDK
# copy adopts the SDK. The edit is committed in the copy so `git clean -xdf` keeps it.
add_feed() { # copy
  python3 - "$1" "$FEED" <<'PY'
import os, sys, xml.etree.ElementTree as ET
root, feed = sys.argv[1], sys.argv[2]
config = next((os.path.join(root, n) for n in ("NuGet.config", "nuget.config", "NuGet.Config") if os.path.exists(os.path.join(root, n))), None)
if config is None:
    config = os.path.join(root, "NuGet.config")
    with open(config, "w") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n<configuration>\n  <packageSources />\n</configuration>\n')
tree = ET.parse(config, ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))
top = tree.getroot()
sources = top.find("packageSources")
if sources is None:
    sources = ET.SubElement(top, "packageSources")
ET.SubElement(sources, "add", {"key": "securebuild-bench", "value": feed})
mapping = top.find("packageSourceMapping")
if mapping is not None:
    entry = ET.SubElement(mapping, "packageSource", {"key": "securebuild-bench"})
    ET.SubElement(entry, "package", {"pattern": "SecureBuild.*"})
tree.write(config, encoding="utf-8", xml_declaration=True)
PY
}
# sdk: <Sdk Name="SecureBuild.Sdk" /> and the version in global.json (the documented way). path: the unpacked package's
# Sdk.props at the top and Sdk.targets at the bottom of Directory.Build.props (where MSBuild puts an <Sdk>'s imports).
adopt_sdk() { # copy [sdk-name]
  python3 - "$1" "$VERSION" "$SDK_IMPORT" "$WORK/sdk-unpacked" "${2:-SecureBuild.Sdk}" <<'PY'
import json, os, re, sys
root, version, mode, unpacked, name = sys.argv[1:6]
props = os.path.join(root, "Directory.Build.props")
if mode == "path":
    line = '  <Import Project="%s/Sdk/Sdk.props" />\n' % unpacked
    bottom = '  <Import Project="%s/Sdk/Sdk.targets" />\n' % unpacked
else:
    line, bottom = '  <Sdk Name="%s" />\n' % name, ""
if os.path.exists(props):
    text = open(props, encoding="utf-8-sig").read()
    text, n = re.subn(r"(<Project\b[^>]*>[ \t]*\r?\n?)", lambda m: m.group(1) + line, text, count=1)
    if n != 1:
        sys.exit("no <Project> element in " + props)
else:
    text = "<Project>\n" + line + "</Project>\n"
if bottom:
    at = text.rindex("</Project>")
    text = text[:at] + bottom + text[at:]
open(props, "w", encoding="utf-8").write(text)
if mode == "path":
    sys.exit(0)
path = os.path.join(root, "global.json")
data = json.load(open(path, encoding="utf-8-sig")) if os.path.exists(path) else {}
data.setdefault("msbuild-sdks", {})[name] = version
json.dump(data, open(path, "w", encoding="utf-8"), indent=2)
PY
}
commit_edit() { # copy message
  git -C "$1" add -A
  git -C "$1" -c user.name=bench -c user.email=bench@example.invalid -c commit.gpgsign=false commit -q -m "$2"
}
if [ "$SDK_IMPORT" = path ]; then
  python3 -m zipfile -e "$FEED/SecureBuild.Sdk.$VERSION.nupkg" "$WORK/sdk-unpacked" \
    || bench_die "cannot unpack $FEED/SecureBuild.Sdk.$VERSION.nupkg"
fi
# The empty MSBuild SDK of BENCH_BASELINE=empty-sdk: what any SDK from a NuGet feed costs (the resolver), and nothing else.
pack_empty_sdk() {
  python3 - "$FEED/$EMPTY_SDK.$VERSION.nupkg" "$EMPTY_SDK" "$VERSION" <<'PY'
import sys, zipfile
path, name, version = sys.argv[1:4]
nuspec = ('<?xml version="1.0" encoding="utf-8"?>\n'
          '<package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"><metadata>'
          '<id>%s</id><version>%s</version><authors>bench</authors>'
          '<description>An MSBuild SDK that imports nothing: the baseline of real-repo-overhead.sh</description>'
          '<packageTypes><packageType name="MSBuildSdk" /></packageTypes></metadata></package>\n' % (name, version))
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(name + ".nuspec", nuspec)
    z.writestr("Sdk/Sdk.props", "<Project />\n")
    z.writestr("Sdk/Sdk.targets", "<Project />\n")
PY
}
add_feed "$PLAIN"
if [ "$BASELINE" = empty-sdk ]; then
  pack_empty_sdk
  adopt_sdk "$PLAIN" "$EMPTY_SDK"
  commit_edit "$PLAIN" "bench: the bench feed as a package source, and an empty MSBuild SDK adopted repo-wide"
else
  commit_edit "$PLAIN" "bench: the bench feed as a package source"
fi
add_feed "$SECURE"; adopt_sdk "$SECURE"; commit_edit "$SECURE" "bench: adopt SecureBuild.Sdk repo-wide"
git -C "$SECURE" show --stat --format='   adoption edit: %s' HEAD | sed 's/^/  /'
# Nested Directory.Build.props files that do not import the root one hide the adoption from their projects.
while IFS= read -r nested; do
  grep -q 'GetPathOfFileAbove\|GetDirectoryNameOfFileAbove' "$SECURE/$nested" \
    || echo "   note: $nested does not import the root Directory.Build.props: projects under it build without the SDK"
done < <(cd "$SECURE" && find . -mindepth 2 -name Directory.Build.props -not -path './.git/*' | sed 's|^\./||')

# A real signing key, so the builds do not fall back to (and warn about) the development key.
openssl genpkey -algorithm ed25519 -out "$WORK/key.pem" 2>/dev/null
export SecureBuildSigningKey="$WORK/key.pem"

# run_build COPY LOG: runs the build command in COPY; prints "wall cpu steal" (seconds). cpu is the machine's busy CPU
# time (all cores, /proc/stat) while the build ran, not bash's `time`: `time` sees only the processes the build waited for, and MSBuild's worker nodes are not among
# them (a clean serilog build with two nodes: `time` 19-22 s of CPU, the machine 39-40 s; with -m:1 both about 36 s).
# So nothing else may run on the machine meanwhile; steal (a hypervisor giving the CPUs to someone else) is reported.
# Each build also appends "wall user sys busy-before steal-before busy-after steal-after" to cpu.tsv (user and sys as
# `time` saw them).
run_build() {
  local copy="$1" logfile="$2" TIMEFORMAT='%R %U %S' t before
  before="$(bench_cpu_stat)"
  { t=$( { time (cd "$copy" && "${BUILD[@]}" >"$logfile" 2>&1); } 2>&1 ); } \
    || { tail -n 30 "$logfile" >&2; bench_die "the build failed in $copy (log: $logfile)"; }
  set -- $t $before $(bench_cpu_stat)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS_DIR/cpu.tsv"
  awk -v wall="$1" -v busy="$6" -v busy0="$4" -v steal="$7" -v steal0="$5" 'BEGIN { printf "%s %.2f %.2f\n", wall, busy - busy0, steal - steal0 }'
}
clean_copy() { git -C "$1" clean -xdfq; }

bench_log "warm-up: one build of each copy (${BUILD[*]})"
run_build "$PLAIN" "$RESULTS_DIR/warmup-plain.log" >/dev/null
run_build "$SECURE" "$RESULTS_DIR/warmup-securebuild.log" >/dev/null
links="$(cd "$SECURE" && find . -path '*/attestations/*.link' -type f -not -path './.git/*' | wc -l)"
[ "$links" -gt 0 ] || bench_die "the SDK copy wrote no links (*/attestations/*.link): its timings would be meaningless"
plain_links="$(cd "$PLAIN" && find . -path '*/attestations/*.link' -type f -not -path './.git/*' | wc -l)"
[ "$plain_links" -eq 0 ] || bench_die "the plain copy wrote $plain_links links: the copies are not what they claim"
warnings="$( { grep -o 'warning SB[0-9]*' "$RESULTS_DIR/warmup-securebuild.log" || true; } | sort | uniq -c | awk '{printf "%s%s x%s", s, $3, $1; s=", "}')"
echo "   SDK copy: $links links${warnings:+; SecureBuild warnings: $warnings}"

# Pairs: the order flips every pair, so drift on the machine hits both variants alike.
: >"$RESULTS_DIR/pairs.tsv"
LOADS=()
measure() { # scenario pairs
  local scenario="$1" pairs="$2" i first second p s
  for ((i = 1; i <= pairs; i++)); do
    LOADS+=("$(bench_load)")
    if ((i % 2)); then first=plain; second=securebuild; else first=securebuild; second=plain; fi
    for variant in "$first" "$second"; do
      local copy="$PLAIN"; [ "$variant" = securebuild ] && copy="$SECURE"
      # A no-op needs a completed build just before it, not just after a clean one (then the recording tasks run
      # again, see UpToDate.targets); later pairs follow the previous pair's no-op of the same copy.
      if [ "$scenario" = clean ]; then clean_copy "$copy"
      elif ((i == 1)); then run_build "$copy" "$RESULTS_DIR/prepare-$variant.log" >/dev/null; fi
      if [ "$variant" = plain ]; then p="$(run_build "$copy" "$RESULTS_DIR/$scenario-$variant.log")"; else s="$(run_build "$copy" "$RESULTS_DIR/$scenario-$variant.log")"; fi
    done
    printf '%s\t%d\t%s\t%s\n' "$scenario" "$i" "$p" "$s" | tr ' ' '\t' >>"$RESULTS_DIR/pairs.tsv"
    awk -v sc="$scenario" -v i="$i" -v n="$pairs" -v p="$p" -v s="$s" 'BEGIN { split(p, a, " "); split(s, b, " ");
      printf "  %-6s pair %d/%d: plain %6.2f s (cpu %6.2f), securebuild %6.2f s (cpu %6.2f): wall %.3f, cpu %.3f\n",
        sc, i, n, a[1], a[2], b[1], b[2], b[1] / a[1], b[2] / a[2] }'
  done
}
bench_log "clean: $PAIRS_CLEAN pairs (git clean -xdf before each build, so restore and compile run)"
measure clean "$PAIRS_CLEAN"
bench_log "no-op: $PAIRS_NOOP pairs (each after a completed build of the same copy: one more build of each before the first pair)"
measure noop "$PAIRS_NOOP"

if [ "${BENCH_PERF_SUMMARY:-1}" = "1" ]; then
  bench_log "where the SDK's time goes: one no-op build of the SDK copy with -clp:PerformanceSummary (not part of the ratios)"
  (cd "$SECURE" && "${BUILD[@]}" -clp:PerformanceSummary >"$RESULTS_DIR/perf-noop-securebuild.log" 2>&1) \
    || bench_die "the performance-summary build failed (log: $RESULTS_DIR/perf-noop-securebuild.log)"
  bench_perf_lines "$RESULTS_DIR/perf-noop-securebuild.log" "$(bench_sdk_task_pattern "$GLOBAL_PACKAGES" "$VERSION")"
fi

# Columns of pairs.tsv: scenario, pair, plain wall/cpu/steal, securebuild wall/cpu/steal.
{
  echo
  echo "SecureBuild.Sdk $VERSION vs the repository's own SDK: $NAME at ${COMMIT:0:12}, '${BUILD[*]}', .NET SDK $(cd "$PLAIN" && dotnet --version), $(nproc) cores"
  if [ "$BASELINE" = empty-sdk ]; then
    echo "baseline ('plain' below): the repository with an empty MSBuild SDK ($EMPTY_SDK) adopted the same way, so both copies pay NuGet's SDK resolver"
  fi
  if [ "$NODE_REUSE" = 1 ]; then
    echo "MSBuild nodes: reused between builds and shared by both copies (BENCH_NODE_REUSE=1, MSBuild's default on a developer's machine)"
  else
    echo "MSBuild nodes: started fresh by every build (MSBUILDDISABLENODEREUSE=1, as in CI)"
  fi
  if [ "$SDK_IMPORT" = path ]; then
    echo "adoption: BENCH_SDK_IMPORT=path, the SDK's files imported by path (no NuGet SDK resolver): not how users adopt it"
  else
    echo "adoption: <Sdk Name=\"SecureBuild.Sdk\" /> in Directory.Build.props, resolved by NuGet's MSBuild SDK resolver (global.json msbuild-sdks)"
  fi
  echo "ratio = SecureBuild.Sdk / plain per interleaved pair; median [bootstrap 95% interval of the median] (min .. max) over the pairs; cpu = the machine's busy CPU time while the build ran"
  python3 - "$RESULTS_DIR/pairs.tsv" <<'PY'
import random, statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
def interval(values):
    # Bootstrap 95% interval of the median (fixed seed: the same pairs always print the same interval).
    rng = random.Random(1)
    medians = sorted(statistics.median(rng.choice(values) for _ in values) for _ in range(4000))
    return medians[len(medians) * 25 // 1000], medians[len(medians) * 975 // 1000 - 1]
for scenario in ("clean", "noop"):
    pairs = [r for r in rows if r[0] == scenario]
    if not pairs:
        continue
    wall = [float(r[5]) / float(r[2]) for r in pairs]
    cpu = [float(r[6]) / float(r[3]) for r in pairs]
    line = "%-6s %d pairs: plain %.2f s, securebuild %.2f s (means)" % (
        scenario, len(pairs), statistics.mean(float(r[2]) for r in pairs), statistics.mean(float(r[5]) for r in pairs))
    for name, values in (("wall", wall), ("cpu", cpu)):
        low, high = interval(values)
        line += "; %s ratio %.3f [95%%: %.3f .. %.3f] (%.3f .. %.3f)" % (name, statistics.median(values), low, high, min(values), max(values))
    print(line)
PY
  printf "%s\n" "${LOADS[@]}" | awk -v cores="$(nproc)" 'NR == 1 || $1 < min { min = $1 } $1 > max { max = $1 } END {
    printf "machine load (1-min average at each pair, the builds'"'"' own included): %.2f .. %.2f on %d cores\n", min, max, cores }'
  # A hypervisor's steal is time the builds could not run: it lengthens wall times whichever copy it hits.
  awk -F'\t' '{ cpu += $6 - $4; steal += $7 - $5; n++ }
    END { if (n == 0 || cpu <= 0) exit
      printf "steal while the builds ran: %.1f s over %d builds (%.1f%% of their %.1f s of CPU)", steal, n, 100 * steal / cpu, cpu
      if (steal > 0.05 * cpu) printf " -- the host gave this VM'"'"'s CPUs to others: expect noisy wall ratios"
      printf "\n" }' "$RESULTS_DIR/cpu.tsv"
  echo "results: $RESULTS_DIR/ (pairs.tsv, cpu.tsv, build logs)"
} | tee "$RESULTS_DIR/summary.txt"

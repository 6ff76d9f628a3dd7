#!/usr/bin/env bash
# SecureBuild.Sdk overhead benchmark: measures what <Project Sdk="SecureBuild.Sdk"> adds to a build
# compared with plain <Project Sdk="Microsoft.NET.Sdk"> on a generated 10-project solution, for a
# clean build and for a no-op build, and prints the ratios measured in this run.
#
# This is a benchmark, not a test: it never fails because of timings. It exits non-zero only when
# it cannot measure (the SDK does not pack, a build fails, or the SDK variant wrote no links).
#
# Usage: bash build/bench/sdk-overhead.sh          (from any directory)
# Environment:
#   BENCH_RUNS_CLEAN    timed clean builds per variant (default 5)
#   BENCH_RUNS_NOOP     timed no-op builds per variant (default 8)
#   BENCH_WARMUP        untimed warm-up builds per variant and scenario (default 1)
#   BENCH_RESULTS_DIR   where JSON and logs go (default <repo>/artifacts/bench)
#   BENCH_PERF_SUMMARY  1 (default): after measuring, one clean + one no-op build of each variant
#                       with -clp:PerformanceSummary, to show which SecureBuild targets/tasks cost what
#   BENCH_KEEP_TEMP     1: keep the generated solutions (path is printed) instead of deleting them
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH_NAME=sdk-overhead
# shellcheck source=bench-lib.sh
source "$REPO_ROOT/build/bench/bench-lib.sh"
RUNS_CLEAN="${BENCH_RUNS_CLEAN:-5}"
RUNS_NOOP="${BENCH_RUNS_NOOP:-8}"
WARMUP="${BENCH_WARMUP:-1}"
RESULTS_DIR="${BENCH_RESULTS_DIR:-$REPO_ROOT/artifacts/bench}"
PERF_SUMMARY="${BENCH_PERF_SUMMARY:-1}"
KEEP_TEMP="${BENCH_KEEP_TEMP:-0}"
GOAL_CLEAN="1.05"
GOAL_NOOP="1.10"

export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { bench_log "$@"; }
die() { bench_die "$@"; }

for n in "$RUNS_CLEAN" "$RUNS_NOOP" "$WARMUP"; do
  [[ "$n" =~ ^[0-9]+$ ]] || die "run counts must be non-negative integers (got '$n')"
done
[ "$RUNS_CLEAN" -ge 1 ] && [ "$RUNS_NOOP" -ge 1 ] || die "BENCH_RUNS_CLEAN and BENCH_RUNS_NOOP must be >= 1"

# ---------------------------------------------------------------- prerequisites
command -v dotnet >/dev/null || die "dotnet is not on PATH"
bench_require hyperfine jq openssl git

# ---------------------------------------------------------------- temp dirs and cleanup
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sdk-overhead.XXXXXX")"
FEED="$WORK/feed"
PLAIN="$WORK/plain"
SECURE="$WORK/securebuild"
KEY="$WORK/key.pem"
VERSION="0.1.0-bench.$(date +%s)"
GLOBAL_PACKAGES="$(bench_global_packages)"

bench_cleanup_on_exit "$KEEP_TEMP"

mkdir -p "$FEED" "$RESULTS_DIR"
rm -f "$RESULTS_DIR"/*.json "$RESULTS_DIR"/*.log "$RESULTS_DIR"/summary.txt
rm -rf "$RESULTS_DIR/rounds"
mkdir -p "$RESULTS_DIR/rounds"

DOTNET_SDK_VERSION="$(jq -r '.sdk.version // empty' "$REPO_ROOT/global.json")"
[ -n "$DOTNET_SDK_VERSION" ] || die "no sdk.version in $REPO_ROOT/global.json"

# ---------------------------------------------------------------- 1. pack the SDK
log "packing SecureBuild.Sdk $VERSION from $REPO_ROOT"
bench_pack_sdk "$REPO_ROOT" "$FEED" "$VERSION" "$RESULTS_DIR/pack.log"

# ---------------------------------------------------------------- 2. generate the solutions
# shellcheck source=bench-solution.sh
source "$REPO_ROOT/build/bench/bench-solution.sh"

log "generating two identical 10-project solutions in $WORK"
write_solution "$PLAIN" "Microsoft.NET.Sdk" '{}'
write_solution "$SECURE" "SecureBuild.Sdk" "{\"SecureBuild.Sdk\": \"$VERSION\"}"

# A real signing key, so the builds do not fall back to (and warn about) the development key.
openssl genpkey -algorithm ed25519 -out "$KEY" 2>/dev/null
export SecureBuildSigningKey="$KEY"

# ---------------------------------------------------------------- 3. warm up and check
CLEAN_PLAIN="find '$PLAIN/src' -type d \\( -name bin -o -name obj \\) -prune -exec rm -rf {} +"
CLEAN_SECURE="find '$SECURE/src' -type d \\( -name bin -o -name obj \\) -prune -exec rm -rf {} +"
BUILD_PLAIN="dotnet build '$PLAIN/Bench.slnx' -nodeReuse:false"
BUILD_SECURE="dotnet build '$SECURE/Bench.slnx' -nodeReuse:false"

log "warm-up: restore and build both solutions once"
for variant in plain securebuild; do
  dir="$PLAIN"; [ "$variant" = securebuild ] && dir="$SECURE"
  dotnet restore "$dir/Bench.slnx" -nodeReuse:false >"$RESULTS_DIR/warmup-restore-$variant.log" 2>&1 \
    || { tail -n 30 "$RESULTS_DIR/warmup-restore-$variant.log" >&2; die "restore of the $variant solution failed"; }
  dotnet build "$dir/Bench.slnx" -nodeReuse:false >"$RESULTS_DIR/warmup-build-$variant.log" 2>&1 \
    || { tail -n 30 "$RESULTS_DIR/warmup-build-$variant.log" >&2; die "build of the $variant solution failed"; }
done
if grep -q 'SB2001' "$RESULTS_DIR/warmup-build-securebuild.log"; then
  die "the SDK variant signed with the development key (SB2001) although SecureBuildSigningKey was set"
fi

# Links written by the SDK variant: count, per step, and every one must carry a signature.
check_links() { # label
  local links count projects unsigned steps
  links="$(find "$SECURE/src" -path '*/bin/Debug/attestations/*.link' -type f | sort)"
  count=0; [ -n "$links" ] && count="$(wc -l <<<"$links")"
  [ "$count" -gt 0 ] || die "$1: the SecureBuild.Sdk variant wrote no links (*/bin/Debug/attestations/*.link): its timings would be meaningless"
  projects="$(xargs -n1 dirname <<<"$links" | sort -u | wc -l)"
  unsigned=0
  while IFS= read -r l; do
    jq -e '(.signatures | length) > 0 and (.signed._type == "link")' "$l" >/dev/null 2>&1 || unsigned=$((unsigned + 1))
  done <<<"$links"
  [ "$unsigned" -eq 0 ] || die "$1: $unsigned of $count links are not signed in-toto links"
  steps="$(xargs -n1 basename <<<"$links" | sed 's/\.[0-9a-f]\{8\}\.link$//' | sort | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep=", "}')"
  local plain_links
  plain_links="$(find "$PLAIN/src" -path '*/attestations/*.link' -type f | wc -l)"
  [ "$plain_links" -eq 0 ] || die "$1: the plain Microsoft.NET.Sdk variant wrote $plain_links links: the variants are not what they claim"
  local others
  others="$(find "$SECURE/src" -path "*/bin/Debug/attestations/*" -type f ! -name "*.link" | wc -l)"
  LINK_REPORT="$count signed links in $projects/${#PROJECTS[@]} projects ($steps); plain variant: 0 links"
  [ "$others" -eq 0 ] || LINK_REPORT="$LINK_REPORT; also $others other attestation files (e.g. *.intoto.jsonl)"
  echo "links check ($1): $LINK_REPORT"
}
check_links "after warm-up"

# ---------------------------------------------------------------- measurement
# hyperfine measures all runs of one command before the next; to alternate the variants, each
# round is one hyperfine call with one timed run of each variant, the order flipping every round
# (plain first, then SDK first, ...). The rounds are merged into one hyperfine-style JSON per scenario.
LOADS=()
run_scenario() { # scenario runs
  local scenario="$1" runs="$2" round order warm out
  local -a cmds
  for ((round = 1; round <= runs; round++)); do
    LOADS+=("$(cut -d" " -f1 /proc/loadavg 2>/dev/null || echo 0)")
    warm=0; [ "$round" -eq 1 ] && warm="$WARMUP"
    out="$RESULTS_DIR/rounds/$scenario-$round.json"
    cmds=()
    if [ "$scenario" = clean ]; then
      if ((round % 2)); then
        cmds=(--prepare "$CLEAN_PLAIN" -n plain "$BUILD_PLAIN" --prepare "$CLEAN_SECURE" -n securebuild "$BUILD_SECURE")
      else
        cmds=(--prepare "$CLEAN_SECURE" -n securebuild "$BUILD_SECURE" --prepare "$CLEAN_PLAIN" -n plain "$BUILD_PLAIN")
      fi
    else
      if ((round % 2)); then
        cmds=(-n plain "$BUILD_PLAIN" -n securebuild "$BUILD_SECURE")
      else
        cmds=(-n securebuild "$BUILD_SECURE" -n plain "$BUILD_PLAIN")
      fi
    fi
    hyperfine --style none --runs 1 --warmup "$warm" --export-json "$out" "${cmds[@]}" \
      || die "$scenario round $round: a build failed (hyperfine stopped); rerun one by hand: $BUILD_SECURE"
    order="$(jq -r '.results[] | "\(.command) \(.mean)"' "$out" | awk '{ printf "%s%s %.2f s", sep, $1, $2; sep = ", " }')"
    printf '  %-6s round %d/%d: %s\n' "$scenario" "$round" "$runs" "$order"
  done
  bench_merge_rounds "$RESULTS_DIR/$scenario.json" "$RESULTS_DIR"/rounds/"$scenario"-*.json
}

log "clean build: $RUNS_CLEAN runs per variant (+$WARMUP warm-up), bin/ and obj/ deleted before each"
run_scenario clean "$RUNS_CLEAN"
log "no-op build: $RUNS_NOOP runs per variant (+$WARMUP warm-up), right after a completed build"
run_scenario noop "$RUNS_NOOP"

# ---------------------------------------------------------------- 4. links check after measuring
check_links "after measuring"

# ---------------------------------------------------------------- optional: where the cost goes
# PerformanceSummary lines: "   96 ms  SecureBuildRecordCompile   10 calls". Prints the SecureBuild
# targets, the SDK's tasks and a few reference lines; times are summed over projects and nodes.
perf_lines() { bench_perf_lines "$1" "$SDK_TASKS"; }
if [ "$PERF_SUMMARY" = "1" ]; then
  SDK_TASKS="$(bench_sdk_task_pattern "$GLOBAL_PACKAGES" "$VERSION")"
  log "performance summary (one clean + one no-op build per variant, not part of the ratios)"
  for variant in securebuild plain; do
    dir="$PLAIN"; [ "$variant" = securebuild ] && dir="$SECURE"
    find "$dir/src" -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
    for kind in clean noop; do
      dotnet build "$dir/Bench.slnx" -nodeReuse:false -clp:PerformanceSummary >"$RESULTS_DIR/perf-$kind-$variant.log" 2>&1 \
        || die "performance-summary $kind build of the $variant solution failed"
    done
  done
  for kind in clean noop; do
    echo "  $kind build, SecureBuild.Sdk variant (ms summed over projects and nodes; log: perf-$kind-securebuild.log):"
    perf_lines "$RESULTS_DIR/perf-$kind-securebuild.log"
    echo "  $kind build, plain variant, for comparison:"
    perf_lines "$RESULTS_DIR/perf-$kind-plain.log" | grep -E 'evaluation|CoreCompile|ResolveAssemblyReferences'
  done
fi

# ---------------------------------------------------------------- report
stats() { # scenario variant field
  jq -r --arg c "$2" --arg f "$3" '.results[] | select(.command == $c) | .[$f] // 0' "$RESULTS_DIR/$1.json"
}
row() { # scenario label runs goal
  local pm ps sm ss pu su
  pm=$(stats "$1" plain mean); ps=$(stats "$1" plain stddev)
  sm=$(stats "$1" securebuild mean); ss=$(stats "$1" securebuild stddev)
  pu=$(jq -r '.results[] | select(.command == "plain") | .user + .system' "$RESULTS_DIR/$1.json")
  su=$(jq -r '.results[] | select(.command == "securebuild") | .user + .system' "$RESULTS_DIR/$1.json")
  awk -v label="$2" -v runs="$3" -v goal="$4" -v pm="$pm" -v ps="$ps" -v sm="$sm" -v ss="$ss" -v pu="$pu" -v su="$su" 'BEGIN {
    r = sm / pm
    # uncertainty of the ratio of two independent means (first-order propagation of the stddevs)
    rs = r * sqrt((ps / pm) ^ 2 + (ss / sm) ^ 2)
    verdict = (r <= goal) ? "within goal" : "ABOVE goal"
    printf "%-7s %4d  %7.2f ± %-5.2f  %7.2f ± %-5.2f  %+6.2f  %5.3f ± %-5.3f  <= %.2f  %-11s  %5.3f\n",
      label, runs, pm, ps, sm, ss, sm - pm, r, rs, goal, verdict, su / pu
  }'
}
{
  echo
  echo "SecureBuild.Sdk $VERSION vs Microsoft.NET.Sdk: ${#PROJECTS[@]}-project solution, .NET SDK $(dotnet --version), $(nproc) cores"
  echo "wall-clock seconds, mean ± stddev; ratio = SecureBuild.Sdk / plain; cpu = (user+sys) ratio"
  printf '%-7s %4s  %-15s  %-15s  %6s  %-13s  %-7s  %-11s  %5s\n' scenario runs "plain (s)" "securebuild (s)" "delta" "ratio" goal verdict cpu
  row clean clean "$RUNS_CLEAN" "$GOAL_CLEAN"
  row noop no-op "$RUNS_NOOP" "$GOAL_NOOP"
  echo "links: $LINK_REPORT"
  bench_load_summary "${LOADS[@]}"
  echo "results: $RESULTS_DIR/ (clean.json, noop.json: hyperfine format; summary.json; rounds/; logs)"
} | tee "$RESULTS_DIR/summary.txt"

jq -n --arg version "$VERSION" --argjson goal_clean "$GOAL_CLEAN" --argjson goal_noop "$GOAL_NOOP" \
  --slurpfile clean "$RESULTS_DIR/clean.json" --slurpfile noop "$RESULTS_DIR/noop.json" '
  def pick($r; $c): $r[0].results[] | select(.command == $c);
  def scen($r; $goal): (pick($r; "plain")) as $p | (pick($r; "securebuild")) as $s |
    { runs: ($p.times | length), plain_mean: $p.mean, plain_stddev: $p.stddev,
      securebuild_mean: $s.mean, securebuild_stddev: $s.stddev,
      ratio: ($s.mean / $p.mean), cpu_ratio: (($s.user + $s.system) / ($p.user + $p.system)),
      goal: $goal, within_goal: (($s.mean / $p.mean) <= $goal) };
  { sdk_version: $version, clean: scen($clean; $goal_clean), noop: scen($noop; $goal_noop) }' >"$RESULTS_DIR/summary.json"

#!/usr/bin/env bash
# Runtime-trace overhead benchmark (issue #11): the generated 10-project solution built untraced, under
# `securebuild trace`, under strace with a seccomp-bpf prefilter (the peer baseline: what a filtered ptrace tracer
# costs), and untraced with a binary log (-bl;ProjectImports=None: what `securebuild trace` added for attribution
# before it had its own logger, and what a user's -bl costs; the verb then reads that log instead), clean and no-op,
# in one run with the variants alternating; ratios against the untraced build, and the tracer's peak memory and CPU.
#
# This is a benchmark, not a test: it never fails because of timings. It exits non-zero only when it cannot measure
# (a build fails, the tool does not build, tracing is not permitted here).
#
# Usage: bash build/bench/trace-overhead.sh          (from any directory; Linux only)
# Environment:
#   BENCH_RUNS_CLEAN    timed clean builds per variant (default 3)
#   BENCH_RUNS_NOOP     timed no-op builds per variant (default 5)
#   BENCH_WARMUP        untimed warm-up builds per variant and scenario (default 1)
#   BENCH_RESULTS_DIR   where JSON and logs go (default <repo>/artifacts/bench/trace)
#   BENCH_KEEP_TEMP     1: keep the generated solution (path is printed)
#   BENCH_TRACE_TOOL    an already built securebuild executable to measure (default: built here, Native AOT on x86_64)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BENCH_NAME=trace-overhead
# shellcheck source=bench-lib.sh
source "$REPO_ROOT/build/bench/bench-lib.sh"
# shellcheck source=bench-solution.sh
source "$REPO_ROOT/build/bench/bench-solution.sh"
RUNS_CLEAN="${BENCH_RUNS_CLEAN:-3}"
RUNS_NOOP="${BENCH_RUNS_NOOP:-5}"
WARMUP="${BENCH_WARMUP:-1}"
RESULTS_DIR="${BENCH_RESULTS_DIR:-$REPO_ROOT/artifacts/bench/trace}"
KEEP_TEMP="${BENCH_KEEP_TEMP:-0}"
GOAL="1.15"
# The same switches for every variant: `securebuild trace` adds them to MSBuild commands (every node and the compiler
# must be children of the trace), so the untraced and strace builds get them too, or the comparison would be unfair.
SWITCHES="-nodeReuse:false -p:UseSharedCompilation=false"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOTNET_CLI_USE_MSBUILD_SERVER=0 MSBUILDDISABLENODEREUSE=1

for n in "$RUNS_CLEAN" "$RUNS_NOOP" "$WARMUP"; do
  [[ "$n" =~ ^[0-9]+$ ]] || bench_die "run counts must be non-negative integers (got '$n')"
done
[ "$(uname -s)" = Linux ] || bench_die "the tracer is Linux only"
command -v dotnet >/dev/null || bench_die "dotnet is not on PATH"
bench_require hyperfine jq git strace

WORK="$(mktemp -d "${TMPDIR:-/tmp}/trace-overhead.XXXXXX")"
SOL="$WORK/solution"
TOOL="$WORK/tool"
FEED="$WORK/feed"          # the generated nuget.config names it; nothing is packed into it here
# bench_cleanup_on_exit also removes a throw-away SDK version from the packages folder; none is packed here.
GLOBAL_PACKAGES="$WORK"
VERSION="none"
bench_cleanup_on_exit "$KEEP_TEMP"
mkdir -p "$FEED" "$RESULTS_DIR"
rm -rf "$RESULTS_DIR"/*.json "$RESULTS_DIR"/*.log "$RESULTS_DIR/rounds"
mkdir -p "$RESULTS_DIR/rounds"
DOTNET_SDK_VERSION="$(jq -r '.sdk.version // empty' "$REPO_ROOT/global.json")"
[ -n "$DOTNET_SDK_VERSION" ] || bench_die "no sdk.version in $REPO_ROOT/global.json"

# The tool as users get it: on linux-x64 the Native AOT executable (SecureBuild.Tool.linux-x64), elsewhere the
# framework-dependent build. BENCH_TRACE_TOOL names an already built securebuild executable instead.
if [ -n "${BENCH_TRACE_TOOL:-}" ]; then
  [ -x "$BENCH_TRACE_TOOL" ] || bench_die "BENCH_TRACE_TOOL is not an executable: $BENCH_TRACE_TOOL"
  TOOL_EXE="$BENCH_TRACE_TOOL"
  TOOL_KIND="given: $BENCH_TRACE_TOOL"
else
  if [ "$(uname -m)" = x86_64 ]; then
    TOOL_KIND="Native AOT, linux-x64"
    tool_args=(publish -r linux-x64)
  else
    TOOL_KIND="framework-dependent"
    tool_args=(build)
  fi
  bench_log "building the securebuild tool ($TOOL_KIND) from $REPO_ROOT"
  (cd "$REPO_ROOT" && dotnet "${tool_args[@]}" src/SecureBuild.Cli/SecureBuild.Cli.csproj -c Release -o "$TOOL" -nodeReuse:false -v:q -nologo) \
    >"$RESULTS_DIR/tool.log" 2>&1 || { tail -n 30 "$RESULTS_DIR/tool.log" >&2; bench_die "the tool did not build"; }
  TOOL_EXE="$TOOL/securebuild"
fi

bench_log "generating the 10-project solution in $SOL"
write_solution "$SOL" "Microsoft.NET.Sdk" '{}'

CLEAN="find '$SOL/src' -type d \\( -name bin -o -name obj \\) -prune -exec rm -rf {} +"
UNTRACED="dotnet build '$SOL/Bench.slnx' $SWITCHES"
TRACED="'$TOOL_EXE' trace --out '$WORK/trace' -- dotnet build '$SOL/Bench.slnx'"
STRACE="strace -f --seccomp-bpf -e trace=execve,openat,connect -o /dev/null dotnet build '$SOL/Bench.slnx' $SWITCHES"
BINLOG="dotnet build '$SOL/Bench.slnx' $SWITCHES '-bl:$WORK/untraced.binlog;ProjectImports=None'"

bench_log "warm-up: restore and build once, then once traced (checks that tracing is permitted here)"
dotnet restore "$SOL/Bench.slnx" >"$RESULTS_DIR/warmup-restore.log" 2>&1 \
  || { tail -n 30 "$RESULTS_DIR/warmup-restore.log" >&2; bench_die "restore failed"; }
eval "$UNTRACED" >"$RESULTS_DIR/warmup-build.log" 2>&1 || { tail -n 30 "$RESULTS_DIR/warmup-build.log" >&2; bench_die "build failed"; }
eval "$TRACED" >"$RESULTS_DIR/warmup-traced.log" 2>&1 || { tail -n 30 "$RESULTS_DIR/warmup-traced.log" >&2; bench_die "traced build failed"; }

LOADS=()
run_scenario() { # scenario runs
  local scenario="$1" runs="$2" round warm out prep="" i
  local -a names=(untraced traced strace binlog) cmds order
  [ "$runs" -gt 0 ] || return 0 # BENCH_RUNS_CLEAN=0: only the other scenario
  [ "$scenario" = clean ] && prep="$CLEAN"
  for ((round = 1; round <= runs; round++)); do
    LOADS+=("$(bench_load)")
    warm=0; [ "$round" -eq 1 ] && warm="$WARMUP"
    out="$RESULTS_DIR/rounds/$scenario-$round.json"
    cmds=()
    # Rotate the order every round so drift on the machine hits every variant alike.
    for ((i = 0; i < 4; i++)); do
      local name="${names[$(((i + round) % 4))]}" cmd
      case "$name" in untraced) cmd="$UNTRACED" ;; traced) cmd="$TRACED" ;; strace) cmd="$STRACE" ;; binlog) cmd="$BINLOG" ;; esac
      [ -n "$prep" ] && cmds+=(--prepare "$prep")
      cmds+=(-n "$name" "$cmd")
    done
    hyperfine --style none --runs 1 --warmup "$warm" --export-json "$out" "${cmds[@]}" \
      || bench_die "$scenario round $round: a build failed (hyperfine stopped); rerun by hand: $TRACED"
    order="$(jq -r '.results[] | "\(.command) \(.mean)"' "$out" | awk '{ printf "%s%s %.2f s", sep, $1, $2; sep = ", " }')"
    printf '  %-6s round %d/%d: %s\n' "$scenario" "$round" "$runs" "$order"
  done
  bench_merge_rounds "$RESULTS_DIR/$scenario.json" "$RESULTS_DIR"/rounds/"$scenario"-*.json
}

bench_log "clean build: $RUNS_CLEAN runs per variant (+$WARMUP warm-up), bin/ and obj/ deleted before each"
run_scenario clean "$RUNS_CLEAN"
bench_log "no-op build: $RUNS_NOOP runs per variant (+$WARMUP warm-up)"
run_scenario noop "$RUNS_NOOP"

bench_log "one more traced clean and no-op build for the tracer's own numbers (peak memory, events)"
eval "$CLEAN"
eval "$TRACED" >"$RESULTS_DIR/traced-clean.log" 2>&1 || bench_die "traced clean build failed"
eval "$TRACED" >"$RESULTS_DIR/traced-noop.log" 2>&1 || bench_die "traced no-op build failed"
peak() { sed -n 's/.*tracer peak memory \([0-9]*\) MB.*/\1/p' "$1" | tail -n 1; }
tracer_cpu() { sed -n 's/.*tracer .*CPU \([0-9.]*\) s.*/\1/p' "$1" | tail -n 1; }
summary_line() { grep -h 'securebuild trace: [0-9]* processes' "$1" | tail -n 1 | sed 's/^securebuild trace: //; s/\.$//'; }

stat() { jq -r --arg c "$2" --arg f "$3" '.results[] | select(.command == $c) | .[$f] // 0' "$RESULTS_DIR/$1.json"; }
row() { # scenario runs
  local um us tm ts sm ss bm uc tc sc bc
  [ "$2" -gt 0 ] || return 0
  um=$(stat "$1" untraced mean); us=$(stat "$1" untraced stddev)
  tm=$(stat "$1" traced mean); ts=$(stat "$1" traced stddev)
  sm=$(stat "$1" strace mean); ss=$(stat "$1" strace stddev)
  bm=$(stat "$1" binlog mean)
  uc=$(jq -r '.results[] | select(.command == "untraced") | .user + .system' "$RESULTS_DIR/$1.json")
  tc=$(jq -r '.results[] | select(.command == "traced") | .user + .system' "$RESULTS_DIR/$1.json")
  sc=$(jq -r '.results[] | select(.command == "strace") | .user + .system' "$RESULTS_DIR/$1.json")
  bc=$(jq -r '.results[] | select(.command == "binlog") | .user + .system' "$RESULTS_DIR/$1.json")
  awk -v s="$1" -v runs="$2" -v goal="$GOAL" -v um="$um" -v us="$us" -v tm="$tm" -v ts="$ts" -v sm="$sm" -v ss="$ss" \
      -v bm="$bm" -v uc="$uc" -v tc="$tc" -v sc="$sc" -v bc="$bc" 'BEGIN {
    r = tm / um; rs = r * sqrt((us / um) ^ 2 + (ts / tm) ^ 2); q = sm / um; p = tm / sm
    verdict = (r <= goal ? "within goal" : "ABOVE goal") (p <= 1 ? ", <= strace" : ", SLOWER than strace")
    printf "%-6s %4d  %6.2f ± %-5.2f  %6.2f ± %-5.2f  %6.2f ± %-5.2f  %5.3f ± %-5.3f  %5.3f  %5.3f  %5.3f  %5.3f  %5.3f/%5.3f/%5.3f  %s\n",
      s, runs, um, us, tm, ts, sm, ss, r, rs, q, p, bm / um, tm / bm, tc / uc, sc / uc, bc / uc, verdict
  }'
}
{
  echo
  echo "runtime trace overhead: ${#PROJECTS[@]}-project solution, .NET SDK $(dotnet --version), $(nproc) cores, $(strace -V | head -n 1), tool $TOOL_KIND"
  echo "wall-clock seconds, mean ± stddev; traced/untraced goal <= $GOAL and never slower than strace; cpu = (user+sys) ratios vs untraced"
  echo "bl/u: untraced with a binary log (-bl;ProjectImports=None: the verb's attribution before its logger, a user's -bl) vs untraced; tr/bl: traced vs that"
  printf '%-6s %4s  %-14s  %-14s  %-14s  %-13s  %-5s  %-5s  %-5s  %-5s  %-17s  %s\n' scenario runs "untraced (s)" "traced (s)" "strace (s)" \
    "traced/untr." "str/u" "tr/st" "bl/u" "tr/bl" "cpu tr/st/bl" verdict
  row clean "$RUNS_CLEAN"
  row noop "$RUNS_NOOP"
  # The same, robust to this machine's drift: the median over the rounds of each round's own ratios (one build of each
  # variant per round, in rotating order).
  for scenario in clean noop; do
    ls "$RESULTS_DIR"/rounds/"$scenario"-*.json >/dev/null 2>&1 || continue
    for f in "$RESULTS_DIR"/rounds/"$scenario"-*.json; do
      jq -r '[.results[] | {(.command): {w: .mean, c: (.user + .system)}}] | add
        | "\(.traced.w / .untraced.w) \(.strace.w / .untraced.w) \(.traced.w / .strace.w) \(.traced.c / .untraced.c)"' "$f"
    done | awk -v s="$scenario" '
      function median(v, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
        return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2 }
      { n++; a[n] = $1; b[n] = $2; c[n] = $3; d[n] = $4 }
      END { printf "%-6s per-round medians over %d rounds: traced/untraced %.3f, strace/untraced %.3f, traced/strace %.3f, cpu traced/untraced %.3f\n",
        s, n, median(a, n), median(b, n), median(c, n), median(d, n) }'
  done
  echo "tracer: clean build $(summary_line "$RESULTS_DIR/traced-clean.log"); peak memory $(peak "$RESULTS_DIR/traced-clean.log") MB (goal < 300), tracer CPU $(tracer_cpu "$RESULTS_DIR/traced-clean.log") s"
  echo "tracer: no-op build $(summary_line "$RESULTS_DIR/traced-noop.log"); peak memory $(peak "$RESULTS_DIR/traced-noop.log") MB, tracer CPU $(tracer_cpu "$RESULTS_DIR/traced-noop.log") s"
  bench_load_summary "${LOADS[@]}"
  echo "results: $RESULTS_DIR/ (clean.json, noop.json: hyperfine format; rounds/; logs)"
} | tee "$RESULTS_DIR/summary.txt"

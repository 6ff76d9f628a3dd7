# Shared by the benchmark scripts in build/bench (sourced, not run): logging, installing what a
# benchmark needs, packing the SDK from the working tree under a throw-away version, and reading
# MSBuild's PerformanceSummary. Each script sets BENCH_NAME before sourcing this file.

bench_log() { printf '\n==> %s\n' "$*"; }
bench_die() { printf '%s: %s\n' "${BENCH_NAME:-bench}" "$*" >&2; exit 1; }

# bench_require TOOL... : installs the missing ones with apt-get (Debian package names = tool names).
bench_require() {
  local missing=() tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  bench_log "installing ${missing[*]} with apt-get"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The global packages folder NuGet extracts into (where a bench version of the SDK must be removed again).
bench_global_packages() {
  local folder
  folder="$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: *//p')"
  folder="${folder%/}"
  [ -n "$folder" ] || folder="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
  printf '%s\n' "$folder"
}

# bench_pack_sdk REPO_ROOT FEED VERSION LOG : packs src/SecureBuild.Sdk as VERSION into FEED. A fresh
# version each run, because NuGet never re-extracts a version it already has in the global folder.
bench_pack_sdk() {
  local repo="$1" feed="$2" version="$3" logfile="$4"
  mkdir -p "$feed"
  if ! (cd "$repo" && dotnet pack src/SecureBuild.Sdk/SecureBuild.Sdk.csproj -c Release -o "$feed" \
          -p:SecureBuildVersion="$version" -nodeReuse:false -v:q -nologo) >"$logfile" 2>&1; then
    tail -n 30 "$logfile" >&2
    bench_die "dotnet pack of the SDK failed (full log: $logfile)"
  fi
  [ -f "$feed/SecureBuild.Sdk.$version.nupkg" ] || bench_die "pack produced no SecureBuild.Sdk.$version.nupkg"
}

# bench_sdk_task_pattern GLOBAL_PACKAGES VERSION : a regex of the SDK's own task names, read from its
# UsingTask declarations (the SDK grows; do not hard-code them).
bench_sdk_task_pattern() {
  local names
  names="$(cat "$1/securebuild.sdk/$2"/build/*.targets "$1/securebuild.sdk/$2"/Sdk/*.targets 2>/dev/null \
    | grep -o 'TaskName="SecureBuild\.Tasks\.[A-Za-z0-9_]*"' | sed 's/.*\.//; s/"//' | sort -u | paste -sd'|' -)"
  printf '^(%s)$\n' "${names:-Record[A-Za-z]*|Verify[A-Za-z]*}"
}

# bench_perf_lines LOG TASK_REGEX : the SecureBuild targets and tasks (and a few reference lines) of a
# build run with -clp:PerformanceSummary. Lines look like "   96 ms  SecureBuildRecordCompile   10 calls";
# times are summed over projects and nodes.
bench_perf_lines() {
  awk -v tasks="$2" '
    /Summary:$/ { section = $0; next }
    section ~ /^Project Evaluation/ && $2 == "ms" { eval += $1 }
    section ~ /^Target Performance/ && $NF == "calls" {
      name = $(NF - 2)
      if (name ~ /SecureBuild/ || name == "CoreCompile" || name == "ResolveAssemblyReferences" || name == "Restore")
        printf "    target %-38s %7d ms %4d calls\n", name, $1, $(NF - 1)
    }
    section ~ /^Task Performance/ && $NF == "calls" {
      name = $(NF - 2)
      if (name ~ tasks || name == "Csc" || name == "ResolveAssemblyReference")
        printf "    task   %-38s %7d ms %4d calls\n", name, $1, $(NF - 1)
    }
    END { printf "    evaluation (all projects)                     %7d ms\n", eval }
  ' "$1"
}

# bench_load : the 1-minute load average.
bench_load() { cut -d" " -f1 /proc/loadavg 2>/dev/null || echo 0; }

# bench_cpu_stat : the machine's CPU seconds since boot, all cores, from /proc/stat: "busy steal" (busy = user, nice,
# system, irq and softirq; steal = time a hypervisor gave this VM's CPUs to someone else). "0 0" where there is none.
bench_cpu_stat() {
  awk -v hz="$(getconf CLK_TCK 2>/dev/null || echo 100)" '$1 == "cpu" {
    printf "%.2f %.2f\n", ($2 + $3 + $4 + $7 + $8) / hz, $9 / hz; found = 1; exit }
    END { if (!found) print "0 0" }' /proc/stat 2>/dev/null || echo "0 0"
}

# bench_load_summary LOAD... : one line with the range of the load averages taken at each round, and a warning when
# other processes competed for the CPU.
bench_load_summary() {
  printf "%s\n" "$@" | awk -v cores="$(nproc)" 'NR == 1 || $1 < min { min = $1 } $1 > max { max = $1 } END {
    printf "machine load (1-min load average at each round): %.2f .. %.2f on %d cores", min, max, cores
    if (max > cores) printf " -- other processes competed for the CPU: expect noisy numbers, rerun on a quiet machine"
    printf "\n" }'
}

# bench_cleanup_on_exit KEEP : on exit (also Ctrl+C, TERM) removes $WORK unless KEEP is 1, and always every package of
# the throw-away $VERSION the bench packed (SecureBuild.Sdk, a baseline SDK) from $GLOBAL_PACKAGES: that version is
# never used again. Set WORK, VERSION and GLOBAL_PACKAGES first.
bench_cleanup_on_exit() {
  BENCH_KEEP="$1"
  trap '_bench_cleanup' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}
# bench_on_exit COMMAND : one more thing _bench_cleanup does on exit (before removing $WORK), e.g. stopping servers.
BENCH_EXIT_HOOKS=()
bench_on_exit() { BENCH_EXIT_HOOKS+=("$1"); }
_bench_cleanup() {
  local status=$? hook
  for hook in "${BENCH_EXIT_HOOKS[@]}"; do eval "$hook"; done
  if [ "${BENCH_KEEP:-0}" = "1" ]; then echo "${BENCH_NAME:-bench}: kept $WORK" >&2; else rm -rf "$WORK"; fi
  [ -z "${GLOBAL_PACKAGES:-}" ] || [ -z "${VERSION:-}" ] || rm -rf "$GLOBAL_PACKAGES"/securebuild.*/"$VERSION"
  exit "$status"
}

# bench_merge_rounds OUT ROUND_JSON... : merges hyperfine JSON files of alternating rounds (one run of each variant per
# file) into one hyperfine-style JSON: one entry per command with all its times and the summary statistics.
bench_merge_rounds() {
  local out="$1"
  shift
  jq -s '
    def mean: add / length;
    def stddev: (mean) as $m | if length > 1 then (map((. - $m) * (. - $m)) | add / (length - 1) | sqrt) else null end;
    def median: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
    [.[].results[]] | group_by(.command) | map(
      (map(.times) | add) as $t | (map(.user * (.times | length)) | add / ($t | length)) as $u
      | (map(.system * (.times | length)) | add / ($t | length)) as $s
      | { command: .[0].command, mean: ($t | mean), stddev: ($t | stddev), median: ($t | median),
          user: $u, system: $s, min: ($t | min), max: ($t | max), times: $t,
          exit_codes: (map(.exit_codes) | add) })
    | {results: .}' "$@" >"$out"
}

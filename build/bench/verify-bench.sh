#!/usr/bin/env bash
# Benchmark, not a test: `securebuild verify` against Debian's `in-toto-verify` 1.3.1 on the same generated supply
# chain (build/bench/VerifyBenchGen: 5 steps, N artifacts per link, ed25519 + ecdsa functionaries, every rule kind
# that scans all artifacts), timed with hyperfine in the same run. Prints the mean times, the speed-up and the time
# per 1,000 artifacts of each tool (linearity). It fails only when it cannot measure (a tool missing, a build
# failing, or either verifier rejecting the generated chain), never because of a timing.
#
#   bash build/bench/verify-bench.sh                       # N = 10,000 and 100,000
#   BENCH_SIZES="10000" BENCH_RUNS=3 bash build/bench/verify-bench.sh
#   BENCH_VARIANT=framework-dependent bash build/bench/verify-bench.sh   # the JIT build instead of the native one
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SIZES="${BENCH_SIZES:-10000 100000}"
RESULTS="${BENCH_RESULTS_DIR:-$ROOT/artifacts/bench}/verify"
KEEP="${BENCH_KEEP_TEMP:-0}"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if ! command -v hyperfine >/dev/null 2>&1; then
  echo "Installing hyperfine (apt)..."
  $SUDO apt-get install -y -qq hyperfine >/dev/null || { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq hyperfine >/dev/null; }
fi
command -v in-toto-verify >/dev/null 2>&1 || bash "$ROOT/build/install-prerequisites.sh"
command -v hyperfine >/dev/null 2>&1 || { echo "verify-bench: hyperfine is not available" >&2; exit 2; }
command -v in-toto-verify >/dev/null 2>&1 || { echo "verify-bench: in-toto-verify is not available" >&2; exit 2; }

TMP="$(mktemp -d)"
cleanup() { if [ "$KEEP" = "1" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT
mkdir -p "$RESULTS"

# Time the securebuild users get on this platform: `dotnet tool install SecureBuild.Tool` picks the Native AOT package
# on linux-x64 (the same `dotnet publish -r linux-x64` with PublishAot that `dotnet pack -r linux-x64` packs) and the
# framework-dependent SecureBuild.Tool.any everywhere else (the same as `dotnet build`).
# BENCH_VARIANT=framework-dependent times the latter on linux-x64 too.
RID="$(dotnet --info | sed -n 's/^ *RID: *//p' | head -1)"
VARIANT="${BENCH_VARIANT:-}"
if [ -z "$VARIANT" ]; then
  if [ "$RID" = "linux-x64" ]; then VARIANT=native; else VARIANT=framework-dependent; fi
fi
echo "Building securebuild ($VARIANT) and the generator (Release)..."
case "$VARIANT" in
  native)
    dotnet publish "$ROOT/src/SecureBuild.Cli/SecureBuild.Cli.csproj" -c Release -r "$RID" -o "$TMP/cli" -nologo -v q >"$TMP/build-cli.log" 2>&1 \
      || { cat "$TMP/build-cli.log"; exit 2; }
    [ -f "$TMP/cli/securebuild.dll" ] && { echo "verify-bench: the native publish produced securebuild.dll" >&2; exit 2; }
    VARIANT_TEXT="Native AOT $RID executable (dotnet publish -r $RID, PublishAot; what SecureBuild.Tool.$RID installs)" ;;
  framework-dependent)
    # UseAppHost: with PublishAot in the project, a build without -r writes no apphost (the installed tool gets a shim).
    dotnet build "$ROOT/src/SecureBuild.Cli/SecureBuild.Cli.csproj" -c Release -p:UseAppHost=true -o "$TMP/cli" -nologo -v q >"$TMP/build-cli.log" 2>&1 \
      || { cat "$TMP/build-cli.log"; exit 2; }
    VARIANT_TEXT="framework-dependent (dotnet build; what SecureBuild.Tool.any installs), started by its apphost" ;;
  *) echo "verify-bench: BENCH_VARIANT must be native or framework-dependent" >&2; exit 2 ;;
esac
dotnet build "$ROOT/build/bench/VerifyBenchGen/VerifyBenchGen.csproj" -c Release -o "$TMP/gen" -nologo -v q >"$TMP/build-gen.log" 2>&1 \
  || { cat "$TMP/build-gen.log"; exit 2; }
SB="$TMP/cli/securebuild"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "tools:   $("$SB" --version | head -1) (securebuild), $(in-toto-verify --version 2>&1 | head -1)"
echo "timed:   securebuild = $VARIANT_TEXT"

for n in $SIZES; do
  dir="$TMP/chain-$n"
  dotnet "$TMP/gen/VerifyBenchGen.dll" "$dir" "$n"
  ours="cd '$dir/final' && '$SB' verify -l ../root.layout -k ../owner.pub -t ed25519 -d ../links -q"
  ref="cd '$dir/final' && in-toto-verify -l ../root.layout -k ../owner.pub -t ed25519 --link-dir ../links -q"
  # Both must accept the chain, or the timings mean nothing.
  bash -c "$ours" >/dev/null || { echo "verify-bench: securebuild verify rejected the generated chain ($n)" >&2; exit 1; }
  bash -c "$ref" >/dev/null || { echo "verify-bench: in-toto-verify rejected the generated chain ($n)" >&2; exit 1; }
  runs=5
  [ "$n" -gt 20000 ] && runs=3
  runs="${BENCH_RUNS:-$runs}"
  hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$RESULTS/verify-$n.json" \
    -n "securebuild verify ($n)" "$ours" \
    -n "in-toto-verify ($n)" "$ref"
done

BENCH_VARIANT_TEXT="$VARIANT_TEXT" /usr/bin/python3 - "$RESULTS" $SIZES <<'EOF'
import json, os, statistics, sys
results, sizes = sys.argv[1], [int(s) for s in sys.argv[2:]]
rows = []
def stats(r):
    # hyperfine 1.x exports the mean user and system times (seconds); some versions export lists.
    u, s = r["user"], r["system"]
    cpu = (statistics.mean(u) if isinstance(u, list) else u) + (statistics.mean(s) if isinstance(s, list) else s)
    return r["mean"], (r["stddev"] or 0.0), cpu
for n in sizes:
    data = json.load(open(os.path.join(results, f"verify-{n}.json")))["results"]
    rows.append((n,) + stats(data[0]) + stats(data[1]))
print()
print(f"{'artifacts/link':>14} | {'securebuild verify':>19} | {'in-toto-verify':>19} | {'wall':>6} | {'cpu (user+sys)':>17} | {'cpu':>6} | ms per 1000 artifacts (ours / ref)")
print("-" * 125)
for n, o, od, oc, r, rd, rc in rows:
    per = 5 * n / 1000  # thousands of artifacts over the 5 links
    print(f"{n:>14,} | {o*1000:>9.0f} ± {od*1000:>5.0f} ms | {r*1000:>9.0f} ± {rd*1000:>5.0f} ms | {r/o:>5.1f}x | {oc*1000:>7.0f} / {rc*1000:>6.0f} ms | {rc/oc:>5.1f}x | {o*1000/per:>8.2f} / {r*1000/per:.2f}")
if len(rows) >= 2:
    a, b = rows[0], rows[-1]
    print(f"\nscaling {a[0]:,} -> {b[0]:,} artifacts ({b[0]/a[0]:.0f}x): securebuild {b[1]/a[1]:.1f}x wall ({b[3]/a[3]:.1f}x cpu), "
          f"in-toto-verify {b[4]/a[4]:.1f}x wall ({b[6]/a[6]:.1f}x cpu)")
print(f"securebuild timed: {os.environ.get('BENCH_VARIANT_TEXT', '?')}")
load = open("/proc/loadavg").read().split()[:3]
print(f"load average now {' '.join(load)} on {os.cpu_count()} cores (above the core count, wall times are noisy; the cpu ratio holds up better)")
print(f"goal: >= 20x at 10,000 artifacts and linear growth; hyperfine JSON in {results}")
EOF

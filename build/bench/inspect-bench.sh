#!/usr/bin/env bash
# Benchmark (not a test): `securebuild inspect` on a package of about 200 real assemblies (the shared framework's
# own, under lib/net10.0/, stored deflated) with links accounting for every one, against the issue's goal of < 3 s for a
# 50 MB package with 200 assemblies. Reports the package's size and the wall time of each run (hyperfine when installed,
# else `date`); never fails on timing.
#   build/bench/inspect-bench.sh [runs]      (default 5)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-5}"
work="${INSPECT_BENCH_DIR:-/tmp/securebuild-inspect-bench}"
rm -rf "$work" && mkdir -p "$work/pkg/lib/net10.0" "$work/links"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

framework="$(dirname "$(dotnet --list-runtimes | sed -n 's/^Microsoft.NETCore.App \([^ ]*\) \[\(.*\)\]$/\2\/\1\/x/p' | tail -1)")"
ls "$framework"/*.dll | head -200 | xargs -I{} cp {} "$work/pkg/lib/net10.0/"
cat > "$work/pkg/Bench.nuspec" <<XML
<?xml version="1.0"?><package><metadata><id>Bench</id><version>1.0.0</version><authors>b</authors><description>b</description></metadata></package>
XML
(cd "$work/pkg" && python3 -c "
import zipfile, os
with zipfile.ZipFile('../Bench.1.0.0.nupkg', 'w', zipfile.ZIP_DEFLATED) as z:
    for root, _, files in os.walk('.'):
        for f in sorted(files):
            p = os.path.join(root, f)[2:]
            z.write(p, p)
")

echo "== building the CLI"
dotnet build "$repo/src/SecureBuild.Cli" -c Release -m:1 -v q -nologo >/dev/null
cli="dotnet $repo/src/SecureBuild.Cli/bin/Release/net10.0/securebuild.dll"

# One link whose products are the assemblies, written by the CLI's own keygen and a minimal in-toto link (unsigned use).
python3 - "$work" <<'PY'
import hashlib, json, os, sys
work = sys.argv[1]
products = {}
for f in sorted(os.listdir(f"{work}/pkg/lib/net10.0")):
    products[f"bin/{f}"] = {"sha256": hashlib.sha256(open(f"{work}/pkg/lib/net10.0/{f}", "rb").read()).hexdigest()}
link = {"signatures": [], "signed": {"_type": "link", "name": "compile", "command": [], "materials": {}, "products": products, "byproducts": {}, "environment": {}}}
json.dump(link, open(f"{work}/links/compile.00000000.link", "w"), sort_keys=True)
PY

size=$(stat -c %s "$work/Bench.1.0.0.nupkg")
count=$(ls "$work/pkg/lib/net10.0" | wc -l)
echo "== package: $count assemblies, $((size / 1024 / 1024)) MB compressed, $(du -sm "$work/pkg" | cut -f1) MB uncompressed"
$cli inspect "$work/Bench.1.0.0.nupkg" --links "$work/links" | tail -1
if command -v hyperfine >/dev/null; then
  hyperfine --runs "$runs" --warmup 1 -i "$cli inspect $work/Bench.1.0.0.nupkg --links $work/links --format json"
else
  for i in $(seq "$runs"); do
    start=$(date +%s.%N); $cli inspect "$work/Bench.1.0.0.nupkg" --links "$work/links" --format json >/dev/null || true; end=$(date +%s.%N)
    echo "run $i: $(echo "$end - $start" | bc) s"
  done
fi

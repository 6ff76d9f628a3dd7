#!/usr/bin/env bash
# Benchmark (not a test): `securebuild inspect` on the issue's case, a package of 50 MB with 200 assemblies: 200 real
# assemblies (the shared frameworks' own, Microsoft.NETCore.App then Microsoft.AspNetCore.App, under lib/net10.0/),
# the runtime's native libraries (under runtimes/linux-x64/native/), all stored deflated as pack does, and, only if
# that is still below 50 MB, one incompressible content file making up the rest; with links accounting for every
# file. Goal from issue 15: < 3 s. Reports the package's size, the count of assemblies and the wall time of each run
# (hyperfine when installed, else `date`), and the same for a package of a quarter of the files to show the time
# grows linearly; never fails on timing.
#   build/bench/inspect-bench.sh [runs]      (default 5)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
runs="${1:-5}"
work="${INSPECT_BENCH_DIR:-/tmp/securebuild-inspect-bench}"
rm -rf "$work" && mkdir -p "$work/links"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

shared="$(dotnet --list-runtimes | sed -n 's/^Microsoft.NETCore.App \([^ ]*\) \[\(.*\)\]$/\2/p' | tail -1)"
netcore="$(ls -d "$shared"/*/ | tail -1)"
aspnet="$(ls -d "$shared/../Microsoft.AspNetCore.App"/*/ 2>/dev/null | tail -1 || true)"

# Writes $work/<name>.nupkg from the first $2 assemblies (and the natives, padding to $3 bytes) and a link whose
# products are every file, in $work/links-<name>/.
python3 - "$work" "$netcore" "${aspnet:-}" <<'PY'
import hashlib, json, os, sys, zipfile
work, netcore, aspnet = sys.argv[1:4]
dlls = sorted(os.path.join(netcore, f) for f in os.listdir(netcore) if f.endswith(".dll"))
if aspnet:
    dlls += sorted(os.path.join(aspnet, f) for f in os.listdir(aspnet) if f.endswith(".dll"))
natives = sorted(os.path.join(netcore, f) for f in os.listdir(netcore) if f.endswith(".so"))
nuspec = b'<?xml version="1.0"?><package><metadata><id>Bench</id><version>1.0.0</version><authors>b</authors><description>b</description></metadata></package>'

def write(name, assemblies, target):
    package = f"{work}/{name}.nupkg"
    products = {}
    with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("Bench.nuspec", nuspec)
        entries = [(f"lib/net10.0/{os.path.basename(p)}", p) for p in dlls[:assemblies]]
        entries += [(f"runtimes/linux-x64/native/{os.path.basename(p)}", p) for p in natives]
        for entry, path in entries:
            data = open(path, "rb").read()
            z.writestr(entry, data)
            products[f"bin/{entry}"] = {"sha256": hashlib.sha256(data).hexdigest()}
    size = os.path.getsize(package)
    if size < target:
        padding = os.urandom(target - size)
        with zipfile.ZipFile(package, "a", zipfile.ZIP_STORED) as z:
            z.writestr("content/padding.bin", padding)
        products["bin/content/padding.bin"] = {"sha256": hashlib.sha256(padding).hexdigest()}
    os.makedirs(f"{work}/links-{name}", exist_ok=True)
    link = {"signatures": [], "signed": {"_type": "link", "name": "compile", "command": [], "materials": {}, "products": products, "byproducts": {}, "environment": {}}}
    json.dump(link, open(f"{work}/links-{name}/compile.00000000.link", "w"), sort_keys=True)
    print(f"{name}: {min(assemblies, len(dlls))} assemblies, {len(natives)} native libraries, {os.path.getsize(package) / 1e6:.1f} MB")

if len(dlls) < 200:
    print(f"note: only {len(dlls)} assemblies in the shared frameworks; the package has fewer than 200")
write("Bench", 200, 50_000_000)
write("Quarter", 50, 12_500_000)
PY

echo "== building the CLI"
dotnet build "$repo/src/SecureBuild.Cli" -c Release -m:1 -v q -nologo >/dev/null
cli="dotnet $repo/src/SecureBuild.Cli/bin/Release/net10.0/securebuild.dll"

for name in Bench Quarter; do
  $cli inspect "$work/$name.nupkg" --links "$work/links-$name" | tail -1
done
if command -v hyperfine >/dev/null; then
  hyperfine --runs "$runs" --warmup 1 -i \
    -n "50 MB, 200 assemblies" "$cli inspect $work/Bench.nupkg --links $work/links-Bench --format json" \
    -n "a quarter" "$cli inspect $work/Quarter.nupkg --links $work/links-Quarter --format json"
else
  for name in Bench Quarter; do
    for i in $(seq "$runs"); do
      start=$(date +%s.%N); $cli inspect "$work/$name.nupkg" --links "$work/links-$name" --format json >/dev/null || true; end=$(date +%s.%N)
      echo "$name run $i: $(echo "$end - $start" | bc) s"
    done
  done
fi

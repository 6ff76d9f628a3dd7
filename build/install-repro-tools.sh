#!/usr/bin/env bash
# Installs Debian's reprotest and diffoscope-minimal, the reference tools the reproducibility tests
# cross-check `securebuild diff` against. Idempotent; quiet when they are there.
set -euo pipefail
need=()
command -v reprotest >/dev/null 2>&1 || need+=(reprotest)
command -v diffoscope >/dev/null 2>&1 || need+=(diffoscope-minimal)
if [ ${#need[@]} -gt 0 ]; then
  echo "Installing ${need[*]} (apt)..." >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
command -v reprotest >/dev/null && command -v diffoscope >/dev/null || { echo "reprotest/diffoscope could not be installed" >&2; exit 1; }

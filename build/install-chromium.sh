#!/usr/bin/env bash
# Installs Debian's chromium (headless browser the reproducibility report tests open the HTML report in).
# Idempotent; quiet when it is there. Prints the browser's path on success.
set -euo pipefail
find_chromium() { command -v chromium || command -v chromium-browser || true; }
if [ -z "$(find_chromium)" ]; then
  echo "Installing chromium (apt)..." >&2
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
fi
path="$(find_chromium)"
if [ -z "$path" ]; then
  echo "chromium could not be installed (apt-get install chromium failed)" >&2
  exit 1
fi
echo "$path"

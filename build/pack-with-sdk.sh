#!/usr/bin/env bash
# Dogfooding: packs one src/ project of this repository with SecureBuild.Sdk itself (the package build.sh packed
# plainly first and extracted to artifacts/bootstrap/SecureBuild.Sdk/; -p:SecureBuildDogfoodSdk=DIR for another).
# Its links and provenance go to src/<project>/bin/Release/attestations/. build.sh runs it for every package it ships;
# the integration tests run it in two clones and compare the packages byte for byte.
#   build/pack-with-sdk.sh PROJECT [dotnet pack arguments...]
# What makes the packages identical wherever the repository is cloned: SOURCE_DATE_EPOCH is the commit's time unless it
# is set already (package entry timestamps), and with it the SDK turns on ContinuousIntegrationBuild (source paths mapped to /_/).
# A signing key is required (SecureBuildSigningKey): a development-key signature would prove nothing.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
project="$1"; shift
epoch="${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || true)}"
# No node reuse: a node left running would keep the SecureBuild.Tasks assembly of an earlier bootstrap SDK loaded.
exec env ${epoch:+SOURCE_DATE_EPOCH=$epoch} MSBUILDDISABLENODEREUSE=1 \
  dotnet pack "$project" -c Release -nologo -v q -p:SecureBuildDogfood=true -p:SecureBuildRequireSigningKey=true "$@"

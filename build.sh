#!/usr/bin/env bash
# The main job: pack SecureBuild.Sdk and the securebuild tool into artifacts/packages/ with SecureBuild.Sdk itself
# (bootstrapped from a plain pack of the SDK), build the sample in samples/Hello with the SDK (build, pack, publish),
# verify the repository's own attestations and the sample's with the reference in-toto-verify, and print where they are.
#   ./build.sh          the main job
#   ./build.sh test     every test (same as build/test.sh and .ci/run)
set -euo pipefail
repo="$(cd "$(dirname "$0")" && pwd)"
cd "$repo"

if [ "${1:-}" = "test" ]; then
  exec bash build/test.sh
fi

bash build/install-prerequisites.sh

version=$(sed -n 's:.*<SecureBuildVersion[^>]*>\(.*\)</SecureBuildVersion>.*:\1:p' Directory.Build.props | head -1)
packages="$repo/artifacts/packages"
bootstrap="$repo/artifacts/bootstrap"
keys="$repo/artifacts/keys"

# Dogfooding: this repository's packages are built with SecureBuild.Sdk itself. First the SDK is packed plainly into
# artifacts/bootstrap/ (never shipped) and extracted there; Directory.Build.props imports it with -p:SecureBuildDogfood=true.
echo "== Bootstrap: packing SecureBuild.Sdk $version plainly into artifacts/bootstrap/ (not shipped)"
rm -rf "$bootstrap"
MSBUILDDISABLENODEREUSE=1 dotnet pack src/SecureBuild.Sdk/SecureBuild.Sdk.csproj -c Release -o "$bootstrap/feed" -v q -nologo
python3 -m zipfile -e "$bootstrap/feed/SecureBuild.Sdk.$version.nupkg" "$bootstrap/SecureBuild.Sdk"
mkdir -p "$keys"
if [ ! -f "$keys/build.key" ] || [ ! -f "$keys/owner.key" ]; then
  # The keys are made once, with a plain build of the tool (the SDK-built tool needs a signing key to exist first).
  echo "   making test keys in artifacts/keys/ with a plain build of the securebuild tool"
  MSBUILDDISABLENODEREUSE=1 dotnet build src/SecureBuild.Cli/SecureBuild.Cli.csproj -c Release -o "$bootstrap/tool" -v q -nologo
  [ -f "$keys/build.key" ] || dotnet "$bootstrap/tool/securebuild.dll" keygen --type ed25519 -o "$keys/build.key" >/dev/null
  [ -f "$keys/owner.key" ] || dotnet "$bootstrap/tool/securebuild.dll" keygen --type rsa -o "$keys/owner.key" >/dev/null
fi
export SecureBuildSigningKey="$keys/build.key"
# The plain build's outputs must not be reused: MSBuild's up-to-date check does not see that the SDK maps source paths,
# so the shipped assemblies would be the plain ones. The attestations of an earlier run go with them.
rm -rf src/*/bin src/*/obj "$packages" "$repo/artifacts/publish"

echo "== Packing SecureBuild.Sdk and SecureBuild.Tool $version with SecureBuild.Sdk into artifacts/packages/ (build/pack-with-sdk.sh)"
bash build/pack-with-sdk.sh src/SecureBuild.Sdk/SecureBuild.Sdk.csproj -o "$packages"
# The tool is RID-specific (.NET SDK 10): SecureBuild.Tool is a pointer package, SecureBuild.Tool.any the
# framework-dependent build for any platform, SecureBuild.Tool.linux-musl-x64 the same framework-dependent build for
# musl (which would otherwise get linux-x64's glibc executable), SecureBuild.Tool.linux-x64 the Native AOT executable
# (Native AOT cannot cross-compile, so it is packed only on linux-x64). Each pack publishes into a fresh directory of
# its own under artifacts/publish/ (the tool pack takes every file of its publish directory, stale ones included; in
# the repository, so the publish links name the files portably).
rids=(pointer any linux-musl-x64)
[ "$(dotnet --info | sed -n 's/^ *RID: *//p' | head -1)" = "linux-x64" ] && rids+=(linux-x64)
for rid in "${rids[@]}"; do
  rid_argument=(); [ "$rid" = pointer ] || rid_argument=(-r "$rid")
  bash build/pack-with-sdk.sh src/SecureBuild.Cli/SecureBuild.Cli.csproj "${rid_argument[@]}" -o "$packages" -p:PublishDir="$repo/artifacts/publish/$rid/"
done

echo "== Installing the securebuild tool into artifacts/tools/"
rm -rf artifacts/tools
dotnet tool install SecureBuild.Tool --version "$version" --tool-path artifacts/tools --add-source "$packages" >/dev/null
securebuild="$repo/artifacts/tools/securebuild"
# Which package the installer picked for this platform: a native tool is linked into the tool path, a
# framework-dependent one gets a shim (an apphost) there.
tool_package=$(cd "artifacts/tools/.store/securebuild.tool/$version" && ls -d securebuild.tool.* 2>/dev/null | head -1)
if [ -L "$securebuild" ]; then
  echo "   securebuild: native executable from ${tool_package:-?}"
else
  echo "   securebuild: framework-dependent, from ${tool_package:-?}"
fi

# The sample restores into its own package folder so a freshly packed SDK of the same version is
# always the one used (NuGet never re-extracts a version it already has).
export NUGET_PACKAGES="$repo/artifacts/sample-packages"
rm -rf "$NUGET_PACKAGES/securebuild.sdk"

sample="$repo/samples/Hello"
echo "== Building the sample with SecureBuild.Sdk (signing key artifacts/keys/build.key)"
rm -rf "$sample"/src/*/bin "$sample"/src/*/obj
(cd "$sample" && dotnet build Hello.sln -c Release -nologo -v q)
(cd "$sample" && dotnet pack src/Greeting/Greeting.csproj -c Release --no-build -nologo -v q)
(cd "$sample" && dotnet publish src/Hello/Hello.csproj -c Release --no-build -nologo -v q)

echo "== Verifying the attestations with in-toto-verify (Debian in-toto $(in-toto-verify --version 2>&1 | tail -1))"
status=0
for project in Greeting Hello; do
  links="$sample/src/$project/bin/Release/attestations"
  layout="$repo/artifacts/layouts/$project.layout"
  mkdir -p "$(dirname "$layout")"
  "$securebuild" layout new --link-dir "$links" --functionary "$keys/build.key.pub" --sign "$keys/owner.key" -o "$layout" >/dev/null
  if (cd "$sample" && in-toto-verify --layout "$layout" --layout-keys "$keys/owner.key.pub" --key-types rsa --link-dir "$links"); then
    echo "   $project: PASSED ($(ls "$links" | tr '\n' ' '))"
  else
    echo "   $project: FAILED"
    status=1
  fi
done

solution_layout="$repo/artifacts/layouts/Hello.sln.layout"
"$securebuild" layout new --link-dir "$sample/src/Greeting/bin/Release/attestations" --link-dir "$sample/src/Hello/bin/Release/attestations" \
  --link-root "$sample" --functionary "$keys/build.key.pub" --sign "$keys/owner.key" -o "$solution_layout" >/dev/null
if (cd "$sample" && in-toto-verify --layout "$solution_layout" --layout-keys "$keys/owner.key.pub" --key-types rsa --link-dir .); then
  echo "   Hello.sln (both projects in one layout, chained across projects): PASSED"
else
  echo "   Hello.sln: FAILED"
  status=1
fi

echo "== Verifying this repository's own attestations (its packages were built with SecureBuild.Sdk)"
own_link_dirs=()
for project in SecureBuild.Core SecureBuild.Tasks SecureBuild.Cli SecureBuild.Sdk; do
  own_link_dirs+=(--link-dir "src/$project/bin/Release/attestations")
done
own_layout="$repo/artifacts/layouts/SecureBuild.Sdk.repository.layout"
"$securebuild" layout new "${own_link_dirs[@]}" --link-root "$repo" --functionary "$keys/build.key.pub" --sign "$keys/owner.key" -o "$own_layout" >/dev/null
# Verified from the repository root: the layout names each project's steps by its link directory relative to it.
if output=$(in-toto-verify --layout "$own_layout" --layout-keys "$keys/owner.key.pub" --key-types rsa --link-dir . 2>&1); then
  echo "   in-toto-verify: PASSED"
else
  echo "$output"
  echo "   in-toto-verify: FAILED"
  status=1
fi
if output=$("$securebuild" verify -l "$own_layout" -k "$keys/owner.key.pub" -d . 2>&1); then
  echo "   securebuild verify: PASSED ($(ls src/*/bin/Release/attestations/*.link | wc -l) links, layout artifacts/layouts/SecureBuild.Sdk.repository.layout)"
else
  echo "$output"
  echo "   securebuild verify: FAILED"
  status=1
fi

echo "== Tracing a build with the installed tool: events attributed to MSBuild tasks by the trace logger"
# The check that the native (Native AOT) tool attributes: it ships the trace logger's assembly beside the executable
# (SB4235 when it is missing, SB4233/SB4234 when its log cannot be read); a user's binary log goes through
# StructuredLogger, which fills MSBuild's event args by reflection that trimming broke once (SB4213). A tiny project,
# built under the tool's trace.
trace_dir="$repo/artifacts/trace-check"
rm -rf "$trace_dir" && mkdir -p "$trace_dir/tiny"
printf '<Project Sdk="Microsoft.NET.Sdk"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>' > "$trace_dir/tiny/tiny.csproj"
echo 'namespace Tiny; public static class One { public static int Value => 1; }' > "$trace_dir/tiny/One.cs"
trace_output=$(cd "$trace_dir/tiny" && "$securebuild" trace --audit --out "$trace_dir/out" -- dotnet build -nologo -v q 2>&1); trace_status=$?
if echo "$trace_output" | grep -q 'SB410[02]'; then
  echo "$trace_output" | grep 'SB410[02]'
  echo "   securebuild trace: NOT CHECKED (tracing is not possible on this machine)"
else
  # The attestation's payload (base64 in the DSSE envelope) names the task of each attributed event.
  payload=$(sed -n 's/.*"payload":"\([^"]*\)".*/\1/p' "$trace_dir/out/build.trace.intoto.jsonl" 2>/dev/null | head -1 | base64 -d 2>/dev/null)
  if [ $trace_status -eq 0 ] && ! echo "$trace_output" | grep -q 'SB4213\|SB423[345]' && echo "$payload" | grep -q '"task":"Csc"'; then
    echo "   securebuild trace: PASSED ($(echo "$trace_output" | grep -o '[0-9]* of [0-9]* processes attributed.*'))"
  else
    echo "$trace_output"
    echo "   securebuild trace: FAILED (no event attributed to the Csc task)"
    status=1
  fi
fi

echo
echo "Packages:      artifacts/packages/ ($(cd "$packages" && ls *.nupkg | tr '\n' ' '))"
echo "               built with SecureBuild.Sdk itself (bootstrap: artifacts/bootstrap/, not shipped)"
echo "Attestations:  src/SecureBuild.{Core,Tasks,Cli,Sdk}/bin/Release/attestations/ (this repository's own: links and provenance)"
echo "               samples/Hello/src/Greeting/bin/Release/attestations/"
echo "               samples/Hello/src/Hello/bin/Release/attestations/"
echo "Layouts:       artifacts/layouts/ (SecureBuild.Sdk.repository, Greeting, Hello and Hello.sln; signed by artifacts/keys/owner.key)"
echo "Keys:          artifacts/keys/ (build.key signs the links; test keys, not for real use)"
exit $status

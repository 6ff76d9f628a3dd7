#!/usr/bin/env bash
# The main job: pack SecureBuild.Sdk and the securebuild tool into artifacts/packages/, build the
# sample in samples/Hello with the SDK (build, pack, publish), verify its attestations with the
# reference in-toto-verify, and print where they are.
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
echo "== Packing SecureBuild.Sdk and SecureBuild.Tool $version into artifacts/packages/"
dotnet pack src/SecureBuild.Sdk/SecureBuild.Sdk.csproj -c Release -o "$packages" -v q -nologo
# The tool is RID-specific (.NET SDK 10): SecureBuild.Tool is a pointer package, SecureBuild.Tool.any the
# framework-dependent build for any platform, SecureBuild.Tool.linux-musl-x64 the same framework-dependent build for
# musl (which would otherwise get linux-x64's glibc executable), SecureBuild.Tool.linux-x64 the Native AOT executable
# (Native AOT cannot cross-compile, so it is packed only on linux-x64). Each pack publishes into a fresh directory:
# the tool pack takes every file of its publish directory, stale ones included.
tool_publish="$(mktemp -d)"
trap 'rm -rf "$tool_publish"' EXIT
dotnet pack src/SecureBuild.Cli/SecureBuild.Cli.csproj -c Release -o "$packages" -v q -nologo -p:PublishDir="$tool_publish/pointer/"
dotnet pack src/SecureBuild.Cli/SecureBuild.Cli.csproj -c Release -r any -o "$packages" -v q -nologo -p:PublishDir="$tool_publish/any/"
dotnet pack src/SecureBuild.Cli/SecureBuild.Cli.csproj -c Release -r linux-musl-x64 -o "$packages" -v q -nologo -p:PublishDir="$tool_publish/linux-musl-x64/"
if [ "$(dotnet --info | sed -n 's/^ *RID: *//p' | head -1)" = "linux-x64" ]; then
  dotnet pack src/SecureBuild.Cli/SecureBuild.Cli.csproj -c Release -r linux-x64 -o "$packages" -v q -nologo -p:PublishDir="$tool_publish/linux-x64/"
fi

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

keys="$repo/artifacts/keys"
mkdir -p "$keys"
[ -f "$keys/build.key" ] || "$securebuild" keygen --type ed25519 -o "$keys/build.key" >/dev/null
[ -f "$keys/owner.key" ] || "$securebuild" keygen --type rsa -o "$keys/owner.key" >/dev/null
export SecureBuildSigningKey="$keys/build.key"

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

echo
echo "Packages:      artifacts/packages/ ($(cd "$packages" && ls *.nupkg | tr '\n' ' '))"
echo "Attestations:  samples/Hello/src/Greeting/bin/Release/attestations/"
echo "               samples/Hello/src/Hello/bin/Release/attestations/"
echo "Layouts:       artifacts/layouts/ (Greeting, Hello and Hello.sln; signed by artifacts/keys/owner.key)"
echo "Keys:          artifacts/keys/ (build.key signs the links; test keys, not for real use)"
exit $status

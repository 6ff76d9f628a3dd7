#!/usr/bin/env bash
# Runs every test project and prints one summary line: "N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash build/install-prerequisites.sh || { echo "prerequisites could not be installed"; exit 1; }

results="artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"
status=0
projects=()
for project in tests/*/*.csproj; do
  case "$(basename "$project" .csproj)" in Benchmarks|SecureBuild.TestSupport) continue ;; esac
  projects+=("$project")
done

# Build every test project once, in one MSBuild run (both cores, each src project once), then test each without
# building: a `dotnet test` that builds re-checks the whole src/ graph and restores again, 6-8 s a project. Where that
# build fails, the projects are tested as before, each building itself: their results decide, and the log names what
# does not compile.
solution="artifacts/test-projects.slnx"
{
  echo '<Solution>'
  for project in "${projects[@]}"; do echo "  <Project Path=\"../$project\" />"; done
  echo '</Solution>'
} >"$solution"
no_build=()
echo "=== build"
if dotnet build "$solution" -c Release -v q -nologo; then
  no_build=(--no-build)
fi

for project in "${projects[@]}"; do
  name=$(basename "$project" .csproj)
  echo "=== $name"
  if ! dotnet test "$project" -c Release "${no_build[@]}" --logger "trx;LogFileName=$name.trx" --results-directory "$results" -v q; then
    status=1
  fi
done

passed=0; failed=0; skipped=0; files=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); ab=$(get aborted)
  total=$(get total); executed=$(get executed)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0} + ${ab:-0}))
  skipped=$((skipped + ${total:-0} - ${executed:-0}))
done
if [ "$files" -eq 0 ]; then
  echo "no test results were written"
  status=1
fi
[ "$failed" -gt 0 ] && status=1
if [ "$failed" -gt 0 ]; then
  # Name each failed test with the first lines of its message, so the tail of the log says what failed.
  for trx in "$results"/*.trx; do
    python3 - "$trx" <<'PY' || true
import sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
root = ET.parse(sys.argv[1]).getroot()
for r in root.iter("{%s}UnitTestResult" % ns["t"]):
    if r.get("outcome") not in ("Failed", "Error", "Timeout", "Aborted"):
        continue
    msg = r.find("t:Output/t:ErrorInfo/t:Message", ns)
    text = (msg.text or "").strip().splitlines() if msg is not None else []
    print("FAILED " + r.get("testName", "?"))
    for line in text[:8]:
        print("    " + line[:300])
    st = r.find("t:Output/t:ErrorInfo/t:StackTrace", ns)
    for line in ((st.text or "").strip().splitlines() if st is not None else [])[:4]:
        print("    " + line.strip()[:300])
PY
  done
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit $status

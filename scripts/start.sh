#!/usr/bin/env bash
# `npm start`: the whole product at one address. Builds the webapp (SKIP_BUILD=1 to reuse the last
# build), then replaces this shell with the relay, which serves the API and the built webapp.
# PORT, DATA_DIR and the relay's other env settings pass straight through; a relative DATA_DIR or
# WEBAPP_DIR means relative to where you ran `npm start` (npm runs this from the repo root and
# says where you were in INIT_CWD), so it is made absolute before the relay starts elsewhere.
set -euo pipefail
caller=${INIT_CWD:-$PWD}
for name in DATA_DIR WEBAPP_DIR; do
  value=${!name:-}
  if [[ -n $value && $value != /* ]]; then
    export "$name=$caller/$value"
  fi
done
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh
if [[ ${SKIP_BUILD:-} != 1 ]]; then
  # The build's own output (file sizes, plugin timings) is for developers: it goes to a log, and
  # is printed only when the build fails.
  build_log=$(mktemp)
  started=$SECONDS
  printf 'Building the web app (SKIP_BUILD=1 reuses the last build)... '
  if npm run build -w @baton/webapp >"$build_log" 2>&1; then
    echo "done in $((SECONDS - started)) s."
    rm -f "$build_log"
  else
    echo "failed:"
    cat "$build_log"
    rm -f "$build_log"
    exit 1
  fi
fi

# The relay runs as one bundled JavaScript file, rebuilt when its sources changed (a second or
# less): tsx's loader would stay in memory for as long as the relay runs (decision 0013).
cd packages/relay
node --import tsx src/bundle-cli.ts --if-changed >/dev/null
# exec + `node` (not `npm run`/`npx`) so the recorded pid is the server itself and a signal sent
# to it reaches the relay, which shuts down gracefully.
exec node dist/main.mjs

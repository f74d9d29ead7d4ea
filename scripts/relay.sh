#!/usr/bin/env bash
# `npm run relay -- COMMAND`: the relay's admin commands (users and tokens; --help lists them).
# Works on a fresh clone: installs dependencies first when they are missing, as `npm start` does.
# A relative DATA_DIR means relative to where you ran npm (INIT_CWD), as for `npm start`.
set -euo pipefail
caller=${INIT_CWD:-$PWD}
if [[ -n ${DATA_DIR:-} && $DATA_DIR != /* ]]; then
  export DATA_DIR="$caller/$DATA_DIR"
fi
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh >&2

# exec + `node --import tsx`, as scripts/start.sh does: no npx, no second npm.
cd packages/relay
exec node --import tsx src/cli.ts "$@"

#!/usr/bin/env bash
# `npm run model-server`: the scripted model server, to try Baton without a model account
# (packages/relay/src/testing/model-server-cli.ts: PORT, default 11435, and MODEL_DELAY_MS).
# Works on a fresh clone: installs dependencies first when they are missing, as `npm start` does.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-deps.sh >&2

cd packages/relay
exec node --import tsx src/testing/model-server-cli.ts "$@"

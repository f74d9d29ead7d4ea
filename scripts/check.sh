#!/usr/bin/env bash
# `npm run check`: typecheck every workspace, lint, and check formatting. Runs every step even when
# one fails, so one run shows all problems; exits non-zero if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
export NO_COLOR=1
bin=node_modules/.bin
failed=()

step() {
  local name=$1
  shift
  echo "=== $name"
  if "$@"; then echo "--- $name: ok"; else
    echo "--- $name: FAILED"
    failed+=("$name")
  fi
}

bash scripts/ensure-deps.sh || exit 1
step "typecheck engine" "$bin/tsc" -p packages/engine/tsconfig.json
step "typecheck relay" "$bin/tsc" -p packages/relay/tsconfig.json
step "typecheck e2e" "$bin/tsc" -p e2e/tsconfig.json
step "typecheck webapp" npm run --silent typecheck -w @baton/webapp
step "lint" "$bin/eslint" --max-warnings 0 .
step "format" "$bin/prettier" --check --log-level warn .

if ((${#failed[@]} > 0)); then
  echo "check failed: ${failed[*]}"
  exit 1
fi
echo "check passed"

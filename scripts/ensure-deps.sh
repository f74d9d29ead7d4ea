#!/usr/bin/env bash
# Installs workspace dependencies only when they are missing or stale, so `npm start` / `npm test`
# work on a fresh clone without paying for an install on every run. Quiet on success.
set -euo pipefail
cd "$(dirname "$0")/.."

marker=node_modules/.package-lock.json # npm rewrites this after every install
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# One install at a time per checkout: `npm run model-server` in one terminal and `npm start` in
# another, both on a fresh clone, would otherwise run two installs into one node_modules. The
# second waits for the first, then finds nothing to do.
lock="${TMPDIR:-/tmp}/baton-ensure-deps-$(pwd | cksum | cut -d' ' -f1).lock"
exec 9>"$lock"
flock 9

if [[ ! -d node_modules ]]; then
  # Fresh clone: `npm ci` installs exactly what the lockfile says.
  if [[ -f package-lock.json ]]; then cmd=(npm ci); else cmd=(npm install); fi
elif [[ ! -f $marker || ( -f package-lock.json && package-lock.json -nt $marker ) ]]; then
  cmd=(npm install) # lockfile changed since the last install (e.g. after a pull)
else
  exit 0
fi

echo "ensure-deps: ${cmd[*]}"
if ! "${cmd[@]}" --no-audit --no-fund >"$log" 2>&1; then
  cat "$log" >&2
  echo "ensure-deps: '${cmd[*]}' failed" >&2
  exit 1
fi

#!/usr/bin/env bash
# `npm test [-- engine|relay|webapp|e2e]`: every test stage, or one group.
#   engine  engine vitest            relay  relay vitest (+ real PostgreSQL when it can be had)
#   webapp  webapp vitest + build    e2e    webapp build + Playwright journeys
# A failing stage does not stop the others; the exit code is non-zero if any failed. Each vitest or
# Playwright stage prints its own `N passed, N failed, N skipped` line; the last line of the run is
# the total, which CI reads. A stage that fails without reporting a failed test (a build error, a
# crash) adds one failure to the total, so the total never reads `0 failed` for a broken run.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export NO_COLOR=1
unset FORCE_COLOR

group=${1:-all}
case $group in
  all) stages=(engine relay webapp build e2e) ;;
  engine | relay) stages=("$group") ;;
  webapp) stages=(webapp build) ;;
  e2e) stages=(build e2e) ;;
  *)
    echo "usage: npm test [-- engine|relay|webapp|e2e]" >&2
    exit 2
    ;;
esac
wants() { [[ " ${stages[*]} " == *" $1 "* ]]; }

bash scripts/ensure-deps.sh
if wants e2e; then bash scripts/ensure-chromium.sh >/dev/null; fi

logs=$(mktemp -d)
stop_postgres() { bash scripts/postgres.sh stop || true; }
trap 'stop_postgres; rm -rf "$logs"' EXIT
if wants relay; then
  # Prints `export TEST_DATABASE_URL=...`, or nothing (relay's PostgreSQL tests then skip).
  eval "$(bash scripts/postgres.sh start)" || echo "postgres: setup failed; continuing without it" >&2
fi

bin=$root/node_modules/.bin # not npx: no npm wrapper output, and the exit code is the tool's
total_passed=0 total_failed=0 total_skipped=0 summary=()

# run_stage NAME DIR COMMAND...: runs COMMAND in DIR, tees its output, adds its counts to the totals.
run_stage() {
  local name=$1 dir=$2
  shift 2
  echo
  echo "=== $name ==="
  local started rc=0
  started=$(date +%s%N)
  (cd "$dir" && "$@") 2>&1 | tee "$logs/$name.log" || rc=$?
  local seconds passed=0 failed=0 skipped=0 line
  seconds=$(awk -v ns=$(($(date +%s%N) - started)) 'BEGIN { printf "%.1f", ns / 1e9 }')
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/$name.log" | tail -n 1 || true)
  if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed(,\ ([0-9]+)\ skipped)? ]]; then
    passed=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]} skipped=${BASH_REMATCH[4]:-0}
  fi
  if ((rc != 0 && failed == 0)); then failed=1; fi
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + failed))
  total_skipped=$((total_skipped + skipped))
  local verdict=ok
  ((rc == 0)) || verdict="FAILED (exit $rc)"
  summary+=("$(printf '%-7s %-16s %6ss' "$name" "$verdict" "$seconds")")
  echo "--- $name: $verdict in ${seconds}s"
}

if wants engine; then run_stage engine packages/engine "$bin/vitest" run; fi
if wants relay; then run_stage relay packages/relay "$bin/vitest" run; fi
if wants webapp; then
  if find apps/webapp/src -name '*.test.ts' -o -name '*.spec.ts' 2>/dev/null | grep -q .; then
    # The line reporter is given here, so the webapp's own vite config need not list it.
    run_stage webapp apps/webapp "$bin/vitest" run --reporter=default \
      --reporter="$root/scripts/vitest-line-reporter.ts"
  else
    summary+=("$(printf '%-7s %-16s' webapp 'no test files')")
  fi
fi
if wants build; then run_stage build . npm run build -w @baton/webapp; fi
if wants e2e; then run_stage e2e e2e "$bin/playwright" test; fi

stop_postgres # before the summary, so the total stays the last line
echo
echo "=== summary ==="
printf '%s\n' "${summary[@]}"
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
((total_failed == 0))

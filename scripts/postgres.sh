#!/usr/bin/env bash
# A real PostgreSQL for the relay's tests (usage: postgres.sh start|stop).
#   start: prints `export TEST_DATABASE_URL=...` on stdout (everything else goes to stderr), so a
#          caller can `eval "$(scripts/postgres.sh start)"`. Without a usable server it says the
#          relay's PostgreSQL tests will be skipped and still exits 0: PGlite tests run regardless.
#          The role may create databases, so the relay's bench can make (and drop) its own.
#   stop:  stops the cluster only if `start` started it (marker under .tmp/), so a developer's own
#          running server is left alone.
# A TEST_DATABASE_URL already in the environment wins: then this script does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

version=15 cluster=main port=5432
# A database per checkout (clone or worktree), so two checkouts testing at once on one server
# never empty each other's tables.
role=baton password=baton database="baton_test_$(pwd -P | sha256sum | cut -c1-12)"
url="postgres://$role:$password@127.0.0.1:$port/$database"
marker=.tmp/postgres-started-by-script

say() { echo "postgres: $*" >&2; }
skip() {
  say "$1; relay PostgreSQL tests will be skipped"
  exit 0
}
# psql as the postgres superuser over the local socket (peer auth); cd / avoids "could not change
# directory" warnings from the postgres user.
as_postgres() { (cd / && runuser -u postgres -- "$@"); }
sql() { as_postgres psql -p "$port" -v ON_ERROR_STOP=1 -tAq -c "$1"; }
cluster_online() { pg_lsclusters -h "$version" "$cluster" 2>/dev/null | grep -q online; }

start() {
  if [[ -n ${TEST_DATABASE_URL:-} ]]; then
    say "TEST_DATABASE_URL is already set; leaving it alone"
    return
  fi
  [[ $(id -u) -eq 0 ]] || skip "not root, cannot start a cluster"

  if [[ ! -x /usr/lib/postgresql/$version/bin/postgres ]] || ! command -v pg_ctlcluster >/dev/null; then
    say "installing Debian's postgresql with apt-get"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2 ||
      skip "apt-get install postgresql failed"
    [[ -x /usr/lib/postgresql/$version/bin/postgres ]] || skip "PostgreSQL $version is not installed"
  fi
  if ! pg_lsclusters -h "$version" "$cluster" 2>/dev/null | grep -q .; then
    pg_createcluster "$version" "$cluster" --port "$port" >&2 || skip "pg_createcluster failed"
  fi

  if ! cluster_online; then
    pg_ctlcluster "$version" "$cluster" start >&2 || skip "pg_ctlcluster $version $cluster start failed"
    mkdir -p .tmp && touch "$marker"
  fi

  # Idempotent: create the role and the database only when missing.
  if [[ $(sql "select 1 from pg_roles where rolname = '$role'") != 1 ]]; then
    sql "create role $role login createdb password '$password'" >&2
  elif [[ $(sql "select rolcreatedb from pg_roles where rolname = '$role'") != t ]]; then
    sql "alter role $role createdb" >&2
  fi
  if [[ $(sql "select 1 from pg_database where datname = '$database'") != 1 ]]; then
    sql "create database $database owner $role" >&2
  fi
  echo "export TEST_DATABASE_URL=$url"
}

stop() {
  if [[ -f $marker ]]; then
    pg_ctlcluster "$version" "$cluster" stop >&2 || say "stopping the cluster failed"
    rm -f "$marker"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac

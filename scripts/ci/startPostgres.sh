#!/usr/bin/env bash
# A throwaway PostgreSQL for the store's tests (server/db/*.test.ts run every store test on SQLite
# and on PostgreSQL) and for trying LOUPE_DATABASE_URL by hand. Debian's `postgresql` package, a
# cluster made with initdb in its own directory, owned by the unprivileged `postgres` user (initdb
# refuses root), listening on 127.0.0.1 only, on a random free port, trust auth (loopback only,
# test data only). Idempotent: a cluster that already answers is left alone and its URL printed.
#
#   scripts/ci/startPostgres.sh           # start (or check), print the URL, write it to $RUN/url
#   scripts/ci/startPostgres.sh --stop    # stop the cluster this script started
#   eval "$(scripts/ci/startPostgres.sh --export)"   # LOUPE_TEST_DATABASE_URL in this shell
#
# The URL is written to /run/loupe-pg/url, where server/db/testing/testDatabases.ts looks for it.
set -euo pipefail

RUN="${LOUPE_PG_RUN:-/run/loupe-pg}"
DATA="$RUN/data"
LOG="$RUN/postgres.log"
PG_USER=postgres
DB=loupe_test

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}

find_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then return 1; fi
  echo "$dir"
}

if ! BIN="$(find_bin)"; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y postgresql >/dev/null || { apt-get update >/dev/null && apt-get install -y postgresql >/dev/null; }
    BIN="$(find_bin)"
  else
    echo "PostgreSQL is not installed (apt-get install -y postgresql as root)" >&2
    exit 1
  fi
fi

if [ "${1:-}" = "--stop" ]; then
  if [ -f "$DATA/postmaster.pid" ]; then as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; fi
  rm -f "$RUN/url"
  exit 0
fi

mkdir -p "$RUN"
if [ "$(id -u)" = 0 ]; then chown "$PG_USER" "$RUN"; fi
# Test workers may call this at once: one of them sets the cluster up, the others wait and check.
exec 9>"$RUN/.lock"
flock 9

port_of_cluster() { sed -n 's/^port = \([0-9]*\).*/\1/p' "$DATA/postgresql.auto.conf" 2>/dev/null | tail -1; }

if [ ! -f "$DATA/PG_VERSION" ]; then
  as_pg "$BIN/initdb" -D "$DATA" -U "$PG_USER" --auth=trust --encoding=UTF8 --no-instructions >/dev/null
  # A free port now: the kernel's choice for an ephemeral bind, checked by binding it.
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    # The socket directory must be writable by the postgres user (the default /var/run/postgresql
    # may not exist without the Debian service).
    echo "unix_socket_directories = '$RUN'"
    # Test data: durability is not wanted, speed is (fsync off only ever in this throwaway cluster).
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "full_page_writes = off"
    echo "max_connections = 200"
  } >>"$DATA/postgresql.auto.conf"
fi
PORT="$(port_of_cluster)"

if ! as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  # 9>&-: the server must not inherit the lock, or it holds it for its whole life.
  as_pg "$BIN/pg_ctl" -D "$DATA" -l "$LOG" -w -t 30 start >/dev/null 9>&-
fi
for _ in $(seq 1 30); do
  if "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then break; fi
  sleep 0.5
done
if ! as_pg psql -h 127.0.0.1 -p "$PORT" -U "$PG_USER" -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'" postgres | grep -q 1; then
  as_pg psql -q -h 127.0.0.1 -p "$PORT" -U "$PG_USER" -c "CREATE DATABASE $DB" postgres
fi

URL="postgres://$PG_USER@127.0.0.1:$PORT/$DB"
echo "$URL" >"$RUN/url"
chmod 644 "$RUN/url"
if [ "${1:-}" = "--export" ]; then
  echo "export LOUPE_TEST_DATABASE_URL=$URL"
else
  echo "$URL"
fi

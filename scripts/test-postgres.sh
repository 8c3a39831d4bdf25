#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on loopback for the store tests, and print its URL.
#   eval "$(scripts/test-postgres.sh)"   # exports SCITUNE_TEST_POSTGRES_URL
# Installs Debian's postgresql package when no server binaries are found. Idempotent: a server
# already started by this script is reused.
set -euo pipefail
PORT="${SCITUNE_TEST_POSTGRES_PORT:-54329}"
DATA="${SCITUNE_TEST_POSTGRES_DIR:-/tmp/scitune-test-pg}"

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$bindir" ]; then
  apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd --system --no-create-home postgres
fi

if ! as_pg "$bindir/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA" && mkdir -p "$DATA"
    [ "$(id -u)" = 0 ] && chown postgres "$DATA"
    as_pg "$bindir/initdb" -D "$DATA" -U scitune --auth=trust >/dev/null
  fi
  as_pg "$bindir/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -c unix_socket_directories='$DATA' -c fsync=off" start >/dev/null
fi
echo "export SCITUNE_TEST_POSTGRES_URL=postgresql+psycopg://scitune@127.0.0.1:$PORT/postgres"

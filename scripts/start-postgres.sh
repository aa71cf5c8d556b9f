#!/usr/bin/env bash
# A throwaway PostgreSQL server for the generated projects' tests, on 127.0.0.1 only.
#
#   scripts/start-postgres.sh        # installs Debian's postgresql if needed, starts the cluster,
#                                    # prints TEST_DATABASE_URL=postgresql://... on its last line
#   scripts/start-postgres.sh stop   # stops it
#
# The cluster lives under $HOME/.cache/plugsmith/pg (or $PLUGSMITH_PG_DIR): data, socket, log, port. Running it again
# while the server is up only prints the URL again. initdb refuses to run as root, so as root the
# cluster belongs to the `postgres` user.
set -euo pipefail

ROOT="${PLUGSMITH_PG_DIR:-$HOME/.cache/plugsmith/pg}"
DATA="$ROOT/data"
SOCK="$ROOT/sock"
LOG="$ROOT/server.log"
PORT_FILE="$ROOT/port"
DB=plugsmith_test
USER_NAME=plugsmith

find_bin() {
  local name=$1
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return; fi
  local found
  found=$(ls -d /usr/lib/postgresql/*/bin/"$name" 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$found" ] && echo "$found"
}

ensure_installed() {
  if [ -n "$(find_bin initdb)" ] && [ -n "$(find_bin pg_ctl)" ]; then return; fi
  echo "installing postgresql with apt-get..." >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: initdb/pg_ctl are missing and installing them needs root" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
}

# Runs a command as the cluster's owner: ourselves, or `postgres` when we are root.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

url() {
  echo "TEST_DATABASE_URL=postgresql://$USER_NAME@127.0.0.1:$(cat "$PORT_FILE")/$DB"
}

running() {
  [ -f "$DATA/postmaster.pid" ] && as_owner "$PG_CTL" -D "$DATA" status >/dev/null 2>&1
}

ensure_installed
INITDB=$(find_bin initdb)
PG_CTL=$(find_bin pg_ctl)
PSQL=$(find_bin psql)

if [ "${1:-start}" = "stop" ]; then
  if [ -d "$DATA" ] && running; then
    as_owner "$PG_CTL" -D "$DATA" -m fast -w stop >&2
  else
    echo "not running" >&2
  fi
  exit 0
fi

mkdir -p "$ROOT" "$SOCK"
if [ "$(id -u)" -eq 0 ]; then
  # The owner must reach its directory: open the path down to it, and give it the cluster.
  dir="$ROOT"
  while [ "$dir" != "/" ]; do chmod o+x "$dir" 2>/dev/null || true; dir=$(dirname "$dir"); done
  chown -R postgres: "$ROOT"
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
  # Trust on 127.0.0.1 and the private socket only: a throwaway cluster for tests, never data.
  as_owner "$INITDB" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$LOG.initdb" 2>&1 \
    || { cat "$LOG.initdb" >&2; exit 1; }
fi

if ! running; then
  free_port >"$PORT_FILE"
  [ "$(id -u)" -eq 0 ] && chown postgres: "$PORT_FILE"
  as_owner "$PG_CTL" -D "$DATA" -l "$LOG" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $(cat "$PORT_FILE") -k $SOCK -c fsync=off -c max_connections=200" \
    start >&2 || { tail -n 20 "$LOG" >&2; exit 1; }
fi

PORT=$(cat "$PORT_FILE")
q() { as_owner "$PSQL" -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAc "$1"; }
if [ "$(q "SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME'")" != "1" ]; then
  q "CREATE ROLE $USER_NAME LOGIN CREATEDB" >&2
fi
if [ "$(q "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != "1" ]; then
  q "CREATE DATABASE $DB OWNER $USER_NAME" >&2
fi
url

#!/usr/bin/env bash
# The API's rate limit across worker processes (not run in CI; no thresholds enforced here).
#
# A generated `user_http` project is served by `uvicorn app.main:app --workers WORKERS`, with
# RATE_LIMIT_PER_MINUTE=LIMIT, on SQLite and, when DATABASE_URL is a postgresql:// URL, on
# PostgreSQL. One API key sends REQUESTS requests, each on a new connection (so the kernel
# hands them to every worker), and the script prints how many were let through. With SQLite
# each worker counts on its own (up to WORKERS × LIMIT); on PostgreSQL they share the count
# (LIMIT, plus per worker a batch, 1% of it, and what it lets through while its write is on
# the way). It also prints what sharing costs one process:
# the CPU time of a request at the limit's pace with its share of the writes.
#
#   bench/ratelimit.sh [WORKERS] [LIMIT] [REQUESTS]     # defaults: 4 workers, 100, 600
#
# Environment: PLUGSMITH (the binary; default: the cargo build in CARGO_TARGET_DIR),
# VENV (default $HOME/.cache/plugsmith/venv-bench-oauth), DATABASE_URL (a PostgreSQL server
# whose database the script may add a schema to, e.g. from scripts/start-postgres.sh).
set -euo pipefail

WORKERS=${1:-4}
LIMIT=${2:-100}
REQUESTS=${3:-600}
HERE=$(cd "$(dirname "$0")" && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/plugsmith/target}"
BIN=${PLUGSMITH:-$CARGO_TARGET_DIR/debug/plugsmith}
VENV=${VENV:-$HOME/.cache/plugsmith/venv-bench-oauth}
PG_URL=${DATABASE_URL:-}
unset DATABASE_URL

[ -n "${PLUGSMITH:-}" ] || (cd "$HERE/.." && cargo build -q --locked)
WORK=$(mktemp -d)
PROJECT="$WORK/bench"
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  SERVER_PID=""
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

"$BIN" new "$PROJECT" --yes --no-git --auth user_http --surface action >/dev/null 2>&1
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install -q -c "$PROJECT/constraints.txt" -e "$PROJECT" >/dev/null
cd "$PROJECT"
API_PATH=$("$VENV/bin/python" -c 'from app.routes import router
print(next(r.path for r in router.routes if "{" not in r.path))')

# A schema of its own on the PostgreSQL server, dropped at the end.
schema_url() {
  "$VENV/bin/python" - "$1" "$2" <<'PY'
import sys
from urllib.parse import urlencode
import psycopg
url, schema = sys.argv[1], sys.argv[2]
with psycopg.connect(url, autocommit=True) as conn:
    conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.execute(f"CREATE SCHEMA {schema}")
print(url + ("&" if "?" in url else "?") + urlencode({"options": f"-csearch_path={schema}"}))
PY
}

# Sends REQUESTS requests with one key, each on a new connection: "<let through> <429s>".
send() {
  "$VENV/bin/python" - "$PORT" "$API_PATH" "$1" "$REQUESTS" <<'PY'
import http.client, sys
port, path, key, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
counts = {}
for _ in range(n):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Authorization": f"Bearer {key}", "Connection": "close"})
    status = conn.getresponse().status
    conn.close()
    counts[status] = counts.get(status, 0) + 1
other = n - counts.get(200, 0) - counts.get(429, 0)
print(counts.get(200, 0), counts.get(429, 0), other)
PY
}

run() {  # run NAME DATABASE_URL
  export DATABASE_URL=$2 RATE_LIMIT_PER_MINUTE=$LIMIT HOST=127.0.0.1
  KEY=$("$VENV/bin/python" -m app.manage issue-key bench 2>/dev/null)
  PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$VENV/bin/python" -m uvicorn app.main:app --host 127.0.0.1 --port "$PORT" --workers "$WORKERS" \
    --no-access-log >"$WORK/server-$1.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$PORT/openapi.yaml" 2>/dev/null; then break; fi
    sleep 0.2
  done
  sleep 1  # every worker up
  read -r allowed refused other < <(send "$KEY")
  stop_server
  printf '%-12s %8s %8s %10s %10s %8s\n' "$1" "$WORKERS" "$LIMIT" "$allowed" "$refused" "$other"
}

echo "uvicorn --workers $WORKERS on 127.0.0.1; $REQUESTS requests with one API key, a new connection each"
printf '%-12s %8s %8s %10s %10s %8s\n' database workers limit "let through" "429" other
run sqlite "sqlite:///$WORK/app.db"
if [ -n "$PG_URL" ]; then
  run postgresql "$(schema_url "$PG_URL" bench_ratelimit)"
  # What sharing costs a process: the CPU time of a request from a caller at its limit, with its
  # share of the writes (one per 1% of the limit), through the limiter's own calls.
  DATABASE_URL="$(schema_url "$PG_URL" bench_ratelimit)" "$VENV/bin/python" - "$LIMIT" <<'PY'
import os, sys, time
from app.db import Database
from app.ratelimit import RequestLimiter
limit = int(sys.argv[1])
db = Database(os.environ["DATABASE_URL"])
shared = RequestLimiter(limit, db=db)
n = 2000
t = time.process_time()
for i in range(n):  # a caller at exactly its limit, on a made-up clock
    shared.hit("credential:x", 1000.0 + i * 60.0 / limit)
    if (i + 1) % shared.batch == 0:
        shared.flush()  # each batch its own write, as at a real caller's pace
share = (time.process_time() - t) / n
print(f"a request at its limit ({limit}/min, a write per {shared.batch}): "
      f"{share * 1e6:.0f} µs of CPU with its share of the writes; "
      f"one write: {share * shared.batch * 1e6:.0f} µs")
PY
  "$VENV/bin/python" - "$PG_URL" <<'PY'
import sys, psycopg
with psycopg.connect(sys.argv[1], autocommit=True) as conn:
    conn.execute("DROP SCHEMA IF EXISTS bench_ratelimit CASCADE")
PY
else
  echo "(set DATABASE_URL to a postgresql:// URL for the PostgreSQL row)"
fi

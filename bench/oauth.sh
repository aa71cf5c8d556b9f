#!/usr/bin/env bash
# Benchmark of a generated `oauth` project (not run in CI; no thresholds enforced here):
# requests/s and p50/p99 latency of an authenticated endpoint (bearer token looked up on every
# call) versus an unauthenticated one, on the same running uvicorn server on 127.0.0.1, and of
# the token endpoint (refresh_token grant, with rotation).
#
#   bench/oauth.sh [REQUESTS] [CONCURRENCY]       # defaults: 3000 requests, 8 connections
#
# Environment: PLUGSMITH (the binary; default: the cargo build in CARGO_TARGET_DIR or target/),
# VENV (default $HOME/.cache/plugsmith/venv-bench-oauth), DATABASE_URL (default: the project's SQLite).
# The goal from issue 3: token checking adds at most 20% to p50.
set -euo pipefail

REQUESTS=${1:-3000}
CONCURRENCY=${2:-8}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/plugsmith/target}"
BIN=${PLUGSMITH:-$CARGO_TARGET_DIR/debug/plugsmith}
VENV=${VENV:-$HOME/.cache/plugsmith/venv-bench-oauth}

[ -n "${PLUGSMITH:-}" ] || (cd "$REPO" && cargo build -q --locked)
WORK=$(mktemp -d)
PROJECT="$WORK/bench"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" new "$PROJECT" --yes --auth oauth \
  --redirect-uri https://chat.openai.com/aip/plugin-bench/oauth/callback >/dev/null
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install -q -e "$PROJECT" >/dev/null

cd "$PROJECT"
# The API's per-credential rate limit would answer most of this load with 429: lift it, the
# bench measures token checking, not the limiter.
export RATE_LIMIT_PER_MINUTE="${RATE_LIMIT_PER_MINUTE:-1000000000}"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORT HOST=127.0.0.1
[ -n "${DATABASE_URL:-}" ] && export DATABASE_URL

# One access token for the authenticated endpoint, one refresh chain per connection.
"$VENV/bin/python" - "$CONCURRENCY" >"$WORK/tokens" <<'PY'
import sys, time
from app import oauth_store
from app.db import Database
from app.settings import SCOPES, load_settings
s = load_settings()
db = Database(s.database_url, oauth_store.SCHEMA)
scope = " ".join(SCOPES)
def tokens():
    grant = oauth_store.create_grant(db, s.oauth_client_id, "bench", scope, time.time())
    return oauth_store.issue_tokens(db, s, grant_id=grant, client_id=s.oauth_client_id, user="bench", scope=scope, now=time.time())
print(tokens()["access_token"])
for _ in range(int(sys.argv[1])):
    print(tokens()["refresh_token"])
PY
ACCESS=$(head -n 1 "$WORK/tokens")
tail -n +2 "$WORK/tokens" >"$WORK/refresh"
CLIENT_ID=$(grep '^OAUTH_CLIENT_ID=' .env | cut -d= -f2-)
CLIENT_SECRET=$(grep '^OAUTH_CLIENT_SECRET=' .env | cut -d= -f2-)
API_PATH=$(grep -m 1 -E '^  "?/[^{"]*"?:$' openapi.yaml | tr -d ' :"')

# The generated app as `python -m app` serves it, plus /bench/open: the same list handler
# without authentication (bench/oauth_app.py).
BENCH_PATH="$API_PATH" "$VENV/bin/python" -m uvicorn --app-dir "$HERE" oauth_app:app \
  --host 127.0.0.1 --port "$PORT" --no-access-log --no-server-header >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do
  if curl -sf "http://127.0.0.1:$PORT/.well-known/oauth-protected-resource" >/dev/null 2>&1; then break; fi
  sleep 0.2
done

load() { "$VENV/bin/python" "$HERE/oauth_load.py" --port "$PORT" --concurrency "$CONCURRENCY" "$@"; }
META=$(load --requests "$REQUESTS" --path /.well-known/oauth-protected-resource)
UNAUTH=$(load --requests "$REQUESTS" --path /bench/open)
AUTH=$(load --requests "$REQUESTS" --path "$API_PATH" --token "$ACCESS")
TOKEN=$(load --requests $((REQUESTS / 5)) --warmup 0 --refresh "$WORK/refresh" \
  --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET")

python3 - "$META" "$UNAUTH" "$AUTH" "$TOKEN" "$API_PATH" "$CONCURRENCY" "${DATABASE_URL:-sqlite}" <<'PY'
import json, sys
meta, unauth, auth, token = (json.loads(a) for a in sys.argv[1:5])
path, conc, db = sys.argv[5], sys.argv[6], sys.argv[7].split("://")[0].split(":")[0]
rows = [
    ("GET /.well-known/oauth-protected-resource (static JSON)", meta),
    (f"GET {path} handler without auth (/bench/open)", unauth),
    (f"GET {path} with bearer token (scope checked)", auth),
    ("POST /oauth/token (refresh_token, rotation)", token),
]
print(f"uvicorn on 127.0.0.1, 1 process, {conc} keep-alive connections, database {db}")
print(f"{'endpoint':<60} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
for name, r in rows:
    print(f"{name:<60} {r['requests']:>8} {r['rps']:>8} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['errors']:>6}")
overhead = (auth["p50_ms"] / unauth["p50_ms"] - 1) * 100
print(f"token checking adds {overhead:.0f}% to p50 (goal: at most 20%)")
PY

#!/usr/bin/env bash
# Benchmark of a generated `oauth` project with the mcp surface (not run in CI; no thresholds
# enforced here): requests/s and p50/p99 latency of an authenticated endpoint versus an
# unauthenticated one, on the same running uvicorn server on 127.0.0.1, for the REST API and
# for MCP `tools/call`; of the token endpoint (refresh_token grant, with rotation); and the time
# of an MCP client's whole first connection (registration, authorize, login, consent, token).
# The authenticated endpoint is measured twice: with one token on every call (the server's
# token cache answers) and with a new token on every call (each one a database lookup: the
# cost before a token is cached).
# The rate limit is lifted (RATE_LIMIT_PER_MINUTE). On PostgreSQL the limiter writes a shared
# count each time a caller has used 1% of its limit (about 100 writes a minute for a caller at
# its limit, whatever the limit): none here. bench/ratelimit.sh measures those writes.
# The endpoints are measured ROUNDS times, alternating; each figure is the median of the rounds.
#
#   bench/oauth.sh [REQUESTS] [CONCURRENCY]       # defaults: 3000 requests, 8 connections
#
# Environment: PLUGSMITH (the binary; default: the cargo build in CARGO_TARGET_DIR or target/),
# VENV (default $HOME/.cache/plugsmith/venv-bench-oauth), DATABASE_URL (default: the project's
# SQLite), ROUNDS (default 5).
# The goal (issues 3 and 12): token checking adds at most 20% to p50, for REST and for MCP.
set -euo pipefail

REQUESTS=${1:-3000}
CONCURRENCY=${2:-8}
ROUNDS=${ROUNDS:-5}
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

"$BIN" new "$PROJECT" --yes --auth oauth --surface mcp,action \
  --redirect-uri https://chat.openai.com/aip/plugin-bench/oauth/callback >/dev/null
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install -q -c "$PROJECT/constraints.txt" -e "$PROJECT" >/dev/null

cd "$PROJECT"
# The API's per-credential rate limit would answer most of this load with 429: lift it, the
# bench measures token checking, not the limiter.
export RATE_LIMIT_PER_MINUTE="${RATE_LIMIT_PER_MINUTE:-1000000000}"
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORT HOST=127.0.0.1
[ -n "${DATABASE_URL:-}" ] && export DATABASE_URL

# One access token for the authenticated endpoint, one refresh chain per connection, and a
# fresh access token for every request of the uncached rounds.
"$VENV/bin/python" - "$CONCURRENCY" "$((REQUESTS * ROUNDS))" "$WORK" <<'PY'
import sys, time
from pathlib import Path
from app import oauth_store
from app.db import Database
from app.settings import MCP_URL, SCOPES, load_settings
s = load_settings()
db = Database(s.database_url)
scope = " ".join(SCOPES)
def tokens(resource=None):
    grant = oauth_store.create_grant(db, s.oauth_client_id, "bench", scope, time.time(), resource)
    return oauth_store.issue_tokens(db, s, grant_id=grant, client_id=s.oauth_client_id, user="bench", scope=scope, now=time.time())
work = Path(sys.argv[3])
(work / "access").write_text(tokens()["access_token"])
(work / "mcp").write_text(tokens(MCP_URL)["access_token"])
oauth_store.create_user(db, "signin", "bench-password-1", time.time())
(work / "refresh").write_text("\n".join(tokens()["refresh_token"] for _ in range(int(sys.argv[1]))))
(work / "fresh").write_text("\n".join(tokens()["access_token"] for _ in range(int(sys.argv[2]))))
PY
ACCESS=$(cat "$WORK/access")
MCP_TOKEN=$(cat "$WORK/mcp")
BASE_URL=$(sed -n 's/^base_url = "\(.*\)"$/\1/p' plugsmith.toml)
CALL='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_todos","arguments":{}}}'
CLIENT_ID=$(grep '^OAUTH_CLIENT_ID=' .env | cut -d= -f2-)
CLIENT_SECRET=$(grep '^OAUTH_CLIENT_SECRET=' .env | cut -d= -f2-)
API_PATH=$("$VENV/bin/python" -c 'from app.routes import router
print(next(r.path for r in router.routes if "{" not in r.path))')

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
: >"$WORK/results"
for round in $(seq "$ROUNDS"); do
  sed -n "$(( (round - 1) * REQUESTS + 1 )),$(( round * REQUESTS ))p" "$WORK/fresh" >"$WORK/fresh.$round"
  {
    echo "meta $(load --requests "$REQUESTS" --path /.well-known/oauth-protected-resource)"
    echo "open $(load --requests "$REQUESTS" --path /bench/open)"
    echo "auth $(load --requests "$REQUESTS" --path "$API_PATH" --token "$ACCESS")"
    echo "fresh $(load --requests "$REQUESTS" --path "$API_PATH" --tokens "$WORK/fresh.$round")"
    echo "mcpopen $(load --requests "$REQUESTS" --path /bench/mcp-open --post-json "$CALL")"
    echo "mcpauth $(load --requests "$REQUESTS" --path /mcp --post-json "$CALL" --token "$MCP_TOKEN")"
  } >>"$WORK/results"
done
echo "token $(load --requests $((REQUESTS / 5)) --warmup 0 --refresh "$WORK/refresh" \
  --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET")" >>"$WORK/results"
# Logins hash a password (Argon2id, 64 MiB): a few connections, a few rounds.
echo "signin $(load --requests 20 --concurrency 2 --warmup 0 --sign-in signin:bench-password-1 --base-url "$BASE_URL")" >>"$WORK/results"

python3 - "$WORK/results" "$API_PATH" "$CONCURRENCY" "$ROUNDS" "${DATABASE_URL:-sqlite}" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, result = line.split(" ", 1)
    runs.setdefault(name, []).append(json.loads(result))
path, conc, rounds, db = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split("://")[0].split(":")[0]
def median(name):
    rs = runs[name]
    return {key: statistics.median(r[key] for r in rs) if key != "errors" else sum(r[key] for r in rs)
            for key in rs[0]}
rows = [
    ("GET /.well-known/oauth-protected-resource (static JSON)", median("meta")),
    (f"GET {path} handler without auth (/bench/open)", median("open")),
    (f"GET {path} with bearer token (scope checked)", median("auth")),
    (f"GET {path} with a new token on every call", median("fresh")),
    ("POST /mcp tools/call get_todos without the gate (/bench/mcp-open)", median("mcpopen")),
    ("POST /mcp tools/call get_todos with bearer token (audience, scope)", median("mcpauth")),
    ("POST /oauth/token (refresh_token, rotation)", median("token")),
    ("MCP client sign-in: register, authorize, login, consent, token", median("signin")),
]
print(f"uvicorn on 127.0.0.1, 1 process, {conc} keep-alive connections, database {db}; "
      f"median of {rounds} rounds")
print(f"{'endpoint':<78} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}")
for name, r in rows:
    print(f"{name:<78} {r['requests']:>8g} {r['rps']:>8g} {r['p50_ms']:>8g} {r['p99_ms']:>8g} {r['errors']:>6}")
base = rows[1][1]["p50_ms"]
print(f"token checking adds {(rows[2][1]['p50_ms'] / base - 1) * 100:.0f}% to p50 (goal: at most 20%); "
      f"{(rows[3][1]['p50_ms'] / base - 1) * 100:.0f}% with a new token on every call")
mcp_base = rows[4][1]["p50_ms"]
print(f"on MCP, the gate (origin, token, audience, scope) adds {(rows[5][1]['p50_ms'] / mcp_base - 1) * 100:.0f}% to "
      f"tools/call's p50 (goal: at most 20%)")
PY

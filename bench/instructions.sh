#!/usr/bin/env bash
# What the token check costs, in CPU instructions, which do not move with the machine's speed
# the way bench/oauth.sh's latencies do (not run in CI; no thresholds enforced here).
#
# Serves a generated `oauth` project with the mcp surface as bench/oauth.sh does (uvicorn, one
# process, 127.0.0.1, bench/oauth_app.py's open copies of the list endpoint and of /mcp), under
# valgrind's callgrind, and counts the instructions the server runs per request, one request at
# a time over one keep-alive connection: the endpoint without and with its bearer token check,
# and MCP `tools/call` without and with the gate in front of the SDK. Counting is on only while
# the requests of a row are sent (start-up and the client are not counted); each row is counted
# twice, alternating, and the figures of a row repeat to within about 0.5%.
#
#   bench/instructions.sh [REQUESTS]       # default: 100 requests per row and round
#
# Environment: PLUGSMITH (the binary; default: the cargo build in CARGO_TARGET_DIR),
# STACK_DIR (render from a folder of templates instead of the binary's own, e.g. another
# checkout's templates/python, for an A/B), VENV (default $HOME/.cache/plugsmith/venv-bench-oauth).
# Needs valgrind (Debian: apt-get install valgrind).
set -euo pipefail

REQUESTS=${1:-100}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/plugsmith/target}"
BIN=${PLUGSMITH:-$CARGO_TARGET_DIR/debug/plugsmith}
VENV=${VENV:-$HOME/.cache/plugsmith/venv-bench-oauth}
for tool in valgrind callgrind_control curl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed (apt-get install valgrind curl)" >&2; exit 2; }
done

[ -n "${PLUGSMITH:-}" ] || (cd "$REPO" && cargo build -q --locked)
WORK=$(mktemp -d)
PROJECT="$WORK/bench"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" new "$PROJECT" --yes --no-git --auth oauth --surface mcp,action \
  ${STACK_DIR:+--stack-dir "$STACK_DIR"} \
  --redirect-uri https://chat.openai.com/aip/plugin-bench/oauth/callback >/dev/null
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install -q -c "$PROJECT/constraints.txt" -e "$PROJECT" >/dev/null

cd "$PROJECT"
export RATE_LIMIT_PER_MINUTE=1000000000  # as in bench/oauth.sh: the limiter's 429s lifted
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORT HOST=127.0.0.1

# An access token for the REST API and one for the MCP endpoint (RFC 8707 resource).
"$VENV/bin/python" - "$WORK" <<'PY'
import sys, time
from pathlib import Path
from app import oauth_store
from app.db import Database
from app.settings import MCP_URL, SCOPES, load_settings
s = load_settings()
db = Database(s.database_url)
scope = " ".join(SCOPES)
def token(resource=None):
    grant = oauth_store.create_grant(db, s.oauth_client_id, "bench", scope, time.time(), resource)
    return oauth_store.issue_tokens(db, s, grant_id=grant, client_id=s.oauth_client_id, user="bench", scope=scope, now=time.time())["access_token"]
work = Path(sys.argv[1])
(work / "access").write_text(token())
(work / "mcp").write_text(token(MCP_URL))
PY
API_PATH=$("$VENV/bin/python" -c 'from app.routes import router
print(next(r.path for r in router.routes if "{" not in r.path))')

BENCH_PATH="$API_PATH" valgrind --tool=callgrind --instr-atstart=no \
  --callgrind-out-file="$WORK/callgrind.%p" \
  "$VENV/bin/python" -m uvicorn --app-dir "$HERE" oauth_app:app \
  --host 127.0.0.1 --port "$PORT" --no-access-log --no-server-header >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 600); do
  if curl -sf "http://127.0.0.1:$PORT/.well-known/oauth-protected-resource" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
callgrind_control --instr=on "$SERVER_PID" >/dev/null 2>&1

send() {  # send ROW COUNT: COUNT requests of ROW, one at a time on one connection
  "$VENV/bin/python" - "$PORT" "$API_PATH" "$WORK" "$1" "$2" <<'PY'
import http.client, sys
from pathlib import Path
port, path, work, row, count = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4], int(sys.argv[5])
call = b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_todos","arguments":{}}}'
mcp = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
       "MCP-Protocol-Version": "2025-06-18"}
requests = {
    "open": ("GET", "/bench/open", None, {}),
    "auth": ("GET", path, None, {"Authorization": "Bearer " + (work / "access").read_text()}),
    "mcpopen": ("POST", "/bench/mcp-open", call, mcp),
    "mcpauth": ("POST", "/mcp", call, {**mcp, "Authorization": "Bearer " + (work / "mcp").read_text()}),
}
connection = http.client.HTTPConnection("127.0.0.1", int(port), timeout=600)
for name in requests if row == "warmup" else [row]:
    method, target, body, headers = requests[name]
    for _ in range(count):
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"error: {name}: {method} {target} answered {response.status}")
PY
}

# The first requests of each kind fill caches (imports, compiled patterns, the token cache).
send warmup 20
: >"$WORK/results"
for _ in 1 2; do
  for row in open auth mcpopen mcpauth; do
    callgrind_control --zero "$SERVER_PID" >/dev/null 2>&1
    send "$row" "$REQUESTS"
    callgrind_control --dump "$SERVER_PID" >/dev/null 2>&1
    dump=$(ls -t "$WORK"/callgrind.* | head -1)
    echo "$row $(awk '/^(summary|totals):/ { print $2; exit }' "$dump")" >>"$WORK/results"
    rm -f "$WORK"/callgrind.*
  done
done

python3 - "$WORK/results" "$API_PATH" "$REQUESTS" <<'PY'
import sys
counts = {}
for line in open(sys.argv[1]):
    row, total = line.split()
    counts.setdefault(row, []).append(int(total) / int(sys.argv[3]))
path = sys.argv[2]
rows = [
    ("open", f"GET {path} handler without auth (/bench/open)"),
    ("auth", f"GET {path} with bearer token (scope checked)"),
    ("mcpopen", "POST /mcp tools/call get_todos without the gate (/bench/mcp-open)"),
    ("mcpauth", "POST /mcp tools/call get_todos with bearer token (audience, scope)"),
]
print(f"uvicorn on 127.0.0.1 under callgrind, 1 process, 1 connection; instructions per request, "
      f"{sys.argv[3]} requests a row, two rounds")
print(f"{'endpoint':<70} {'round 1':>11} {'round 2':>11}")
for key, name in rows:
    print(f"{name:<70} " + " ".join(f"{c:>11,.0f}" for c in counts[key]))
mean = {key: sum(c) / len(c) for key, c in counts.items()}
print(f"token checking adds {(mean['auth'] / mean['open'] - 1) * 100:.1f}% to a request's instructions "
      f"({mean['auth'] - mean['open']:,.0f}); on MCP the gate adds "
      f"{(mean['mcpauth'] / mean['mcpopen'] - 1) * 100:.1f}% ({mean['mcpauth'] - mean['mcpopen']:,.0f})")
PY

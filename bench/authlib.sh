#!/usr/bin/env bash
# authlib's OAuth 2 server against the behaviours the generated authorization server's tests
# check: probes.py prints what authlib does for each one (docs/authlib.md reads them), and
# proto.py times 2,000 refresh-token requests through authlib's AuthorizationServer beside a
# hand-written handler with the same storage. Prints figures; enforces nothing.
#
#   bash bench/authlib.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VENV="${PLUGSMITH_CACHE:-$HOME/.cache/plugsmith}/venv-authlib"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q authlib==1.9.10 joserfc==1.8.0 cryptography==50.0.2
cd "$HERE/authlib"
"$VENV/bin/python" probes.py
echo
"$VENV/bin/python" proto.py

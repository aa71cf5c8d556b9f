#!/usr/bin/env bash
# The external suite (issue 5): generated projects checked by tools nobody here wrote —
# authlib's OAuth client, the official MCP SDK's client, headless Chromium, schemathesis,
# openapi-spec-validator, Spectral with the OWASP ruleset, detect-secrets, and a bounded load run.
#
# Installs what it needs itself: a venv with external/requirements.txt under
# ~/.cache/plugsmith/external-venv, the npm tools of external/package-lock.json with `npm ci`,
# Debian's `chromium` with apt-get when it is missing (as root). Then builds plugsmith, generates
# one project per auth mode the python stack offers (`plugsmith list`) into a temporary folder,
# installs each into its own venv, and runs the suite with pytest. Extra arguments go to pytest.
#
# Exits non-zero on any failure; under CI=true a missing tool is an error, never a skip.
# Every server listens on 127.0.0.1 only. TEST_DATABASE_URL (postgresql://) adds a run of the
# oauth project on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
started=$(date +%s)

cache="${PLUGSMITH_CACHE:-$HOME/.cache/plugsmith}"
mkdir -p "$cache"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"
python=${PYTHON:-python3}
venv="$cache/external-venv"
redirect_uri="https://chat.openai.com/aip/plugin-00000000-0000-0000-0000-000000000000/oauth/callback"

say() { printf '== external: %s\n' "$*" >&2; }
die() { printf 'error: external: %s\n' "$*" >&2; exit 2; }

"$python" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
  || die "the suite needs Python 3.11+ as $python"

# --- Python tools ------------------------------------------------------------------------
if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  "$python" -m venv "$venv"
fi
say "installing external/requirements.txt"
"$venv/bin/pip" install -q --disable-pip-version-check -r external/requirements.txt

# --- npm tools -----------------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian's nodejs and npm"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed (Spectral, playwright-core)"
fi
stamp=external/node_modules/.plugsmith-lock
if ! cmp -s external/package-lock.json "$stamp" 2>/dev/null; then
  say "npm ci (external/package-lock.json)"
  # --ignore-scripts: none of the tools needs an install script (playwright-core downloads no
  # browser; the Debian one is used), and a telemetry post-install must not run.
  (cd external && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  cp external/package-lock.json "$stamp"
fi

# --- Chromium ------------------------------------------------------------------------------
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  [ "$(id -u)" = 0 ] || die "$CHROMIUM is missing and only root can apt-get install chromium"
  say "installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  [ -x "$CHROMIUM" ] || die "apt-get install chromium did not provide $CHROMIUM"
fi

# --- plugsmith and the generated projects --------------------------------------------------
say "cargo build"
cargo build --locked --quiet
plugsmith="$CARGO_TARGET_DIR/debug/plugsmith"

modes=$("$plugsmith" list | sed -n 's/^ *python .*(auth: \([^;)]*\).*$/\1/p' | tr -d ' ')
[ -n "$modes" ] || die "could not read the python stack's auth modes from \`plugsmith list\`"
export EXTERNAL_MODES="$modes"
say "the python stack offers: $modes"

work=$(mktemp -d "${TMPDIR:-/tmp}/plugsmith-external.XXXXXX")
trap 'rm -rf "$work"' EXIT
export EXTERNAL_PROJECTS="$work"

pids=()
for mode in ${modes//,/ }; do
  extra=()
  [ "$mode" = oauth ] && extra=(--redirect-uri "$redirect_uri")
  # Every project serves an MCP endpoint beside its GPT Action (the SDK client checks it).
  "$plugsmith" new "$work/$mode" --yes --auth "$mode" --surface mcp,action "${extra[@]}" >"$work/new-$mode.log" 2>&1 \
    || { cat "$work/new-$mode.log" >&2; die "plugsmith new --auth $mode failed"; }
  # Each project in its own venv, as its README says; installed side by side.
  ( "$python" -m venv "$work/$mode/.venv" \
    && "$work/$mode/.venv/bin/pip" install -q --disable-pip-version-check \
         -c "$work/$mode/constraints.txt" -e "$work/$mode[test]" ) \
    >"$work/pip-$mode.log" 2>&1 &
  pids+=("$!:$mode")
done
for entry in "${pids[@]}"; do
  if ! wait "${entry%%:*}"; then
    cat "$work/pip-${entry#*:}.log" >&2
    die "installing the ${entry#*:} project failed"
  fi
done
say "generated and installed: $(ls "$work" | grep -v '\.log$' | tr '\n' ' ')"

# --- PostgreSQL for the oauth project ------------------------------------------------------
# With TEST_DATABASE_URL set, the oauth project also runs on it. Without, when the stack offers
# oauth and the repository has scripts/start-postgres.sh, a throwaway cluster of this suite's
# own (not the one scripts/test.sh uses) is started on 127.0.0.1 and stopped at the end.
pg_dir="$cache/pg-external"
if [ -z "${TEST_DATABASE_URL:-}" ] && [[ ",$modes," == *,oauth,* ]] && [ -x scripts/start-postgres.sh ]; then
  say "starting PostgreSQL (scripts/start-postgres.sh, $pg_dir)"
  url=$(PLUGSMITH_PG_DIR="$pg_dir" scripts/start-postgres.sh | tail -n 1)
  export "${url?}"
  trap 'rm -rf "$work"; PLUGSMITH_PG_DIR="$pg_dir" scripts/start-postgres.sh stop >/dev/null 2>&1 || true' EXIT
fi
case "${TEST_DATABASE_URL:-}" in
  "") say "oauth on SQLite only (no TEST_DATABASE_URL)" ;;
  postgresql://*) say "oauth also on PostgreSQL" ;;
  *) die "TEST_DATABASE_URL must be a postgresql:// URL" ;;
esac

# --- the suite -----------------------------------------------------------------------------
status=0
(cd external && "$venv/bin/python" -m pytest "$@") || status=$?
say "took $(( $(date +%s) - started ))s; screenshots (oauth) under $repo/target/screenshots/"
exit "$status"

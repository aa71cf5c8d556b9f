#!/usr/bin/env bash
# Lines of the generated Python app (app/*.py, tests excluded) per auth mode, with and without
# the mcp surface, beside the goals of issues 10 and 12. Prints a table; enforces nothing.
#
#   bench/lines.sh
#
# PLUGSMITH: the binary (default: the cargo build in CARGO_TARGET_DIR).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/plugsmith/target}"
BIN=${PLUGSMITH:-$CARGO_TARGET_DIR/debug/plugsmith}
[ -n "${PLUGSMITH:-}" ] || (cd "$HERE/.." && cargo build -q --locked)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

declare -A goal=([none]=350 [service_http]=450 [user_http]=700 [oauth]=1500)
printf '%-14s %12s %12s %8s %14s\n' mode "app (action)" "app (+mcp)" goal "tests (+mcp)"
for mode in none service_http user_http oauth; do
  counts=()
  for surfaces in action mcp,action; do
    dir="$WORK/$mode-${surfaces/,/-}"
    "$BIN" new "$dir" --yes --no-git --auth "$mode" --surface "$surfaces" >/dev/null 2>&1
    counts+=("$(cat "$dir"/app/*.py | wc -l)")
  done
  tests=$(cat "$dir"/tests/*.py | wc -l)
  g=${goal[$mode]}
  [ "$mode" = oauth ] && g="$g / 2200"
  printf '%-14s %12s %12s %8s %14s\n' "$mode" "${counts[0]}" "${counts[1]}" "$g" "$tests"
done
echo "goals: issue 10 (app of each mode); issue 12 (oauth + mcp: 2,200)"

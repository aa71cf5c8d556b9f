#!/usr/bin/env bash
# Runs every test of plugsmith on a fresh machine: installs what the tests need (a Python venv
# with PyYAML, the generated projects' packages, a throwaway PostgreSQL server when the script
# for it exists), then formatting, lints, `cargo test`, and the external suite
# (scripts/external.sh: generated projects checked by tools nobody here wrote).
# Build output and environments live under ~/.cache/plugsmith so later runs are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${PLUGSMITH_CACHE:-$HOME/.cache/plugsmith}"
mkdir -p "$cache"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$cache/target}"

python=${PYTHON:-python3}
"$python" -c 'import sys; assert sys.version_info >= (3, 11), sys.version' \
  || { echo "error: the tests need Python 3.11+ as $python" >&2; exit 2; }

# A venv for the tests that read generated files with Python's own YAML reader.
if [ ! -x "$cache/test-venv/bin/python" ]; then
  "$python" -m venv "$cache/test-venv"
fi
"$cache/test-venv/bin/pip" install -q --disable-pip-version-check pyyaml==6.0.4
export PLUGSMITH_TEST_PYTHON="$cache/test-venv/bin/python"

# PostgreSQL for the generated OAuth server's suite.
if [ -x scripts/start-postgres.sh ]; then
  url=$(scripts/start-postgres.sh | tail -n 1)
  export "${url?}"
  trap 'scripts/start-postgres.sh stop >/dev/null 2>&1 || true' EXIT
fi

cargo fmt --all -- --check
cargo clippy --all-targets --all-features --locked -- -D warnings
cargo test --locked --features tool-tests
bash scripts/external.sh

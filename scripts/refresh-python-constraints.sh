#!/usr/bin/env bash
# Refreshes templates/python/files/constraints.txt: every package, direct or transitive, that a
# generated Python project of any auth mode and surface installs, at the version pip resolves
# today for the pins in templates/python/stack.toml. Generated projects install with
# `pip install -c constraints.txt`, so a project generated today installs the same tomorrow.
#
#   scripts/refresh-python-constraints.sh      # then review the diff and commit it
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Every requirement the stack can write into a project's pyproject.toml.
"$python" - templates/python/stack.toml >"$work/requirements.txt" <<'PY'
import sys, tomllib
stack = tomllib.load(open(sys.argv[1], "rb"))
project = stack["project_file"]["document"]["project"]
reqs = list(project["dependencies"])
for extra in project.get("optional-dependencies", {}).values():
    reqs += extra
for append in stack["project_file"].get("append", []):
    reqs += append["values"]
print("\n".join(sorted(set(reqs))))
PY
"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check -r "$work/requirements.txt"
{
  echo "# Every package a generated project installs, pinned (pip install -c constraints.txt)."
  echo "# Made by plugsmith's scripts/refresh-python-constraints.sh; refresh it there, not here."
  "$work/venv/bin/pip" freeze --disable-pip-version-check --exclude-editable | LC_ALL=C sort -f -t= -k1,1
} >templates/python/files/constraints.txt
echo "wrote templates/python/files/constraints.txt ($(grep -vc '^#' templates/python/files/constraints.txt) packages)" >&2

"""The code stays as clean as it was generated: `ruff check`, `ruff format --check` and
`mypy --strict` (configured in pyproject.toml) pass. Run them yourself the same way."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def tool(name: str) -> str:
    """The tool beside this Python (the project's venv), else on PATH; missing is a failure."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    assert found, f"{name} is not installed: pip install -c constraints.txt -e '.[test]'"
    return found


@pytest.mark.parametrize(
    "command",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_code_is_clean(command):
    done = subprocess.run(
        [tool(command[0]), *command[1:]],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]

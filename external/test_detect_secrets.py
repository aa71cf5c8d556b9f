"""detect-secrets (Yelp) over the git-tracked files of each generated project: no findings.
A control run over all files must find the project's own `.env` secrets, so a silent scanner
cannot pass the test."""

from __future__ import annotations

import json

import pytest

from conftest import ALL_MODES
from support import run, venv_bin

pytestmark = pytest.mark.tool("detect-secrets")


def scan(path, *args) -> dict:
    done = run([venv_bin("detect-secrets"), "scan", *args], timeout=120, cwd=path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["results"]


@pytest.mark.parametrize("mode", ALL_MODES)
def test_no_secret_in_tracked_files(mode, project_for, record_property):
    project = project_for(mode)
    tracked = run(["git", "ls-files"], timeout=30, cwd=project.path).stdout.split()
    assert tracked and ".env" not in tracked, tracked
    results = scan(project.path)
    findings = [f"{file}:{s['line_number']} {s['type']}" for file, found in results.items() for s in found]
    assert not findings, "detect-secrets found secrets in tracked files:\n" + "\n".join(findings)
    # Control: the same scanner does see the untracked .env when it holds secrets.
    secret_names = [k for k in project.env if k in ("SERVICE_TOKEN", "OAUTH_CLIENT_SECRET")]
    control = ""
    if secret_names:
        everything = scan(project.path, "--all-files", ".env")
        assert ".env" in everything, f"control: detect-secrets missed {secret_names} in .env"
        control = f"; control run finds {len(everything['.env'])} secret(s) in untracked .env"
    record_property("detail", f"{len(tracked)} tracked files, no findings{control}")

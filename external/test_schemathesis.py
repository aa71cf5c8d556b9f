"""schemathesis against each running server's `/openapi.yaml`, with a valid token: no server
error, no response that violates the schema, and declared security enforced (`ignored_auth`:
schemathesis repeats requests without and with broken credentials and expects them refused).

Bounded: a fixed seed and a few examples per operation keep each run to seconds."""

from __future__ import annotations

import os

import pytest

from conftest import target_names
from support import run, venv_bin

pytestmark = pytest.mark.tool("schemathesis")

CHECKS = "not_a_server_error,response_schema_conformance,ignored_auth"
MAX_EXAMPLES = os.environ.get("EXTERNAL_SCHEMATHESIS_EXAMPLES", "30")


def schemathesis(target, checks: str, tmp_path) -> tuple[int, str]:
    cmd = [
        venv_bin("schemathesis"), "run", target.url + "/openapi.yaml",
        "--url", target.url,
        "--checks", checks,
        "--max-examples", MAX_EXAMPLES,
        "--seed", "20260101",
        "--generation-database", "none",
        "--request-timeout", "10",
        "--workers", "2",
        "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]
    for name, value in target.auth_headers().items():
        cmd += ["--header", f"{name}: {value}"]
    done = run(cmd, timeout=300, cwd=tmp_path, env={**os.environ, "SCHEMATHESIS_HOOKS": ""})
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("name", target_names())
def test_schemathesis(name, target_for, tmp_path, record_property):
    target = target_for(name)
    code, output = schemathesis(target, CHECKS, tmp_path)
    summary = [line for line in output.splitlines() if "passed" in line or "failed" in line]
    record_property("detail", (summary[-1].strip(" =") if summary else f"exit {code}")[:200])
    assert code == 0, f"schemathesis found problems ({name}):\n{output[-6000:]}"
    assert target.server.process.poll() is None, "the server died during the run"

"""schemathesis against each running server's `/openapi.yaml`, with a valid token: no server
error, no response that violates the schema, and declared security enforced (`ignored_auth`:
schemathesis repeats successful requests without credentials and with broken ones and expects
them refused). Its recorded interactions are read back to prove the probes were really sent.

Bounded: a fixed seed and a few examples per operation keep each run to seconds."""

from __future__ import annotations

import json
import os

import httpx
import pytest
import yaml

from conftest import target_names
from support import run, venv_bin

pytestmark = pytest.mark.tool("schemathesis")

REQUIRED_CHECKS = "not_a_server_error,response_schema_conformance,ignored_auth"
# What else an HTTP client may rely on: documented status codes, content types and headers, and
# the `Allow` header of a 405.
CONFORMANCE_CHECKS = (
    "status_code_conformance,content_type_conformance,response_headers_conformance,allow_header_conformance"
)
MAX_EXAMPLES = os.environ.get("EXTERNAL_SCHEMATHESIS_EXAMPLES", "30")


def bearer_spec(target, tmp_path) -> str | None:
    """schemathesis's `ignored_auth` only probes apiKey and http schemes and skips oauth2 ones
    (schemathesis/specs/openapi/_auth_retry.py). An oauth2 access token travels as an RFC 6750
    bearer token, so for oauth the served spec is run with each oauth2 scheme restated as the
    `http`/`bearer` scheme it is on the wire; everything else is the served spec unchanged."""
    spec = yaml.safe_load(httpx.get(target.url + "/openapi.yaml", timeout=10).text)
    schemes = spec.get("components", {}).get("securitySchemes", {})
    oauth = [n for n, s in schemes.items() if s.get("type") == "oauth2"]
    if not oauth:
        return None
    for n in oauth:
        schemes[n] = {"type": "http", "scheme": "bearer"}

    def plain(requirements):
        return [{k: [] if k in oauth else v for k, v in r.items()} for r in requirements]

    if "security" in spec:
        spec["security"] = plain(spec["security"])
    for item in spec.get("paths", {}).values():
        for op in item.values():
            if isinstance(op, dict) and "security" in op:
                op["security"] = plain(op["security"])
    path = tmp_path / "openapi-bearer.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return str(path)


def schemathesis(target, checks: str, tmp_path) -> tuple[int, str, list[dict]]:
    cmd = [
        venv_bin("schemathesis"), "run", bearer_spec(target, tmp_path) or target.url + "/openapi.yaml",
        "--url", target.url,
        "--checks", checks,
        "--max-examples", MAX_EXAMPLES,
        "--seed", "20260101",
        "--generation-database", "none",
        "--request-timeout", "10",
        "--workers", "2",
        "--no-color",
        "--report", "ndjson", "--report-ndjson-path", str(tmp_path / "events.ndjson"),
    ]
    for name, value in target.auth_headers().items():
        cmd += ["--header", f"{name}: {value}"]
    done = run(cmd, timeout=300, cwd=tmp_path)
    interactions = []
    if (tmp_path / "events.ndjson").exists():
        for line in (tmp_path / "events.ndjson").read_text().splitlines():
            event = json.loads(line)
            for recorder in _find(event, "interactions"):
                interactions += list(recorder.values())
    return done.returncode, done.stdout + done.stderr, interactions


def _find(node, key):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key and isinstance(v, dict):
                yield v
            else:
                yield from _find(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _find(v, key)


def _summary(output: str, code: int) -> str:
    lines = [line.strip(" =") for line in output.splitlines() if "generated" in line or " in " in line]
    return (lines[-1] if lines else f"exit {code}")[:160]


@pytest.mark.parametrize("name", target_names())
def test_no_server_error_schema_conformance_and_auth_enforced(name, target_for, tmp_path, record_property):
    target = target_for(name)
    code, output, interactions = schemathesis(target, REQUIRED_CHECKS, tmp_path)
    assert code == 0, f"schemathesis found problems ({name}):\n{output[-6000:]}"
    assert interactions, "schemathesis recorded no request"
    anonymous = [i for i in interactions if "Authorization" not in (i["request"].get("headers") or {})]
    detail = f"{len(interactions)} requests"
    if target.mode != "none":
        let_in = [i for i in anonymous if 200 <= i["response"]["status_code"] < 300]
        refused = [i for i in anonymous if i["response"]["status_code"] == 401]
        assert not let_in, f"requests without credentials succeeded: {let_in[:3]}"
        assert refused, "no request without credentials was sent: ignored_auth did not probe"
        detail += f", {len(refused)} probes without credentials all refused with 401"
        if target.mode == "oauth":
            detail += " (oauth2 scheme run as http bearer)"
    record_property("detail", detail)
    assert target.server.process.poll() is None, "the server died during the run"


@pytest.mark.parametrize("name", target_names())
def test_responses_conform_to_the_spec(name, target_for, tmp_path, record_property):
    target = target_for(name)
    code, output, _ = schemathesis(target, CONFORMANCE_CHECKS, tmp_path)
    failures = sorted({line.strip() for line in output.splitlines() if line.strip().startswith("- ST")})
    record_property("detail", "; ".join(failures)[:200] or _summary(output, code))
    assert code == 0, f"schemathesis found problems ({name}):\n{output[-6000:]}"

"""openapi-spec-validator and Spectral (spectral:oas + the OWASP API Security ruleset) on the
OpenAPI document each generated server builds from its routes and serves at `/openapi.yaml`."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import yaml
from openapi_spec_validator import validate

from conftest import ALL_MODES
from support import HERE, run

SPECTRAL = HERE / "node_modules" / ".bin" / "spectral"
RULESET = HERE / ".spectral.yaml"
KEPT_FILE = HERE / "SPECTRAL-WARNINGS.md"
SEVERITY = {0: "error", 1: "warning", 2: "info", 3: "hint"}


def kept_rows(section: str) -> list[dict]:
    """Rows of one table of SPECTRAL-WARNINGS.md: rule, path glob, modes, reason."""
    text = KEPT_FILE.read_text()
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in body.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].startswith("`"):
            rule, path, modes, reason = cells
            rows.append({"rule": rule.strip("`"), "path": path.strip("`"),
                         "modes": ALL_MODES if modes == "all" else [m.strip() for m in modes.split(",")],
                         "reason": reason})
    assert rows, f"no rows under '## {section}' in {KEPT_FILE.name}"
    return rows


def _glob(pattern: str) -> re.Pattern:
    parts = []
    for seg in pattern.split("."):
        parts.append(".+" if seg == "**" else "[^.]+" if seg == "*" else re.escape(seg))
    return re.compile("^" + r"\.".join(parts) + "$")


def _matches(row: dict, finding: dict) -> bool:
    return finding["code"] == row["rule"] and bool(_glob(row["path"]).match(finding["path"]))


def spectral(spec: Path) -> list[dict]:
    if not SPECTRAL.exists():
        pytest.fail(f"Spectral is not installed at {SPECTRAL}: run scripts/external.sh (npm ci)")
    done = run([str(SPECTRAL), "lint", str(spec), "--ruleset", str(RULESET), "-f", "json", "-q",
                "--fail-severity", "error"], timeout=180)
    try:
        found = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        pytest.fail(f"Spectral did not answer JSON (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    return [{"code": f["code"], "path": ".".join(map(str, f["path"])), "severity": SEVERITY[f["severity"]],
             "message": f["message"]} for f in found]


def _fmt(findings) -> str:
    return "\n".join(f"  {f['severity']} {f['code']} at {f['path']}: {f['message']}" for f in findings)


def served_spec(target, tmp_path: Path) -> Path:
    """The document the server serves, saved for the linters; no file of the project holds it."""
    assert not (target.project.path / "openapi.yaml").exists(), "a second copy of the spec"
    served = httpx.get(target.url + "/openapi.yaml", timeout=10)
    assert served.status_code == 200
    path = tmp_path / "openapi.yaml"
    path.write_text(served.text)
    return path


@pytest.mark.tool("openapi-spec-validator")
@pytest.mark.parametrize("mode", ALL_MODES)
def test_openapi_spec_validator(mode, target_for, tmp_path, record_property):
    spec = yaml.safe_load(served_spec(target_for(mode), tmp_path).read_text())
    validate(spec)  # raises OpenAPIValidationError with the reason
    ops = sum(1 for item in spec["paths"].values() for op in item.values())
    record_property("detail", f"OpenAPI {spec['openapi']}: the served document is valid ({ops} operations)")


@pytest.mark.tool("spectral")
@pytest.mark.parametrize("mode", ALL_MODES)
def test_spectral_no_errors(mode, target_for, tmp_path, record_property):
    spec = served_spec(target_for(mode), tmp_path)
    findings = spectral(spec)
    servers = yaml.safe_load(spec.read_text()).get("servers", [])
    accepted = [r for r in kept_rows("Errors accepted") if mode in r["modes"]]
    errors = []
    for f in (f for f in findings if f["severity"] == "error"):
        row = next((r for r in accepted if _matches(r, f)), None)
        if row and row["rule"] == "owasp:api8:2023-no-server-http":
            host = urlsplit(servers[0]["url"]).hostname if servers else None
            row = row if host in ("localhost", "127.0.0.1") else None
        if row is None:
            errors.append(f)
    record_property("detail", f"{len(findings)} findings, {len(errors)} errors not accepted")
    assert not errors, f"Spectral errors in the {mode} spec:\n{_fmt(errors)}"


@pytest.mark.tool("spectral")
@pytest.mark.parametrize("mode", ALL_MODES)
def test_spectral_only_kept_warnings(mode, target_for, tmp_path, record_property):
    spec = served_spec(target_for(mode), tmp_path)
    findings = [f for f in spectral(spec) if f["severity"] == "warning"]
    kept = [r for r in kept_rows("Warnings kept") if mode in r["modes"]]
    unlisted = [f for f in findings if not any(_matches(r, f) for r in kept)]
    stale = [r for r in kept if not any(_matches(r, f) for f in findings)]
    record_property("detail", f"{len(findings)} warnings, {len(findings) - len(unlisted)} kept, {len(unlisted)} unlisted")
    assert not unlisted, f"Spectral warnings not in SPECTRAL-WARNINGS.md ({mode}):\n{_fmt(unlisted)}"
    assert not stale, "rows of SPECTRAL-WARNINGS.md that match nothing any more: " + ", ".join(
        f"{r['rule']} {r['path']}" for r in stale)

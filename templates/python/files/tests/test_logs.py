"""One log line per request (method, path, status, duration, who called), under `python -m app`
and `uvicorn app.main:app` alike, never a header, a query string or a token."""

from __future__ import annotations

import http.client
import logging
import os
import socket
import subprocess
import sys
import time

import pytest
from fastapi.testclient import TestClient

from app.security import install_logging
from app.settings import AUTH_MODE, BASE_URL, PROJECT_ROOT
from tests.spec import fill, operations

METHOD, PATH, OP = next((m, p, o) for m, p, o in operations() if m == "GET")
LEAK = "pat_" + "leak" * 10


def test_each_request_is_logged_once_with_its_caller(client, auth_headers, caplog):
    caplog.set_level(logging.INFO, logger="app.access")
    client.get(fill(PATH) + f"?access_token={LEAK}&page=2", headers=auth_headers)
    lines = [r.getMessage() for r in caplog.records if r.name == "app.access"]
    assert len(lines) == 1
    caller = {"none": "anonymous", "service_http": "chatgpt"}.get(AUTH_MODE, "alice")
    assert lines[0].startswith(f"GET {fill(PATH)} 200 ") and lines[0].endswith(
        f"ms caller={caller}"
    )
    assert "?" not in lines[0] and LEAK not in caplog.text
    for header in auth_headers.values():
        assert header.split()[-1] not in caplog.text


def test_control_characters_in_a_path_are_escaped_in_the_log(client, caplog):
    # A terminal that shows the log would obey them (clear the screen, colour a forged line).
    caplog.set_level(logging.INFO, logger="app.access")
    client.get("/x%1b[2J%1b[31mFAKE%07")
    [line] = [r.getMessage() for r in caplog.records if r.name == "app.access"]
    assert line.startswith("GET /x\\x1b[2J\\x1b[31mFAKE\\x07 404 "), line


def test_a_request_that_fails_is_logged_too(app, caplog):
    def boom() -> None:
        raise ZeroDivisionError

    app.add_api_route("/boom/{name}", boom)
    caplog.set_level(logging.INFO, logger="app")
    TestClient(app, base_url=BASE_URL, raise_server_exceptions=False).get("/boom/%1b[2J")
    [line] = [r.getMessage() for r in caplog.records if r.name == "app.access"]
    assert line.startswith("GET /boom/\\x1b[2J 500 "), line
    assert "\x1b" not in caplog.text, "the error's own line escapes the path too"


def test_tracebacks_are_redacted_too(caplog):
    install_logging()
    try:
        raise ValueError(f"Authorization: Bearer {LEAK}")
    except ValueError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
    assert "Traceback" in caplog.text and LEAK not in caplog.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS = {
    "python -m app": ["-m", "app"],
    "uvicorn app.main:app": [
        "-m",
        "uvicorn",
        "app.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ],
}


@pytest.mark.parametrize("command", SERVERS.values(), ids=SERVERS.keys())
def test_the_server_logs_each_request_once(tmp_path, command):
    port = _free_port()
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "SERVICE_TOKEN": "pss_" + os.urandom(32).hex(),
        "OAUTH_CLIENT_ID": "chatgpt",
        "OAUTH_CLIENT_SECRET": "pcs_" + os.urandom(32).hex(),  # pragma: allowlist secret
    }
    server = subprocess.Popen(
        [sys.executable, *(arg.format(port=port) for arg in command)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/legal")
                conn.getresponse().read()
                break
            except OSError:
                time.sleep(0.1)
        conn.request(
            "GET", fill(PATH) + f"?access_token={LEAK}", headers={"Authorization": f"Bearer {LEAK}"}
        )
        status = conn.getresponse().status
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    lines = [line for line in output.splitlines() if " app.access " in line]
    assert len(lines) == 2, output
    # Once: not a second time through a handler another library put on the root logger.
    assert sum("GET /legal 200 " in line for line in output.splitlines()) == 1, output
    assert lines[0].endswith(" caller=-") and "GET /legal 200 " in lines[0]
    assert f"GET {fill(PATH)} {status} " in lines[1] and "?" not in lines[1]
    assert LEAK not in output and "Traceback" not in output

"""Every operation refuses a call without valid credentials and accepts one with them."""

from __future__ import annotations

import logging

import pytest

from app.settings import AUTH_MODE
from tests.spec import fill, operations, success_status

OPERATIONS = list(operations())
AUTHENTICATED = AUTH_MODE != "none"
BODY = {"text": "hello"}


def call(client, method: str, path: str, op: dict, **kwargs):
    if "requestBody" in op:
        kwargs.setdefault("json", BODY)
    return client.request(method, fill(path), **kwargs)


@pytest.mark.skipif(not AUTHENTICATED, reason="auth mode `none` has no credentials to check")
@pytest.mark.parametrize(
    "method,path,op", OPERATIONS, ids=[o[2]["operationId"] for o in OPERATIONS]
)
def test_401_without_credentials(client, method, path, op):
    r = call(client, method, path, op)
    assert r.status_code == 401
    if AUTH_MODE == "oauth":
        # RFC 9728: where MCP clients find the authorization server.
        assert r.headers["www-authenticate"].startswith('Bearer resource_metadata="')
    else:
        assert r.headers["www-authenticate"] == "Bearer"
    assert r.json() == {"detail": "Missing or invalid credentials."}


@pytest.mark.skipif(not AUTHENTICATED, reason="auth mode `none` has no credentials to check")
@pytest.mark.parametrize(
    "header",
    [
        "Bearer wrong",
        "Bearer psk_" + "A" * 43,
        "Bearer pss_" + "A" * 43,
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "bearer",
        "Token abc",
    ],
)
def test_401_with_wrong_credentials(client, header):
    method, path, op = OPERATIONS[0]
    r = call(client, method, path, op, headers={"Authorization": header})
    assert r.status_code == 401


@pytest.mark.skipif(not AUTHENTICATED, reason="auth mode `none` has no credentials to check")
def test_credentials_in_the_query_string_are_ignored(client, auth_headers):
    method, path, op = OPERATIONS[0]
    token = auth_headers["Authorization"].split(" ", 1)[1]
    r = call(client, method, path, op, params={"access_token": token, "token": token})
    assert r.status_code == 401


@pytest.mark.parametrize(
    "method,path,op", OPERATIONS, ids=[o[2]["operationId"] for o in OPERATIONS]
)
def test_right_credentials_are_accepted(client, auth_headers, method, path, op):
    r = call(client, method, path, op, headers=auth_headers)
    expected = {success_status(op)}
    if "404" in op["responses"]:
        expected.add(404)  # the item `item1` does not exist yet
    assert r.status_code in expected, r.text


def test_credentials_never_reach_the_server_logs(client, auth_headers, caplog):
    caplog.set_level(logging.DEBUG)
    method, path, op = OPERATIONS[0]
    call(client, method, path + "?access_token=pat_" + "B" * 43, op, headers=auth_headers)
    # The server's loggers only: the test client logs its own request URLs.
    server = "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.name.split(".")[0] in ("app", "uvicorn", "fastapi")
    )
    assert fill(path) in server, "the request was logged"
    assert "pat_" + "B" * 43 not in server
    for value in auth_headers.values():
        assert value.split(" ", 1)[-1] not in server


def test_the_log_filter_redacts_credentials():
    from app.security import redact

    line = redact(
        "Authorization: Bearer pss_" + "x" * 43 + " and ?access_token=abc&x=1 and psk_" + "y" * 43
    )
    assert "x" * 43 not in line and "y" * 43 not in line and "abc" not in line
    assert line.count("[REDACTED]") >= 3

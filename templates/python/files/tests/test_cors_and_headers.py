"""CORS answers only the configured origins; every response carries the security headers;
errors are JSON without stack traces."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.settings import BASE_URL
from tests.spec import fill, operations

METHOD, PATH, OP = next(operations())
ALLOWED = "https://chat.openai.com"


@pytest.mark.parametrize("origin", ["https://chat.openai.com", "https://chatgpt.com"])
def test_allowed_origins_get_cors_headers(client, origin):
    r = client.options(
        fill(PATH),
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": METHOD,
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == origin
    assert r.headers.get("access-control-allow-credentials") is None


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "https://chat.openai.com.evil.example",
        "http://chat.openai.com",
    ],
)
def test_other_origins_get_no_cors_headers(client, auth_headers, origin):
    preflight = client.options(
        fill(PATH), headers={"Origin": origin, "Access-Control-Request-Method": METHOD}
    )
    assert "access-control-allow-origin" not in preflight.headers
    simple = client.get("/openapi.yaml", headers={"Origin": origin})
    assert "access-control-allow-origin" not in simple.headers


def test_never_a_wildcard(client):
    for path in ("/openapi.yaml", "/legal"):
        r = client.get(path, headers={"Origin": ALLOWED})
        assert r.headers.get("access-control-allow-origin") != "*"


def test_security_headers(client):
    r = client.get("/openapi.yaml")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    if BASE_URL.startswith("https://"):
        assert r.headers["strict-transport-security"].startswith("max-age=")


def test_credentialed_responses_are_not_cached(client, auth_headers):
    headers = auth_headers or {"Authorization": "Bearer anything"}
    r = client.request(
        METHOD, fill(PATH), headers=headers, json={"text": "x"} if "requestBody" in OP else None
    )
    assert r.headers["cache-control"] == "no-store"


def test_errors_are_json_without_stack_traces(app):
    def boom():
        raise ZeroDivisionError("secret detail")

    app.add_api_route("/boom", boom)
    r = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert r.status_code == 500
    assert r.json() == {"detail": "Internal server error."}
    assert "ZeroDivisionError" not in r.text and "Traceback" not in r.text
    assert (
        r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    )


def test_a_lone_surrogate_in_a_body_gets_a_json_4xx(app, auth_headers):
    client = TestClient(app, raise_server_exceptions=False)
    with_body = [(m, p) for m, p, op in operations() if "requestBody" in op]
    if not with_body:
        pytest.skip("no operation takes a body")
    for method, path in with_body:
        for body in (b'{"text": "\\ud800"}', b'{"\\udc00": "x"}'):
            headers = {**auth_headers, "Content-Type": "application/json"}
            r = client.request(method, fill(path), content=body, headers=headers)
            assert 400 <= r.status_code < 500 and r.json()["detail"], (
                method,
                path,
                body,
                r.status_code,
            )
            assert r.headers["x-content-type-options"] == "nosniff"


def test_a_body_that_is_not_json_gets_the_documented_400(client, auth_headers):
    with_body = [(m, p, op) for m, p, op in operations() if "requestBody" in op]
    if not with_body:
        pytest.skip("no operation takes a body")
    for method, path, op in with_body:
        headers = {**auth_headers, "Content-Type": "application/json"}
        r = client.request(method, fill(path), content=b"\x0e\xff\x1e", headers=headers)
        assert r.status_code == 400 and r.json()["detail"], (method, path, r.text)
        assert "400" in op["responses"]
        assert r.headers["x-content-type-options"] == "nosniff"


def test_a_trailing_slash_never_redirects_to_the_host_header(client, auth_headers):
    r = client.get(
        fill(PATH) + "/", headers={**auth_headers, "Host": "evil.example"}, follow_redirects=False
    )
    assert "evil.example" not in r.headers.get("location", "")
    assert r.status_code == 404

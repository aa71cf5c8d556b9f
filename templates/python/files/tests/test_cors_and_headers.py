"""CORS answers only the configured origins; every response carries the security headers;
errors are JSON without stack traces."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.settings import AUTH_MODE, BASE_URL
from tests.spec import SPEC, fill, operations

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
    client = TestClient(app, base_url=BASE_URL, raise_server_exceptions=False)
    r = client.get("/boom", headers={"Origin": ALLOWED})
    assert r.status_code == 500
    assert r.json() == {"detail": "Internal server error."}
    assert "ZeroDivisionError" not in r.text and "Traceback" not in r.text
    assert (
        r.headers["x-content-type-options"] == "nosniff" and r.headers["x-frame-options"] == "DENY"
    )
    # A page of an allowed origin may read the error, as the spec says; another origin not.
    assert r.headers["access-control-allow-origin"] == ALLOWED
    documented = SPEC["components"]["responses"]["ServerError"]["headers"]
    assert list(documented) == ["Access-Control-Allow-Origin"]
    other = client.get("/boom", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_a_lone_surrogate_in_a_body_gets_a_json_4xx(app, auth_headers):
    client = TestClient(app, base_url=BASE_URL, raise_server_exceptions=False)
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


@pytest.mark.parametrize(
    "body,status",
    [(b"\x0e\xff\x1e", 400), (b'{"text": "x",', 422), (b'{"text": "' + b"x" * 70_000 + b'"}', 413)],
    ids=["not-utf-8", "not-json", "too-large"],
)
def test_a_body_that_cannot_be_read_gets_a_documented_answer(client, auth_headers, body, status):
    with_body = [(m, p, op) for m, p, op in operations() if "requestBody" in op]
    if not with_body:
        pytest.skip("no operation takes a body")
    for method, path, op in with_body:
        headers = {**auth_headers, "Content-Type": "application/json"}
        r = client.request(method, fill(path), content=body, headers=headers)
        assert r.status_code == status and r.json()["detail"], (method, path, r.text)
        assert str(status) in op["responses"]
        assert r.headers["x-content-type-options"] == "nosniff"


def test_a_trailing_slash_never_redirects_to_the_host_header(client, auth_headers):
    r = client.get(
        fill(PATH) + "/", headers={**auth_headers, "Host": "evil.example"}, follow_redirects=False
    )
    assert "evil.example" not in r.headers.get("location", "")
    assert r.status_code == (400 if AUTH_MODE == "none" else 404)  # none: a foreign Host is 400


@pytest.mark.skipif(AUTH_MODE != "none", reason="a host name buys nothing without credentials")
@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example"])
def test_an_open_api_answers_only_requests_for_its_own_host(client, host):
    # DNS rebinding: a page of evil.example, its name now resolving to this computer, would call
    # the open API as its own origin, past CORS. The Host it sends still names evil.example.
    r = client.get(fill(PATH), headers={"Host": host})
    assert r.status_code == 400
    assert r.headers["x-content-type-options"] == "nosniff"
    for own in (BASE_URL.split("://")[1], "127.0.0.1:8000", "localhost", "[::1]:8123"):
        assert client.get(fill(PATH), headers={"Host": own}).status_code == 200, own

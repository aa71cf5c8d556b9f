"""A request body over MAX_BODY_BYTES gets 413 on every endpoint, authenticated or not, before
any credential is checked and without the server reading it whole."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient

from app.security import api_routes
from app.settings import BASE_URL
from tests.spec import fill

LIMIT = 1024
FAKE_TOKEN = {"Authorization": "Bearer pat_not-a-real-token"}


def endpoints(app) -> list[tuple[str, str]]:
    """(method, path) of every route the server answers: the API, the public files and, with
    OAuth, the authorization server."""
    found = sorted({(m, fill(r.path)) for r in api_routes(app.routes) for m in r.methods})
    assert ("POST", "/oauth/token") in found or not any(p.startswith("/oauth/") for _, p in found)
    return found


def send_in_chunks(app, method: str, path: str, chunk: bytes, count: int) -> tuple[int, int]:
    """Sends `count` chunks to the ASGI app, with no Content-Length (a chunked upload); returns
    the status and how many chunks the server read."""
    read, answer = 0, {}

    async def receive():
        nonlocal read
        if read == count:
            return {"type": "http.disconnect"}
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": read < count}

    async def send(message):
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]

    headers = [
        (b"host", b"testserver"),
        (b"content-type", b"application/json"),
        (b"transfer-encoding", b"chunked"),
    ]
    headers += [(k.lower().encode(), v.encode()) for k, v in FAKE_TOKEN.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    asyncio.run(app(scope, receive, send))
    return answer["status"], read


def test_a_body_just_over_the_limit_gets_413_everywhere(make_app):
    app = make_app(max_body_bytes=LIMIT)
    client = TestClient(app, base_url=BASE_URL)
    for method, path in endpoints(app):
        r = client.request(
            method,
            path,
            content=b"x" * (LIMIT + 1),
            headers={**FAKE_TOKEN, "Content-Type": "application/json"},
        )
        assert r.status_code == 413, (method, path, r.status_code)
        assert r.json() == {"detail": "Request body too large."}
        assert r.headers["x-content-type-options"] == "nosniff"


def test_a_body_at_the_limit_is_read(make_app):
    app = make_app(max_body_bytes=LIMIT)
    client = TestClient(app, base_url=BASE_URL)
    for method, path in endpoints(app):
        if method != "GET":
            r = client.request(
                method, path, content=b" " * LIMIT, headers={"Content-Type": "application/json"}
            )
            assert r.status_code != 413, (method, path)


def test_a_chunked_body_is_cut_off_once_past_the_limit(make_app):
    app = make_app(max_body_bytes=LIMIT)
    for method, path in endpoints(app):
        if method != "GET":
            status, read = send_in_chunks(app, method, path, b" " * 100, count=10_000)
            # An endpoint that takes no body never reads it: nothing to refuse.
            assert status == 413 or read == 0, (method, path, status)
            assert read <= LIMIT // 100 + 1, f"{method} {path} read {read} chunks of 100 bytes"

"""Helpers for the OAuth tests: a fake clock, a browser that walks the authorize flow, and a
client that calls the token endpoint the ways ChatGPT and MCP clients do."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient

from app import oauth_store
from app.settings import BASE_URL, SCOPES

CLIENT_ID = "chatgpt-test"
CLIENT_SECRET = "pcs_" + secrets.token_urlsafe(32)  # pragma: allowlist secret
REDIRECT_URI = (
    "https://chat.openai.com/aip/plugin-00000000-0000-0000-0000-000000000000/oauth/callback"
)
LOOPBACK_URI = "http://127.0.0.1:8765/callback"
REDIRECT_URIS = (REDIRECT_URI, LOOPBACK_URI)
PASSWORD = "correct horse battery staple"  # pragma: allowlist secret
STATE = "st-" + secrets.token_urlsafe(12)


def issue_for(db, settings, user="alice", scope="read", now=None, resource=None) -> dict:
    """Tokens of a new grant, issued as the token endpoint does (for tests that skip the flow)."""
    now = time.time() if now is None else now
    grant = oauth_store.create_grant(db, settings.oauth_client_id, user, scope, now, resource)
    return oauth_store.issue_tokens(
        db,
        settings,
        grant_id=grant,
        client_id=settings.oauth_client_id,
        user=user,
        scope=scope,
        now=now,
    )


class FakeClock:
    """A clock the application reads (app.state.clock); tests advance it instead of sleeping."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> bool:
    """For what another process or thread does: polls until `condition()` holds; its last value."""
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def browser(app, address: str = "testclient") -> TestClient:
    """A user's browser at `address`: https (so `__Host-` cookies work), redirects not followed."""
    return TestClient(
        app, base_url="https://testserver", follow_redirects=False, client=(address, 50000)
    )


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


def authorize_params(**overrides) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": " ".join(SCOPES),
        "state": STATE,
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def make_user(app, name: str = "alice", password: str = PASSWORD) -> None:
    oauth_store.create_user(app.state.db, name, password, app.state.clock())


def csrf_of(page: str) -> str:
    match = re.search(r'name=csrf_token value="([^"]+)"', page)
    assert match, "the page has a CSRF token"
    return match.group(1)


def login(b: TestClient, params: dict, user: str = "alice", password: str = PASSWORD):
    page = b.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    return b.post(
        "/oauth/authorize",
        params=params,
        data={"csrf_token": csrf_of(page.text), "username": user, "password": password},
    )


def consent(b: TestClient, params: dict, decision: str = "allow"):
    page = b.get("/oauth/authorize", params=params)
    assert page.status_code == 200 and "Allow" in page.text, page.text
    return b.post(
        "/oauth/authorize",
        params=params,
        data={"csrf_token": csrf_of(page.text), "decision": decision},
    )


def redirect_query(response) -> dict[str, str]:
    """The query parameters of a redirect back to the client."""
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query, keep_blank_values=True).items()}


def get_code(app, user: str = "alice", make: bool = True, **overrides) -> str:
    """Walks the whole flow in a browser (login, consent, Allow) and returns the code."""
    if make:
        make_user(app, user)
    b = browser(app)
    params = authorize_params(**overrides)
    r = login(b, params, user)
    assert r.status_code == 303, r.text
    q = redirect_query(consent(b, params))
    assert q["state"] == params["state"]
    assert q["iss"] == BASE_URL  # RFC 9207: which authorization server answered
    return q["code"]


def token_request(
    client: TestClient,
    data: dict,
    auth: str = "post",
    content: str = "form",
    secret: str = CLIENT_SECRET,
    client_id: str = CLIENT_ID,
):
    """POST /oauth/token with client_secret_post or client_secret_basic, as a form or JSON."""
    data = dict(data)
    headers = {}
    if auth == "post":
        data.update(client_id=client_id, client_secret=secret)
    elif auth == "basic":
        headers["Authorization"] = (
            "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        )
    if content == "json":
        return client.post("/oauth/token", json=data, headers=headers)
    return client.post("/oauth/token", data=data, headers=headers)


def exchange(client: TestClient, code: str, redirect_uri: str = REDIRECT_URI, **kwargs):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    data.update(kwargs.pop("extra", {}))
    return token_request(client, data, **kwargs)


def refresh(client: TestClient, refresh_token: str, **kwargs):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    data.update(kwargs.pop("extra", {}))
    return token_request(client, data, **kwargs)


def tokens(app, client: TestClient, **params) -> dict:
    """The token response of a whole flow (get_code's parameters)."""
    r = exchange(client, get_code(app, **params))
    assert r.status_code == 200, r.text
    return r.json()


def api_get(client: TestClient, access_token: str):
    """A call to the first GET operation of the spec with the token."""
    from tests.spec import fill, operations

    method, path, op = next((m, p, o) for m, p, o in operations() if m == "GET")
    return client.get(fill(path), headers={"Authorization": f"Bearer {access_token}"})

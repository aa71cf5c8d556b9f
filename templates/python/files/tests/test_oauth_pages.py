"""The login and consent pages (C19) and CORS around the authorization server (C20)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import oauth
from app.settings import BASE_URL
from app.tables import users
from tests.oauth_helpers import (
    PASSWORD,
    REDIRECT_URI,
    authorize_params,
    browser,
    consent,
    csrf_of,
    login,
    make_user,
    redirect_query,
)


def assert_page_headers(r):
    assert r.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"


def test_c19_login_and_consent_pages_have_csrf_tokens_and_frame_protection(app):
    make_user(app)
    b = browser(app)
    params = authorize_params()
    page = b.get("/oauth/authorize", params=params)
    assert_page_headers(page)
    assert csrf_of(page.text) and "name=username" in page.text and "name=password" in page.text
    cookie = page.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    if BASE_URL.startswith("https://"):
        # `__Host-`: Secure, this host only, path / (no subdomain can plant a CSRF cookie).
        assert cookie.startswith("__host-") and "secure" in cookie and "path=/" in cookie
    r = login(b, params)
    assert r.status_code == 303
    consent_page = b.get("/oauth/authorize", params=params)
    assert_page_headers(consent_page)
    assert csrf_of(consent_page.text)
    assert "go back to <strong>chat.openai.com</strong>" in consent_page.text


@pytest.mark.parametrize("csrf", [None, "", "forged-token-value-forged-token-value-12345"])
def test_c19_login_without_the_right_csrf_token_is_refused(app, csrf):
    make_user(app)
    b = browser(app)
    params = authorize_params()
    b.get("/oauth/authorize", params=params)
    data = {"username": "alice", "password": PASSWORD}
    if csrf is not None:
        data["csrf_token"] = csrf
    r = b.post("/oauth/authorize", params=params, data=data)
    assert r.status_code == 403 and "location" not in r.headers


def test_c19_consent_without_the_right_csrf_token_is_refused(app):
    make_user(app)
    b = browser(app)
    params = authorize_params()
    login(b, params)
    r = b.post(
        "/oauth/authorize", params=params, data={"decision": "allow", "csrf_token": "x" * 43}
    )
    assert r.status_code == 403 and "location" not in r.headers
    # A cross-site form post carries no cookies of ours at all.
    fresh = browser(app)
    r = fresh.post(
        "/oauth/authorize", params=params, data={"decision": "allow", "csrf_token": "x" * 43}
    )
    assert r.status_code == 403 and "location" not in r.headers


def test_c19_a_csrf_token_serves_only_its_own_authorization_request(app):
    make_user(app)
    b = browser(app)
    page = b.get("/oauth/authorize", params=authorize_params())
    form = {"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD}
    r = b.post("/oauth/authorize", params=authorize_params(state="another-request"), data=form)
    assert r.status_code == 403 and "location" not in r.headers


def test_c19_the_csrf_token_changes_at_sign_in(app):
    make_user(app)
    b = browser(app)
    params = authorize_params()
    before = csrf_of(b.get("/oauth/authorize", params=params).text)
    form = {"csrf_token": before, "username": "alice", "password": PASSWORD}
    assert b.post("/oauth/authorize", params=params, data=form).status_code == 303
    assert csrf_of(b.get("/oauth/authorize", params=params).text) != before
    r = b.post("/oauth/authorize", params=params, data={"decision": "allow", "csrf_token": before})
    assert r.status_code == 403 and "location" not in r.headers


def test_c19_consent_needs_a_signed_in_user(app):
    b = browser(app)
    params = authorize_params()
    page = b.get("/oauth/authorize", params=params)
    r = b.post(
        "/oauth/authorize",
        params=params,
        data={"decision": "allow", "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 200 and "name=password" in r.text and "location" not in r.headers


def test_c19_posted_forms_redirect_with_303(app):
    make_user(app)
    b = browser(app)
    params = authorize_params()
    r = login(b, params)
    assert r.status_code == 303 and r.headers["location"].startswith("/oauth/authorize?")
    r = consent(b, params)
    assert r.status_code == 303 and r.headers["location"].startswith(REDIRECT_URI + "?")
    # An error after a POST goes back with 303 too (never 307, which would re-post the form).
    r = b.post("/oauth/authorize", params=authorize_params(response_type="token"), data={})
    assert r.status_code == 303


def test_c19_consent_is_single_use(app):
    make_user(app)
    b = browser(app)
    params = authorize_params()
    login(b, params)
    page = b.get("/oauth/authorize", params=params)
    first = b.post(
        "/oauth/authorize",
        params=params,
        data={"decision": "allow", "csrf_token": csrf_of(page.text)},
    )
    assert redirect_query(first)["code"]
    again = b.post(
        "/oauth/authorize",
        params=params,
        data={"decision": "allow", "csrf_token": csrf_of(page.text)},
    )
    assert "location" not in again.headers


def test_c19_passwords_are_hashed_with_argon2id(app):
    make_user(app, "carol", "a long enough password")
    with app.state.db.begin() as conn:
        stored = conn.scalar(select(users.c.password_hash).where(users.c.name == "carol"))
    assert stored.startswith("$argon2id$") and "a long enough password" not in stored


def test_c19_pages_escape_what_they_show(app, settings):
    from app import oauth_store

    oauth_store.add_client(app.state.db, settings, "x.y", ["https://x.example/cb"], 0)
    page = browser(app).get(
        "/oauth/authorize",
        params=authorize_params(
            client_id="x.y",
            redirect_uri="https://x.example/cb",
            state='"><script>alert(1)</script>',
        ),
    )
    assert "<script>alert(1)" not in page.text


ORIGIN = "https://chat.openai.com"


def test_c20_no_cors_on_the_authorize_endpoint(app):
    b = browser(app)
    for r in (
        b.get("/oauth/authorize", params=authorize_params(), headers={"Origin": ORIGIN}),
        b.options(
            "/oauth/authorize", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
        ),
        b.post("/oauth/authorize", params=authorize_params(), headers={"Origin": ORIGIN}, data={}),
    ):
        assert not any(h.startswith("access-control-") for h in r.headers), r.headers


@pytest.mark.parametrize("path", ["/oauth/token", "/.well-known/oauth-authorization-server"])
def test_c20_elsewhere_only_configured_origins_never_a_wildcard(client, path):
    allowed = client.options(
        path, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    )
    assert allowed.headers.get("access-control-allow-origin") == ORIGIN
    for origin in ("https://evil.example", "null", "https://chat.openai.com.evil.example"):
        r = client.options(
            path, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
        )
        assert r.headers.get("access-control-allow-origin") in (None,)
        simple = client.get(path, headers={"Origin": origin})
        assert "access-control-allow-origin" not in simple.headers
    assert oauth.CSRF_COOKIE and oauth.SESSION_COOKIE

"""The token endpoint: codes, PKCE and client authentication (C4, C6–C9, C11–C14)."""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from app import oauth_store
from app.settings import BASE_URL, RESOURCES, SCOPES
from tests.oauth_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    LOOPBACK_URI,
    REDIRECT_URI,
    api_get,
    exchange,
    get_code,
    pkce_pair,
    refresh,
    token_request,
)

ALL = " ".join(SCOPES)


def assert_oauth_error(r, error: str, status: int = 400):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["error"] == error and set(body) == {"error", "error_description"}, body
    assert r.headers["cache-control"] == "no-store"
    assert "Traceback" not in r.text


def assert_tokens(r):
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"].startswith("pat_") and body["refresh_token"].startswith("prt_")
    assert body["expires_in"] == 3600
    assert r.headers["cache-control"] == "no-store" and r.headers["pragma"] == "no-cache"
    return body


# --- C4 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "grant_type",
    ["password", "client_credentials", "implicit", "urn:ietf:params:oauth:grant-type:device_code"],
)
def test_c4_other_grant_types_are_refused(client, grant_type):
    r = token_request(client, {"grant_type": grant_type, "username": "alice", "password": "x" * 12})
    assert_oauth_error(r, "unsupported_grant_type")


# --- C6: PKCE downgrade ---------------------------------------------------------------------


def test_c6_verifier_for_a_code_issued_without_challenge_fails(app, client):
    code = get_code(app)
    verifier, _ = pkce_pair()
    assert_oauth_error(exchange(client, code, extra={"code_verifier": verifier}), "invalid_grant")


def test_c6_code_with_challenge_needs_the_right_verifier(app, client):
    verifier, challenge = pkce_pair()
    code = get_code(app, code_challenge=challenge, code_challenge_method="S256")
    assert_oauth_error(exchange(client, code), "invalid_grant")  # no verifier
    assert_oauth_error(
        exchange(client, code, extra={"code_verifier": pkce_pair()[0]}), "invalid_grant"
    )
    # Neither attempt used the code up (a replay with bad parameters revokes nothing).
    assert_tokens(exchange(client, code, extra={"code_verifier": verifier}))


def test_c6_pkce_flow_as_an_mcp_client_sends_it(app, client):
    verifier, challenge = pkce_pair()
    from app.settings import BASE_URL

    code = get_code(app, code_challenge=challenge, code_challenge_method="S256", resource=BASE_URL)
    body = assert_tokens(exchange(client, code, extra={"code_verifier": verifier}))
    assert api_get(client, body["access_token"]).status_code == 200


@pytest.mark.parametrize("verifier", ["a" * 42, "a" * 129, "a" * 42 + "!", "a" * 50 + " "])
def test_c5_malformed_verifier_is_invalid_request(app, client, verifier):
    _, challenge = pkce_pair()
    code = get_code(app, code_challenge=challenge, code_challenge_method="S256")
    assert_oauth_error(exchange(client, code, extra={"code_verifier": verifier}), "invalid_request")


# --- C7: binding and expiry -----------------------------------------------------------------


def test_c7_code_is_bound_to_user_and_scope(app, client):
    code = get_code(app, scope=SCOPES[0])
    body = assert_tokens(exchange(client, code))
    assert body["scope"] == SCOPES[0]
    token = oauth_store.check_access_token(app.state.db, body["access_token"], app.state.clock())
    assert token.user == "alice" and token.scopes == {SCOPES[0]} and token.client_id == CLIENT_ID


def test_c7_code_lifetime_is_at_most_60_seconds_by_default(settings):
    assert settings.oauth_code_lifetime == 60


def test_c7_expired_code_is_invalid_grant(app, client, clock):
    code = get_code(app)
    clock.advance(61)
    assert_oauth_error(exchange(client, code), "invalid_grant")


def test_c7_code_just_before_expiry_works(app, client, clock):
    code = get_code(app)
    clock.advance(59)
    assert_tokens(exchange(client, code))


def test_c7_code_lifetime_may_not_exceed_ten_minutes():
    from app.settings import SettingsError, load_settings

    env = {
        "OAUTH_CLIENT_ID": "c",
        "OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_CODE_LIFETIME": "601",
    }
    with pytest.raises(SettingsError) as e:
        load_settings(env)
    assert "OAUTH_CODE_LIFETIME" in str(e.value)


# --- C8: single use -------------------------------------------------------------------------


def test_c8_code_reuse_revokes_issued_tokens(app, client):
    code = get_code(app)
    first = assert_tokens(exchange(client, code))
    assert api_get(client, first["access_token"]).status_code == 200
    assert_oauth_error(exchange(client, code), "invalid_grant")
    assert api_get(client, first["access_token"]).status_code == 401
    assert_oauth_error(refresh(client, first["refresh_token"]), "invalid_grant")


@pytest.mark.parametrize("bad", ["secret", "verifier", "redirect_uri", "client"])
def test_c8_replay_with_bad_parameters_revokes_nothing(app, client, settings, bad):
    verifier, challenge = pkce_pair()
    code = get_code(app, code_challenge=challenge, code_challenge_method="S256")
    first = assert_tokens(exchange(client, code, extra={"code_verifier": verifier}))
    if bad == "secret":
        r = exchange(client, code, secret="pcs_" + "w" * 43, extra={"code_verifier": verifier})
        assert_oauth_error(r, "invalid_client", 401)
    elif bad == "verifier":
        assert_oauth_error(
            exchange(client, code, extra={"code_verifier": pkce_pair()[0]}), "invalid_grant"
        )
    elif bad == "redirect_uri":
        r = exchange(client, code, redirect_uri=LOOPBACK_URI, extra={"code_verifier": verifier})
        assert_oauth_error(r, "invalid_grant")
    else:
        other = oauth_store.add_client(
            app.state.db, settings, "other", ["https://other.example/cb"], 0
        )
        r = exchange(
            client, code, client_id="other", secret=other, extra={"code_verifier": verifier}
        )
        assert_oauth_error(r, "invalid_grant")
    assert api_get(client, first["access_token"]).status_code == 200
    assert_tokens(refresh(client, first["refresh_token"]))


def test_c8_concurrent_redemptions_exactly_one_succeeds(app):
    code = get_code(app)
    barrier = threading.Barrier(4)

    def redeem(_):
        with TestClient(app) as c:
            barrier.wait()
            return exchange(c, code)

    with ThreadPoolExecutor(4) as pool:
        responses = list(pool.map(redeem, range(4)))
    assert sorted(r.status_code for r in responses) == [200, 400, 400, 400]
    # The other redemptions were reuse: what the one success got is revoked with its grant.
    winner = next(r for r in responses if r.status_code == 200).json()
    with TestClient(app) as c:
        assert api_get(c, winner["access_token"]).status_code == 401


def test_c8_concurrent_consumption_in_the_repository(app):
    code = get_code(app)
    found = oauth_store.find_code(app.state.db, code)
    barrier = threading.Barrier(8)

    def consume(_):
        barrier.wait()
        return oauth_store.consume_code(app.state.db, found.code_hash, app.state.clock())

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(consume, range(8)))
    assert results.count(True) == 1


# --- C9: bound to the client and the redirect URI -------------------------------------------


def test_c9_code_of_client_a_cannot_be_redeemed_by_client_b(app, client, settings):
    other = oauth_store.add_client(app.state.db, settings, "client-b", [REDIRECT_URI], 0)
    code = get_code(app)
    assert_oauth_error(exchange(client, code, client_id="client-b", secret=other), "invalid_grant")
    assert_tokens(exchange(client, code))


def test_c9_code_cannot_be_redeemed_with_another_redirect_uri(app, client):
    code = get_code(app)
    for uri in (LOOPBACK_URI, REDIRECT_URI + "/", REDIRECT_URI.upper()):
        assert_oauth_error(exchange(client, code, redirect_uri=uri), "invalid_grant")
    assert_oauth_error(
        token_request(client, {"grant_type": "authorization_code", "code": code}), "invalid_request"
    )
    assert_tokens(exchange(client, code))


def test_c9_other_client_with_its_own_redirect_uri_gets_its_own_codes(app, client, settings):
    secret = oauth_store.add_client(
        app.state.db, settings, "gpt-action", ["https://chatgpt.com/aip/g-1/oauth/callback"], 0
    )
    code = get_code(
        app, client_id="gpt-action", redirect_uri="https://chatgpt.com/aip/g-1/oauth/callback"
    )
    r = exchange(
        client,
        code,
        redirect_uri="https://chatgpt.com/aip/g-1/oauth/callback",
        client_id="gpt-action",
        secret=secret,
    )
    assert_tokens(r)


# --- RFC 8707: resource indicators ---------------------------------------------------------


def test_the_resource_at_the_token_endpoint_must_be_the_grants(app, client):
    code = get_code(app, resource=BASE_URL)
    assert_oauth_error(
        exchange(client, code, extra={"resource": BASE_URL + "/elsewhere"}), "invalid_target"
    )
    body = assert_tokens(exchange(client, code, extra={"resource": BASE_URL}))
    elsewhere = refresh(client, body["refresh_token"], extra={"resource": "https://evil.example"})
    assert_oauth_error(elsewhere, "invalid_target")
    assert_tokens(refresh(client, body["refresh_token"], extra={"resource": BASE_URL}))


def test_a_sqlite_database_of_an_older_version_gains_the_resource_column(make_app, tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE oauth_grants (id TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_name TEXT NOT NULL,"
            " scope TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION)"
        )
    app = make_app(database_url=f"sqlite:///{path}")
    assert oauth_store.create_grant(app.state.db, CLIENT_ID, "alice", "read", 0.0, BASE_URL)


def test_a_resource_named_only_at_the_token_endpoint_must_be_this_server(app, client):
    code = get_code(app)  # for the REST API: the authorization request named no resource
    for other in ("https://evil.example", *RESOURCES[1:]):  # the second: the MCP endpoint
        assert_oauth_error(exchange(client, code, extra={"resource": other}), "invalid_target")
    assert_tokens(exchange(client, code, extra={"resource": BASE_URL}))


# --- C11: POST only, form or JSON, no repeats -----------------------------------------------


@pytest.mark.parametrize("auth", ["post", "basic"])
@pytest.mark.parametrize("content", ["form", "json"])
def test_c11_c12_form_and_json_bodies_with_both_auth_methods(app, client, auth, content):
    code = get_code(app)
    body = assert_tokens(exchange(client, code, auth=auth, content=content))
    assert_tokens(refresh(client, body["refresh_token"], auth=auth, content=content))


def test_c11_get_is_refused(client):
    r = client.get("/oauth/token", params={"grant_type": "authorization_code"})
    assert r.status_code == 405
    assert "access_token" not in r.text


def test_c11_repeated_parameters_are_invalid_request(app, client):
    code = get_code(app)
    body = f"grant_type=authorization_code&code={code}&code={code}&redirect_uri={REDIRECT_URI}&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}"
    r = client.post(
        "/oauth/token", content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert_oauth_error(r, "invalid_request")
    dup_json = '{"grant_type": "authorization_code", "grant_type": "authorization_code"}'
    r = client.post("/oauth/token", content=dup_json, headers={"Content-Type": "application/json"})
    assert_oauth_error(r, "invalid_request")
    assert_tokens(exchange(client, code))


@pytest.mark.parametrize(
    "content,ctype",
    [
        ("grant_type=authorization_code", "text/plain"),
        ("{not json", "application/json"),
        ('{"code": 5}', "application/json"),
        ("[]", "application/json"),
    ],
)
def test_c11_unreadable_bodies_are_invalid_request(client, content, ctype):
    r = client.post("/oauth/token", content=content, headers={"Content-Type": ctype})
    assert_oauth_error(r, "invalid_request")


# --- C12: client authentication -------------------------------------------------------------


def test_c12_both_methods_at_once_are_invalid_request(app, client):
    code = get_code(app)
    basic = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    assert_oauth_error(
        client.post("/oauth/token", data=data, headers={"Authorization": basic}), "invalid_request"
    )


def test_c12_secret_in_the_query_string_is_refused(app, client):
    code = get_code(app)
    r = client.post(
        "/oauth/token",
        params={"client_secret": CLIENT_SECRET},
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID,
        },
    )
    assert_oauth_error(r, "invalid_request")


def test_c12_wrong_secret_is_401_invalid_client(app, client):
    code = get_code(app)
    r = exchange(
        client, code, secret=CLIENT_SECRET[:-1] + ("A" if CLIENT_SECRET[-1] != "A" else "B")
    )
    assert_oauth_error(r, "invalid_client", 401)
    assert "www-authenticate" not in r.headers
    r = exchange(client, code, auth="basic", secret="pcs_wrong")
    assert_oauth_error(r, "invalid_client", 401)
    assert r.headers["www-authenticate"].startswith("Basic")
    assert_oauth_error(exchange(client, code, auth="none"), "invalid_client", 401)
    assert_oauth_error(exchange(client, code, client_id="nobody"), "invalid_client", 401)
    assert_tokens(exchange(client, code))


def test_c12_basic_credentials_are_form_decoded(app, client, settings):
    secret = oauth_store.add_client(app.state.db, settings, "a.b-c_d", [REDIRECT_URI], 0)
    code = get_code(app, client_id="a.b-c_d")
    assert_tokens(exchange(client, code, auth="basic", client_id="a.b-c_d", secret=secret))


def test_c12_secrets_are_compared_in_constant_time():
    import inspect

    source = inspect.getsource(oauth_store.Client.secret_matches)
    assert "hmac.compare_digest" in source


# --- C13: brute force -----------------------------------------------------------------------


def test_c13_repeated_client_failures_get_429_with_retry_after(app, client, clock):
    code = get_code(app)
    wrong = "pcs_" + "w" * 43  # pragma: allowlist secret
    for _ in range(10):
        assert exchange(client, code, secret=wrong).status_code == 401
    r = exchange(client, code, secret=wrong)
    assert r.status_code == 429
    assert int(r.headers["retry-after"]) > 0
    assert r.json()["error"] == "invalid_client"
    clock.advance(301)
    assert exchange(client, code, secret=wrong).status_code == 401, "a new window"


def test_c13_repeated_login_failures_get_429(app, clock):
    from tests.oauth_helpers import authorize_params, browser, login, make_user

    make_user(app)
    b = browser(app)
    wrong = "wrong password"  # pragma: allowlist secret
    for _ in range(10):
        assert "Wrong user name" in login(b, authorize_params(), password=wrong).text
    r = login(b, authorize_params())
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    clock.advance(301)
    assert login(b, authorize_params()).status_code == 303


def test_c11_oversized_bodies_are_refused(client):
    r = client.post(
        "/oauth/token",
        content=b"a=" + b"b" * 100_000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413


# --- C14 ------------------------------------------------------------------------------------


def test_c11_deeply_nested_json_is_invalid_request(client):
    for body in (b"[" * 10_000, b'{"a": ' * 2_000):
        r = client.post("/oauth/token", content=body, headers={"Content-Type": "application/json"})
        assert_oauth_error(r, "invalid_request")


@pytest.mark.parametrize(
    "field,value",
    [
        ("client_id", "\ud800"),  # a lone surrogate, which JSON can carry and UTF-8 cannot
        ("client_assertion", "\ud800"),
        ("client_id", "https://[::1/client.json"),
        ("client_id", "https://example.com:99999/client.json"),
    ],
)
def test_c14_odd_client_parameters_are_client_errors(client, field, value):
    body = {"grant_type": "refresh_token", "refresh_token": "prt_guess", "token": "prt_guess"}
    content = json.dumps({**body, field: value})
    for path in ("/oauth/token", "/oauth/revoke"):
        r = client.post(path, content=content, headers={"Content-Type": "application/json"})
        assert r.status_code in (400, 401), (path, r.status_code, r.text)
        assert r.json()["error"] in ("invalid_request", "invalid_client")


def test_c14_errors_are_rfc6749_json_without_traces(client):
    for r in (
        client.post("/oauth/token", data={"grant_type": "authorization_code"}),
        client.post(
            "/oauth/token",
            content=b"\xff\xfe",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        token_request(
            client,
            {"grant_type": "authorization_code", "code": "pac_nope", "redirect_uri": REDIRECT_URI},
        ),
    ):
        assert r.status_code in (400, 401)
        assert set(r.json()) == {"error", "error_description"}
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["content-type"].startswith("application/json")

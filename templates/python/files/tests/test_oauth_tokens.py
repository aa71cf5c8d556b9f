"""Tokens and the API they open (C15–C18, C21–C23)."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from app import oauth_store
from app.settings import BASE_URL, SCOPES
from tests.oauth_helpers import (
    CLIENT_ID,
    CLIENT_SECRET,
    PASSWORD,
    api_get,
    exchange,
    get_code,
    refresh,
    tokens,
)
from tests.spec import fill, operations

OPERATIONS = list(operations())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def call(client, method, path, op, headers):
    return client.request(
        method, fill(path), headers=headers, json={"text": "x"} if "requestBody" in op else None
    )


# --- C15 ------------------------------------------------------------------------------------


def test_c15_tokens_are_long_random_and_prefixed(app, client):
    code = get_code(app)
    body = exchange(client, code).json()
    values = {"pac_": code, "pat_": body["access_token"], "prt_": body["refresh_token"]}
    for prefix, value in values.items():
        # 32 bytes from `secrets` (the OS CSPRNG) in base64url: 256 bits.
        assert value.startswith(prefix) and len(value) == len(prefix) + 43
    again = exchange(client, get_code(app, "bob")).json()
    assert {again["access_token"], again["refresh_token"]}.isdisjoint(values.values())


def test_c15_only_hashes_are_stored(app, client, settings, dump):
    code = get_code(app)
    body = exchange(client, code).json()
    extra_secret = oauth_store.add_client(
        app.state.db, settings, "another", ["https://x.example/cb"], 0
    )
    rows = dump(app.state.db)
    for secret in (code, body["access_token"], body["refresh_token"], extra_secret, PASSWORD):
        assert secret not in rows
        assert secret[4:] not in rows
    assert oauth_store.digest(body["access_token"]) in rows
    assert "$argon2id$" in rows  # the password's hash
    db = app.state.db
    if db.path is not None:  # SQLite: the files themselves
        raw = db.path.read_bytes() + b"".join(p.read_bytes() for p in db.path.parent.glob("*-wal"))
        for secret in (code, body["access_token"], body["refresh_token"], extra_secret):
            assert secret.encode() not in raw


# --- C16 ------------------------------------------------------------------------------------


def test_c16_access_tokens_expire_after_an_hour(app, client, clock):
    body = tokens(app, client)
    assert body["expires_in"] == 3600
    clock.advance(3599)
    assert api_get(client, body["access_token"]).status_code == 200
    clock.advance(2)
    r = api_get(client, body["access_token"])
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert refresh(client, body["refresh_token"]).status_code == 200


def test_c16_refresh_rotates_and_the_old_one_stops_working(app, client):
    first = tokens(app, client)
    second = refresh(client, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert api_get(client, second["access_token"]).status_code == 200
    third = refresh(client, second["refresh_token"])
    assert third.status_code == 200


def test_c16_refresh_reuse_revokes_the_whole_grant(app, client):
    first = tokens(app, client)
    second = refresh(client, first["refresh_token"]).json()
    assert api_get(client, second["access_token"]).status_code == 200
    reuse = refresh(client, first["refresh_token"])
    assert reuse.status_code == 400 and reuse.json()["error"] == "invalid_grant"
    assert api_get(client, second["access_token"]).status_code == 401
    assert refresh(client, second["refresh_token"]).json()["error"] == "invalid_grant"


def test_c16_concurrent_refreshes_exactly_one_succeeds(app):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    with TestClient(app) as c:
        body = tokens(app, c)
    barrier = threading.Barrier(4)

    def use(_):
        with TestClient(app) as c:
            barrier.wait()
            return refresh(c, body["refresh_token"]).status_code

    with ThreadPoolExecutor(4) as pool:
        assert sorted(pool.map(use, range(4))) == [200, 400, 400, 400]


def test_c16_refreshed_tokens_share_their_grants_request_budget(make_app, clock):
    # The API's limit is per grant (a user's consent to a client), not per access token: else
    # each refresh would bring a fresh budget, and every older token would keep its own.
    app = make_app(rate_limit_per_minute=2)
    app.state.clock = clock
    with TestClient(app) as client:
        first = tokens(app, client)
        assert api_get(client, first["access_token"]).status_code == 200
        second = refresh(client, first["refresh_token"]).json()
        assert api_get(client, second["access_token"]).status_code == 200
        assert api_get(client, second["access_token"]).status_code == 429
        assert api_get(client, first["access_token"]).status_code == 429


def test_c16_refresh_tokens_have_an_absolute_lifetime(app, client, clock):
    body = tokens(app, client)
    for _ in range(29):  # refresh daily: rotation never extends the 30 days
        clock.advance(86400)
        body = refresh(client, body["refresh_token"]).json()
        assert "access_token" in body, body
    clock.advance(86401)
    r = refresh(client, body["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_c16_refresh_tokens_are_bound_to_the_client(app, client, settings):
    body = tokens(app, client)
    other = oauth_store.add_client(app.state.db, settings, "other", ["https://o.example/cb"], 0)
    r = refresh(client, body["refresh_token"], client_id="other", secret=other)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert refresh(client, body["refresh_token"]).status_code == 200


@pytest.mark.skipif(len(SCOPES) < 2, reason="needs two scopes")
def test_c16_scope_never_grows_on_refresh(app, client):
    narrow = tokens(app, client, scope=SCOPES[0])
    r = refresh(client, narrow["refresh_token"], extra={"scope": " ".join(SCOPES)})
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    again = refresh(client, narrow["refresh_token"])
    assert again.status_code == 200 and again.json()["scope"] == SCOPES[0]


@pytest.mark.skipif(len(SCOPES) < 2, reason="needs two scopes")
def test_c16_scope_may_narrow_on_refresh_and_the_grant_keeps_its_scope(app, client):
    full = tokens(app, client)
    narrowed = refresh(client, full["refresh_token"], extra={"scope": SCOPES[0]}).json()
    assert narrowed["scope"] == SCOPES[0]
    widened_back = refresh(client, narrowed["refresh_token"]).json()
    assert widened_back["scope"] == " ".join(SCOPES)


# --- C17 ------------------------------------------------------------------------------------


def test_c17_tokens_only_in_the_authorization_header(app, client):
    body = tokens(app, client)
    method, path, op = OPERATIONS[0]
    token = body["access_token"]
    for kwargs in (
        {"params": {"access_token": token}},
        {"data": {"access_token": token}} if method != "GET" else {"params": {"token": token}},
        {"headers": {"Authorization": f"Basic {token}"}},
        {"headers": {"Cookie": f"access_token={token}"}},
    ):
        r = client.request(method, fill(path), **kwargs)
        assert r.status_code == 401, kwargs
        assert r.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("token", ["pat_" + "A" * 43, "prt_" + "A" * 43, "", "pat_"])
def test_c17_invalid_tokens_get_401_with_www_authenticate(client, token):
    method, path, op = OPERATIONS[0]
    r = call(client, method, path, op, bearer(token))
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")


def test_c17_refresh_tokens_and_codes_are_not_access_tokens(app, client):
    code = get_code(app)
    assert api_get(client, code).status_code == 401
    body = exchange(client, code).json()
    assert api_get(client, body["refresh_token"]).status_code == 401
    assert api_get(client, body["access_token"]).status_code == 200


@pytest.mark.parametrize(
    "method,path,op", OPERATIONS, ids=[o[2]["operationId"] for o in OPERATIONS]
)
def test_c17_each_operation_needs_its_scope(app, client, method, path, op):
    needed = op["security"][0]["oauth2"]
    assert needed and all(s in SCOPES for s in needed)
    others = [s for s in SCOPES if s not in needed]
    if not others:
        pytest.skip("only one scope")
    body = tokens(app, client, scope=" ".join(others))
    r = call(client, method, path, op, bearer(body["access_token"]))
    assert r.status_code == 403
    assert "insufficient_scope" in r.headers["www-authenticate"]
    full = tokens(app, client, make=False)
    assert call(client, method, path, op, bearer(full["access_token"])).status_code != 403


# --- C18 ------------------------------------------------------------------------------------


def revoke(client, token: str, **extra):
    return client.post(
        "/oauth/revoke",
        data={"token": token, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **extra},
    )


def test_c18_revoking_an_access_token(app, client):
    body = tokens(app, client)
    assert api_get(client, body["access_token"]).status_code == 200
    r = revoke(client, body["access_token"], token_type_hint="access_token")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert api_get(client, body["access_token"]).status_code == 401
    assert refresh(client, body["refresh_token"]).status_code == 200


def test_c18_revoking_a_refresh_token_revokes_the_grant(app, client):
    body = tokens(app, client)
    assert api_get(client, body["access_token"]).status_code == 200
    assert revoke(client, body["refresh_token"]).status_code == 200
    assert api_get(client, body["access_token"]).status_code == 401
    assert refresh(client, body["refresh_token"]).status_code == 400


def test_c18_unknown_tokens_and_other_clients_tokens(app, client, settings):
    assert revoke(client, "pat_" + "x" * 43).status_code == 200
    body = tokens(app, client)
    other = oauth_store.add_client(app.state.db, settings, "other", ["https://o.example/cb"], 0)
    r = client.post(
        "/oauth/revoke",
        data={"token": body["access_token"], "client_id": "other", "client_secret": other},
    )
    assert r.status_code == 200
    assert api_get(client, body["access_token"]).status_code == 200  # not other's to revoke


def test_c18_revocation_needs_client_authentication(app, client):
    body = tokens(app, client)
    r = client.post(
        "/oauth/revoke",
        data={"token": body["access_token"], "client_id": CLIENT_ID, "client_secret": "pcs_bad"},
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert api_get(client, body["access_token"]).status_code == 200


def test_c18_a_user_can_have_every_grant_revoked(app, client):
    first, second = tokens(app, client), tokens(app, client, make=False)
    bob = tokens(app, client, user="bob")
    for body in (first, second, bob):
        assert api_get(client, body["access_token"]).status_code == 200
    assert oauth_store.revoke_user_grants(app.state.db, "alice", app.state.clock()) == 2
    for body in (first, second):
        assert api_get(client, body["access_token"]).status_code == 401
        assert refresh(client, body["refresh_token"]).status_code == 400
    assert api_get(client, bob["access_token"]).status_code == 200


def test_c18_a_code_of_a_revoked_grant_gives_no_tokens(app, client):
    code = get_code(app)
    oauth_store.revoke_user_grants(app.state.db, "alice", app.state.clock())
    r = exchange(client, code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


# --- C21 ------------------------------------------------------------------------------------


def test_c21_authorization_server_metadata(client):
    r = client.get("/.well-known/oauth-authorization-server")
    assert r.status_code == 200
    m = r.json()
    assert m["issuer"] == BASE_URL
    assert m["authorization_endpoint"] == f"{BASE_URL}/oauth/authorize"
    assert m["token_endpoint"] == f"{BASE_URL}/oauth/token"
    assert m["revocation_endpoint"] == f"{BASE_URL}/oauth/revoke"
    assert m["code_challenge_methods_supported"] == ["S256"]
    assert m["response_types_supported"] == ["code"]
    assert m["authorization_response_iss_parameter_supported"] is True
    assert set(m["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    # With the mcp surface, public clients (`none`) and offline_access too (test_oauth_register.py).
    assert {"client_secret_basic", "client_secret_post"} <= set(
        m["token_endpoint_auth_methods_supported"]
    )
    assert [s for s in m["scopes_supported"] if s != "offline_access"] == list(SCOPES)


def test_c21_protected_resource_metadata_for_mcp_clients(client):
    r = client.get("/.well-known/oauth-protected-resource")
    assert r.json() == {
        "resource": BASE_URL,
        "authorization_servers": [BASE_URL],
        "scopes_supported": list(SCOPES),
        "bearer_methods_supported": ["header"],
    }
    method, path, op = OPERATIONS[0]
    challenge = call(client, method, path, op, {}).headers["www-authenticate"]
    assert (
        challenge == f'Bearer resource_metadata="{BASE_URL}/.well-known/oauth-protected-resource"'
    )


def test_c21_metadata_agrees_with_spec(client):
    from tests.spec import SPEC

    m = client.get("/.well-known/oauth-authorization-server").json()
    flow = SPEC["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == m["authorization_endpoint"]
    assert flow["tokenUrl"] == m["token_endpoint"]
    assert set(flow["scopes"]) == set(m["scopes_supported"]) - {"offline_access"}


# --- C22 ------------------------------------------------------------------------------------


def test_c22_identity_comes_from_the_token_never_from_parameters(app, client):
    creates = [(m, p, o) for m, p, o in OPERATIONS if m == "POST" and not p.endswith("}")]
    lists = {p for m, p, o in OPERATIONS if m == "GET" and not p.endswith("}")}
    pairs = [(p, o) for m, p, o in creates if p in lists]
    if not pairs:
        pytest.skip("the spec has no create + list pair")
    path, _ = pairs[0]
    alice, bob = tokens(app, client), tokens(app, client, user="bob")
    r = client.post(
        fill(path),
        json={"text": "alice's"},
        headers=bearer(alice["access_token"]),
        params={"user": "bob", "username": "bob"},
    )
    assert r.status_code == 201
    spoof = client.get(
        fill(path),
        headers={**bearer(bob["access_token"]), "X-User": "alice"},
        params={"user": "alice", "user_id": "alice"},
    )
    assert spoof.json()["items"] == []
    mine = client.get(fill(path), headers=bearer(alice["access_token"])).json()["items"]
    assert [i["text"] for i in mine] == ["alice's"]


# --- C23 ------------------------------------------------------------------------------------


def test_c23_no_secret_or_token_reaches_the_logs(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    code = get_code(app)
    body = exchange(client, code).json()
    new = refresh(client, body["refresh_token"], auth="basic").json()
    api_get(client, new["access_token"])
    client.post(
        "/oauth/revoke",
        data={"token": new["access_token"], "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
    )
    server = "\n".join(
        r.getMessage()
        for r in caplog.records
        if r.name.split(".")[0] in ("app", "uvicorn", "fastapi")
    )
    assert "/oauth/token" in server, "requests are logged"
    for secret in (
        code,
        body["access_token"],
        body["refresh_token"],
        new["access_token"],
        CLIENT_SECRET,
        PASSWORD,
    ):
        assert secret not in server
        assert secret[4:] not in server


def test_c23_the_log_filter_redacts_oauth_secrets():
    from app.security import redact

    line = redact(
        "code=pac_"
        + "a" * 43
        + " Basic Y2xpZW50OnNlY3JldA== pat_"
        + "b" * 43
        + " client_secret=pcs_"
        + "c" * 43
        + " refresh_token=prt_"
        + "d" * 43
        + " password=hunter2hunter2"
    )
    for s in ("a" * 43, "b" * 43, "c" * 43, "d" * 43, "Y2xpZW50OnNlY3JldA", "hunter2"):
        assert s not in line

"""Dynamic client registration (RFC 7591) and what MCP clients need of the authorization server:
public clients with PKCE, loopback redirects on any port, offline_access, the metadata."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app import oauth_register
from app.settings import BASE_URL, MCP_URL, SCOPES
from app.tables import clients
from tests.oauth_helpers import (
    browser,
    consent,
    login,
    make_user,
    pkce_pair,
    redirect_query,
    token_request,
)

CALLBACK = "http://127.0.0.1:33418/callback"


def register(client, **metadata):
    body = {
        "redirect_uris": [CALLBACK],
        "token_endpoint_auth_method": "none",
        "client_name": "Test MCP client",
    }
    body.update(metadata)
    return client.post("/oauth/register", json={k: v for k, v in body.items() if v is not ...})


def params_for(client_id: str, redirect_uri: str = CALLBACK, **extra) -> tuple[dict[str, str], str]:
    """An MCP client's authorization request (PKCE S256, `resource`), and its PKCE verifier."""
    verifier, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": "s-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": MCP_URL,
        **extra,
    }
    return params, verifier


def authorize(
    app,
    client_id: str,
    redirect_uri: str = CALLBACK,
    user: str = "alice",
    new_user: bool = True,
    **extra,
):
    """Signs in (as a new user, unless told) and allows; returns the redirect's query and the
    PKCE verifier."""
    params, verifier = params_for(client_id, redirect_uri, **extra)
    if new_user:
        make_user(app, user)
    b = browser(app)
    assert login(b, params, user).status_code == 303
    return redirect_query(consent(b, params)), verifier


def redeem(client, query: dict[str, str], verifier: str, client_id: str, **extra):
    """The token request for the code in `query`, as a public client (or with `extra`)."""
    data = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": CALLBACK,
        "client_id": client_id,
        "code_verifier": verifier,
        **extra,
    }
    return client.post("/oauth/token", data=data)


def test_the_metadata_names_registration_public_clients_and_offline_access(client):
    meta = client.get("/.well-known/oauth-authorization-server").json()
    assert meta["registration_endpoint"] == f"{BASE_URL}/oauth/register"
    assert meta["issuer"] == BASE_URL and meta["code_challenge_methods_supported"] == ["S256"]
    assert {"none", "client_secret_post", "client_secret_basic"} <= set(
        meta["token_endpoint_auth_methods_supported"]
    )
    assert meta["scopes_supported"] == [*SCOPES, "offline_access"]
    assert meta["authorization_response_iss_parameter_supported"] is True


def test_a_public_client_registers_and_gets_tokens_for_the_mcp_endpoint_with_pkce(app, client):
    r = register(client)
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    registered = r.json()
    assert registered["client_id"].startswith("mcp_") and "client_secret" not in registered
    assert (
        registered["redirect_uris"] == [CALLBACK]
        and registered["token_endpoint_auth_method"] == "none"
    )
    query, verifier = authorize(app, registered["client_id"], scope="read offline_access")
    r = redeem(client, query, verifier, registered["client_id"], resource=MCP_URL)
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["scope"] == "read" and tokens["refresh_token"]
    r = client.post(
        "/oauth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": registered["client_id"],
        },
    )
    assert r.status_code == 200 and r.json()["refresh_token"] != tokens["refresh_token"]


def test_a_public_client_must_use_pkce(client):
    client_id = register(client).json()["client_id"]
    params, _ = params_for(client_id, code_challenge=None, code_challenge_method=None)
    params = {k: v for k, v in params.items() if v is not None}
    assert (
        redirect_query(browser(client.app).get("/oauth/authorize", params=params))["error"]
        == "invalid_request"
    )


def test_a_public_client_sending_a_secret_is_refused(app, client):
    client_id = register(client).json()["client_id"]
    query, verifier = authorize(app, client_id)
    r = redeem(client, query, verifier, client_id, client_secret="pcs_" + "x" * 43)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_a_confidential_client_registers_with_a_secret_shown_once(app, client):
    r = register(client, token_endpoint_auth_method="client_secret_post")
    registered = r.json()
    assert (
        registered["client_secret"].startswith("pcs_")
        and registered["client_secret_expires_at"] == 0
    )
    query, verifier = authorize(app, registered["client_id"])
    data = {
        "grant_type": "authorization_code",
        "code": query["code"],
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    r = token_request(
        client, data, client_id=registered["client_id"], secret=registered["client_secret"]
    )
    assert r.status_code == 200, r.text
    # Without its secret it is not a public client.
    query, verifier = authorize(app, registered["client_id"], new_user=False)
    r = client.post(
        "/oauth/token",
        data={
            **data,
            "code": query["code"],
            "code_verifier": verifier,
            "client_id": registered["client_id"],
        },
    )
    assert r.status_code == 401


def test_null_and_empty_optional_fields_count_as_absent(client):
    r = register(
        client,
        client_name=None,
        grant_types=[],
        response_types=None,
        scope="",
        client_uri=None,
        logo_uri="",
        contacts=None,
        token_endpoint_auth_method=None,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    # The answer says what the server does (RFC 7591 §3.2.1): it issues refresh tokens to all.
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"


@pytest.mark.parametrize(
    "uri",
    [
        "http://evil.example/callback",
        "javascript:alert(1)",
        "https://claude.ai/cb#frag",
        "https://user@claude.ai/cb",
        "https://*.claude.ai/cb",
        "ftp://claude.ai/cb",
        "/relative",
        "https://[::1/cb",
        "https://claude.ai:99999/cb",
    ],
)
def test_unsafe_redirect_uris_are_refused(client, uri):
    r = register(client, redirect_uris=[uri])
    assert r.status_code == 400 and r.json()["error"] == "invalid_redirect_uri"


@pytest.mark.parametrize(
    "body",
    [
        {"redirect_uris": []},
        {},
        {"redirect_uris": "https://a.example/cb"},
        {
            "redirect_uris": ["https://a.example/cb"],
            "token_endpoint_auth_method": "private_key_jwt",
        },
        {"redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]},
        {"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]},
        {"redirect_uris": ["https://a.example/cb"], "client_name": 5},
    ],
)
def test_bad_metadata_is_a_400_saying_why(client, body):
    r = client.post("/oauth/register", json=body)
    assert r.status_code == 400 and r.json()["error"] in (
        "invalid_redirect_uri",
        "invalid_client_metadata",
    )
    assert r.json()["error_description"]
    for unreadable in (b"[1, 2", b"[" * 10_000):  # the second nested too deep to parse
        r = client.post(
            "/oauth/register", content=unreadable, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400 and r.json()["error"] == "invalid_client_metadata"


def test_a_loopback_redirect_comes_back_on_any_port_but_nothing_else_changes(app, client):
    client_id = register(client).json()["client_id"]
    query, _ = authorize(app, client_id, redirect_uri="http://127.0.0.1:50123/callback")
    assert query["code"]
    for other in (
        "http://127.0.0.1:50123/other",
        "http://localhost:50123/callback",
        "https://127.0.0.1:50123/callback",
        "http://127.0.0.1:50123/callback?x=1",
        "http://evil@127.0.0.1:50123/callback",
    ):
        r = browser(app).get("/oauth/authorize", params=params_for(client_id, other)[0])
        assert r.status_code == 400, other


def test_the_consent_page_says_the_client_named_itself_and_warns_of_a_loopback_redirect(
    app, client
):
    client_id = register(client, client_name="<b>Claude</b>").json()["client_id"]
    make_user(app)
    params, _ = params_for(client_id)
    b = browser(app)
    assert login(b, params).status_code == 303
    page = b.get("/oauth/authorize", params=params)
    assert "&lt;b&gt;Claude&lt;/b&gt;" in page.text and "<b>Claude</b>" not in page.text
    assert "registered itself" in page.text
    assert "127.0.0.1:33418" in page.text and "Warning" in page.text


def test_an_unknown_client_at_the_token_endpoint_gets_401_invalid_client(client):
    r = client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": "x",
            "redirect_uri": CALLBACK,
            "client_id": "mcp_unknown",
        },
    )
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_registrations_no_user_allowed_are_deleted_after_the_configured_time(app, client, settings):
    unused = register(client).json()["client_id"]
    used = register(client).json()["client_id"]
    authorize(app, used)
    now = app.state.clock()
    assert oauth_register.purge_unused(app.state.db, settings, now) == 0
    assert (
        oauth_register.purge_unused(
            app.state.db, settings, now + settings.oauth_unused_client_lifetime + 1
        )
        == 1
    )
    r = browser(app).get(
        "/oauth/authorize", params={"client_id": unused, "redirect_uri": CALLBACK, "state": "s"}
    )
    assert r.status_code == 400 and "Unknown client" in r.text
    query, _ = authorize(app, used, user="alice2")
    assert query["code"]


def test_at_most_a_set_number_of_registrations_no_user_allowed_are_kept(
    app, client, clock, monkeypatch
):
    # Anyone may register: unbounded, registrations would fill the disk. The oldest unused go
    # first (a client whose registration is gone registers again); an allowed client stays.
    monkeypatch.setattr(oauth_register, "MAX_UNUSED_CLIENTS", 3)
    used = register(client).json()["client_id"]
    authorize(app, used)
    unused = []
    for _ in range(oauth_register.MAX_UNUSED_CLIENTS + 2):
        clock.advance(1)
        unused.append(register(client).json()["client_id"])
    with app.state.db.begin() as conn:
        kept = set(conn.scalars(select(clients.c.client_id).where(clients.c.registered == 1)))
    assert kept == {used, *unused[2:]}

"""authlib's OAuth 2 client runs the authorization-code flow against the generated server:
both client authentication methods, form and JSON bodies, refresh, revoke; then PKCE S256 with
a `resource` as an MCP client does. Any deviation from what the library expects fails."""

from __future__ import annotations

import secrets

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

import oauth_flow
from conftest import target_names
from support import query_of

OAUTH_TARGETS = [n for n in target_names() if n.startswith("oauth")]

pytestmark = [pytest.mark.tool("authlib"), pytest.mark.parametrize("name", OAUTH_TARGETS)]


def _api(target, token: str) -> int:
    return httpx.get(target.url + "/todos", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code


def test_metadata_is_valid_rfc8414(name, target_for, record_property):
    target = target_for(name)
    meta = AuthorizationServerMetadata(oauth_flow.metadata(target))
    # authlib's RFC 8414 validator (it accepts http only for localhost, the generated default).
    meta.validate()
    assert "S256" in meta["code_challenge_methods_supported"]
    assert {"client_secret_post", "client_secret_basic"} <= set(meta["token_endpoint_auth_methods_supported"])
    record_property("detail", "AuthorizationServerMetadata.validate() passes; S256, both auth methods")


@pytest.mark.parametrize("auth_method", ["client_secret_post", "client_secret_basic"])
@pytest.mark.parametrize("body", ["form", "json"])
def test_code_flow_refresh_revoke(name, auth_method, body, target_for, record_property):
    target = target_for(name)
    meta = oauth_flow.metadata(target)
    token_url = oauth_flow.local(target, meta["token_endpoint"])
    revoke_url = oauth_flow.local(target, meta["revocation_endpoint"])
    oauth = oauth_flow.client(target, auth_method, json_body=(body == "json"))

    redirect, state = oauth_flow.authorize(target, oauth)
    assert query_of(redirect)["state"] == state, "state must come back byte for byte"
    token = oauth.fetch_token(token_url, authorization_response=redirect, state=state)
    assert token["token_type"].lower() == "bearer"
    assert token.get("refresh_token"), "ChatGPT needs a refresh token"
    assert int(token["expires_in"]) > 0
    assert set(token.get("scope", "read write").split()) == {"read", "write"}
    # authlib attaches the token itself.
    assert oauth.get(target.url + "/todos").status_code == 200

    first_refresh = token["refresh_token"]
    refreshed = oauth.refresh_token(token_url, refresh_token=first_refresh)
    assert refreshed["refresh_token"] != first_refresh, "refresh tokens rotate"
    assert refreshed["access_token"] != token["access_token"]
    assert _api(target, refreshed["access_token"]) == 200

    # RFC 7009: revoking the refresh token; it must no longer refresh.
    oauth.revoke_token(revoke_url, token=refreshed["refresh_token"], token_type_hint="refresh_token")
    with pytest.raises(OAuthError) as e:
        oauth.refresh_token(token_url, refresh_token=refreshed["refresh_token"])
    assert e.value.error == "invalid_grant"

    # And an access token revoked on its own stops working at once.
    other = oauth_flow.client(target, auth_method, json_body=(body == "json"))
    redirect, state = oauth_flow.authorize(target, other)
    fresh = other.fetch_token(token_url, authorization_response=redirect, state=state)
    assert _api(target, fresh["access_token"]) == 200
    other.revoke_token(revoke_url, token=fresh["access_token"], token_type_hint="access_token")
    assert _api(target, fresh["access_token"]) == 401
    if body == "json":
        assert oauth.json_transport.sent_json >= 3, "the token and refresh requests went as JSON"
    record_property("detail", f"{auth_method}, {body} body: code → token → API → refresh (rotated) → revoke")


def test_pkce_s256_with_resource_as_mcp_client(name, target_for, record_property):
    target = target_for(name)
    meta = oauth_flow.metadata(target)
    token_url = oauth_flow.local(target, meta["token_endpoint"])
    resource = meta["issuer"]  # the server's public base URL
    oauth = oauth_flow.client(target, code_challenge_method="S256")

    verifier = generate_token(64)
    redirect, state = oauth_flow.authorize(target, oauth, code_verifier=verifier, resource=resource)
    assert "code_challenge=" not in redirect
    token = oauth.fetch_token(
        token_url, authorization_response=redirect, state=state, code_verifier=verifier, resource=resource
    )
    assert _api(target, token["access_token"]) == 200
    refreshed = oauth.refresh_token(token_url, refresh_token=token["refresh_token"], resource=resource)
    assert _api(target, refreshed["access_token"]) == 200

    # A wrong verifier is refused with invalid_grant.
    other = oauth_flow.client(target, code_challenge_method="S256")
    redirect, state = oauth_flow.authorize(target, other, code_verifier=generate_token(64), resource=resource)
    with pytest.raises(OAuthError) as e:
        other.fetch_token(token_url, authorization_response=redirect, state=state,
                          code_verifier=generate_token(64), resource=resource)
    assert e.value.error == "invalid_grant"
    record_property("detail", "PKCE S256 + resource: token, API, refresh; wrong verifier → invalid_grant")


def test_state_comes_back_unchanged(name, target_for, record_property):
    """A state that needs percent-encoding comes back byte for byte, and authlib accepts it."""
    target = target_for(name)
    oauth = oauth_flow.client(target)
    state = "s p/a+c=e&%41~é" + secrets.token_hex(4)
    redirect, sent = oauth_flow.authorize(target, oauth, state=state)
    assert query_of(redirect)["state"] == state
    meta = oauth_flow.metadata(target)
    token = oauth.fetch_token(oauth_flow.local(target, meta["token_endpoint"]), authorization_response=redirect, state=state)
    assert token["access_token"]
    record_property("detail", "a state with reserved characters comes back unchanged")

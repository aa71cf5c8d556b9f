"""The authorization endpoint (C1–C5, C10): every check happens before a page is shown, and
an untrusted redirect URI is never redirected to."""

from __future__ import annotations

import pytest

from app.main import create_app
from app.settings import BASE_URL, SCOPES, SettingsError, load_settings
from tests.oauth_helpers import (
    CLIENT_SECRET,
    LOOPBACK_URI,
    REDIRECT_URI,
    STATE,
    authorize_params,
    browser,
    consent,
    get_code,
    login,
    make_user,
    pkce_pair,
    redirect_query,
)

ALLOWED = "https://allowed.example/cb"
NEAR_MISSES = [
    "https://allowed.example/cb/",  # trailing slash
    "https://allowed.example/cb/x",  # extra path segment
    "https://allowed.example/cbx",  # longer last segment
    "https://allowed.example/cb?x=1",  # query added
    "https://allowed.example/cb#frag",  # fragment
    "HTTPS://allowed.example/cb",  # scheme case
    "https://ALLOWED.example/cb",  # host case
    "https://allowed.example/%63b",  # percent-encoding changed
    "https://allowed.example:443/cb",  # explicit (default) port
    "https://allowed.example:8443/cb",  # extra port
    "https://allowed.example.evil/cb",  # suffix domain
    "https://allowed.example@evil.example/cb",  # userinfo
    "https://evil.example/cb",
    "http://allowed.example/cb",  # scheme downgrade
    "",
]


@pytest.fixture
def narrow_app(settings, clock):
    app = create_app(settings.model_copy(update={"oauth_redirect_uris": (ALLOWED,)}))
    app.state.clock = clock
    yield app
    app.state.db.close()


def assert_error_page(r, status: int = 400):
    assert r.status_code == status, r.text
    assert "location" not in r.headers
    assert "text/html" in r.headers["content-type"]


@pytest.mark.parametrize("uri", NEAR_MISSES)
def test_c1_near_miss_redirect_uris_are_refused(narrow_app, uri):
    r = browser(narrow_app).get("/oauth/authorize", params=authorize_params(redirect_uri=uri))
    assert_error_page(r)


def test_c1_the_exact_redirect_uri_is_accepted(narrow_app):
    r = browser(narrow_app).get("/oauth/authorize", params=authorize_params(redirect_uri=ALLOWED))
    assert r.status_code == 200 and "name=username" in r.text


def test_c1_redirect_uris_come_from_the_environment():
    env = {
        "OAUTH_CLIENT_ID": "chatgpt",
        "OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_REDIRECT_URIS": f" {REDIRECT_URI} , {LOOPBACK_URI} ",
    }
    assert load_settings(env).oauth_redirect_uris == (REDIRECT_URI, LOOPBACK_URI)


@pytest.mark.parametrize("client_id", ["unknown", "", "chatgpt-test ", "CHATGPT-TEST"])
def test_c2_unknown_client_gets_an_error_page_not_a_redirect(app, client_id):
    r = browser(app).get("/oauth/authorize", params=authorize_params(client_id=client_id))
    assert_error_page(r)


@pytest.mark.parametrize(
    "params",
    [
        {"redirect_uri": "http://[::1/callback"},  # an IPv6 address left open
        {"redirect_uri": "http://127.0.0.1:99999/callback"},  # no such port
        {"client_id": "https://[::1/client.json"},
        {"client_id": "https://example.com:99999/client.json"},
    ],
)
def test_c2_malformed_urls_get_an_error_page(app, params):
    assert_error_page(browser(app).get("/oauth/authorize", params=authorize_params(**params)))


def test_c2_missing_redirect_uri_gets_an_error_page(app):
    r = browser(app).get("/oauth/authorize", params=authorize_params(redirect_uri=None))
    assert_error_page(r)


def test_c2_no_configured_redirect_uri_explains_what_to_set(settings, clock):
    app = create_app(settings.model_copy(update={"oauth_redirect_uris": ()}))
    r = browser(app).get("/oauth/authorize", params=authorize_params())
    app.state.db.close()
    assert_error_page(r)
    assert "OAUTH_REDIRECT_URIS" in r.text


@pytest.mark.parametrize(
    "uri,ok",
    [
        ("http://chat.openai.com/cb", False),
        ("http://example.com/cb", False),
        ("ftp://example.com/cb", False),
        ("https://example.com/cb#x", False),
        ("https://*.example.com/cb", False),
        ("http://localhost:3000/cb", True),
        ("http://127.0.0.1/cb", True),
        ("https://example.com/cb", True),
    ],
)
def test_c3_http_redirect_uris_only_on_loopback(uri, ok):
    env = {
        "OAUTH_CLIENT_ID": "chatgpt",
        "OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_REDIRECT_URIS": uri,
    }
    if ok:
        assert load_settings(env).oauth_redirect_uris == (uri,)
    else:
        with pytest.raises(SettingsError) as e:
            load_settings(env)
        assert "redirect URI" in str(e.value)


def test_c3_loopback_http_redirect_uri_works(app):
    code = get_code(app, redirect_uri=LOOPBACK_URI)
    assert code.startswith("pac_")


@pytest.mark.parametrize("response_type", ["token", "id_token", "code token", "", None, "CODE"])
def test_c4_only_response_type_code(app, response_type):
    r = browser(app).get("/oauth/authorize", params=authorize_params(response_type=response_type))
    q = redirect_query(r)
    assert (
        q["error"] == "unsupported_response_type" and q["state"] == STATE and q["iss"] == BASE_URL
    )
    assert r.headers["location"].startswith(REDIRECT_URI + "?")
    assert "code" not in q and "access_token" not in q


@pytest.mark.parametrize(
    "extra",
    [
        {"code_challenge": pkce_pair()[1], "code_challenge_method": "plain"},
        {"code_challenge": pkce_pair()[1]},  # no method: RFC 7636 would mean plain
        {"code_challenge": pkce_pair()[1], "code_challenge_method": "s256"},
        {"code_challenge_method": "S256"},  # method without challenge
        {"code_challenge": "short", "code_challenge_method": "S256"},
        {"code_challenge": "!" * 43, "code_challenge_method": "S256"},
    ],
)
def test_c5_pkce_only_s256_with_a_well_formed_challenge(app, extra):
    r = browser(app).get("/oauth/authorize", params=authorize_params(**extra))
    q = redirect_query(r)
    assert q["error"] == "invalid_request" and q["state"] == STATE


def test_c5_pkce_s256_is_accepted(app):
    _, challenge = pkce_pair()
    r = browser(app).get(
        "/oauth/authorize",
        params=authorize_params(code_challenge=challenge, code_challenge_method="S256"),
    )
    assert r.status_code == 200 and "name=username" in r.text


@pytest.mark.parametrize("state", ["a", "x y+z/=&%20é", "eyJhbGciOi.JIUzI1NiJ9-_~", "S" * 500])
def test_c10_state_comes_back_byte_for_byte(app, state):
    make_user(app)
    b = browser(app)
    params = authorize_params(state=state)
    assert login(b, params).status_code == 303
    q = redirect_query(consent(b, params))
    assert q["state"] == state and q["code"].startswith("pac_")


def test_c10_state_comes_back_on_errors_and_on_deny(app):
    make_user(app)
    b = browser(app)
    params = authorize_params(state="deny-me")
    login(b, params)
    r = consent(b, params, decision="deny")
    assert r.status_code == 303
    q = redirect_query(r)
    assert q == {
        "error": "access_denied",
        "error_description": "the user denied access",
        "state": "deny-me",
        "iss": BASE_URL,  # RFC 9207, on errors too
    }


@pytest.mark.parametrize("state", [None, ""])
def test_c10_a_request_without_state_is_refused(app, state):
    r = browser(app).get("/oauth/authorize", params=authorize_params(state=state))
    assert_error_page(r)
    assert "state" in r.text


def test_repeated_parameters_are_refused(app):
    params = list(authorize_params().items()) + [("redirect_uri", "https://evil.example/cb")]
    r = browser(app).get("/oauth/authorize", params=params)
    assert_error_page(r)


# `!` is not allowed in a configured scope, so these are unknown whatever the answers were;
# offline_access alone asks for a refresh token and no scope of this API.
@pytest.mark.parametrize("scope", ["admin!", SCOPES[0] + " admin!", "", "offline_access"])
def test_unknown_scopes_are_refused(app, scope):
    r = browser(app).get("/oauth/authorize", params=authorize_params(scope=scope))
    if scope == "":
        # An empty parameter counts as absent: every scope is asked for.
        assert r.status_code == 200
    else:
        assert redirect_query(r)["error"] == "invalid_scope"


def test_mcp_resource_must_be_this_server(app):
    r = browser(app).get(
        "/oauth/authorize", params=authorize_params(resource="https://other.example")
    )
    assert redirect_query(r)["error"] == "invalid_target"


def test_the_consent_page_names_the_client_and_the_scopes(app):
    make_user(app)
    b = browser(app)
    params = authorize_params()
    login(b, params)
    page = b.get("/oauth/authorize", params=params)
    assert "ChatGPT" in page.text and "alice" in page.text
    for scope in SCOPES:
        assert f"<code>{scope}</code>" in page.text
    assert "value=allow" in page.text and "value=deny" in page.text


def test_wrong_password_shows_the_login_page_again(app):
    make_user(app)
    b = browser(app)
    r = login(b, authorize_params(), password="wrong password!")
    assert r.status_code == 200 and "Wrong user name or password" in r.text
    assert "location" not in r.headers
    unknown = login(b, authorize_params(), user="nobody")
    assert "Wrong user name or password" in unknown.text

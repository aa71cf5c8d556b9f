"""The server refuses to start with a missing, placeholder or short secret, or a wildcard
origin, and says which."""

from __future__ import annotations

import pytest

from app.settings import AUTH_MODE, SettingsError, load_settings

GOOD = {
    "SERVICE_TOKEN": "pss_" + "k" * 43,
    "DATABASE_URL": "sqlite:///data/test.db",
    "OAUTH_CLIENT_ID": "chatgpt",
    "OAUTH_CLIENT_SECRET": "pcs_" + "c" * 43,  # pragma: allowlist secret
}


def test_good_environment_loads_with_safe_defaults():
    s = load_settings(GOOD)
    assert s.host == "127.0.0.1"
    assert s.port == 8000
    assert s.allowed_origins == ("https://chat.openai.com", "https://chatgpt.com")


@pytest.mark.skipif(AUTH_MODE != "service_http", reason="only service_http has a service token")
@pytest.mark.parametrize(
    "value,reason",
    [(None, "is not set"), ("", "is not set"), ("change-me", "placeholder"), ("pss_short", "at least 32")],
)
def test_service_token_must_be_a_real_secret(value, reason):
    env = dict(GOOD)
    if value is None:
        del env["SERVICE_TOKEN"]
    else:
        env["SERVICE_TOKEN"] = value
    with pytest.raises(SettingsError) as e:
        load_settings(env)
    assert "SERVICE_TOKEN" in str(e.value) and reason in str(e.value)


@pytest.mark.parametrize("origins", ["*", "https://chat.openai.com,*", "http://evil.example", "https://a.example/path"])
def test_bad_origins_are_refused(origins):
    with pytest.raises(SettingsError) as e:
        load_settings({**GOOD, "ALLOWED_ORIGINS": origins})
    assert "ALLOWED_ORIGINS" in str(e.value)


def test_every_problem_is_reported_at_once():
    env = {**GOOD, "ALLOWED_ORIGINS": "*", "PORT": "http"}
    with pytest.raises(SettingsError) as e:
        load_settings(env)
    assert "ALLOWED_ORIGINS" in str(e.value) and "PORT" in str(e.value)

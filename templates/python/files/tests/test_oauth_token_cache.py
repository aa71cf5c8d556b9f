"""The access token cache (app/oauth_store.py, PostgreSQL only): API calls answered from memory,
and never with a revoked token (C18), whichever process revoked it and whatever happens to the
connection that hears about revocations."""

from __future__ import annotations

import pytest

from app import oauth_store
from app.db import Database
from app.oauth_store import AccessToken, AccessTokenCache
from app.settings import SCOPES
from tests.oauth_helpers import CLIENT_ID, api_get, tokens, wait_until

TOKEN = AccessToken(user="alice", scopes=frozenset({"read"}), client_id="c")
NOW = 1_800_000_000.0


def test_a_used_token_is_served_from_the_cache_on_postgresql_only(app, client):
    body = tokens(app, client)
    assert api_get(client, body["access_token"]).status_code == 200
    db = app.state.db
    cached = oauth_store.cached_access_token(db, body["access_token"], app.state.clock())
    if db.postgres:
        assert cached == AccessToken(user="alice", scopes=frozenset(SCOPES), client_id=CLIENT_ID)
    else:
        assert cached is None and oauth_store.token_cache(db) is None


def test_invalid_tokens_are_never_cached(app, client):
    body = tokens(app, client)
    for token in ("pat_" + "x" * 43, body["refresh_token"], "pat_"):
        assert api_get(client, token).status_code == 401
    cache = oauth_store.token_cache(app.state.db)
    assert cache is None or len(cache) == 0


def test_c18_a_revocation_in_another_process_reaches_this_one(app, client, settings):
    body = tokens(app, client)
    assert api_get(client, body["access_token"]).status_code == 200
    # A Database of its own shares no memory with the server's: what `python -m app.manage`
    # or a second server process opens.
    other = Database(settings.database_url)
    try:
        assert oauth_store.revoke_user_grants(other, "alice", app.state.clock()) == 1
    finally:
        other.close()
    assert wait_until(lambda: api_get(client, body["access_token"]).status_code == 401, seconds=5)


def test_c18_a_revocation_in_this_process_needs_no_notification(app, client, monkeypatch):
    body = tokens(app, client)
    assert api_get(client, body["access_token"]).status_code == 200
    monkeypatch.setattr(app.state.db, "notify", lambda channel: None)  # as if the NOTIFY were late
    assert oauth_store.revoke_user_grants(app.state.db, "alice", app.state.clock()) == 1
    assert api_get(client, body["access_token"]).status_code == 401


def test_c18_losing_the_listen_connection_empties_the_cache(app, client, settings):
    db = app.state.db
    if not db.postgres:
        assert oauth_store.token_cache(db) is None  # nothing cached, nothing to lose
        return
    import psycopg

    body = tokens(app, client)
    assert api_get(client, body["access_token"]).status_code == 200
    cache = oauth_store.token_cache(db)
    assert len(cache) == 1
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE query = %s AND pid <> pg_backend_pid()",
            (f"LISTEN {oauth_store.REVOCATIONS}",),
        ).fetchone()[0]
    assert killed >= 1
    # Notifications sent while it is down are lost: the cache forgets everything and stores
    # nothing until it listens again (it reconnects after a second).
    assert wait_until(lambda: not cache.listening)
    assert len(cache) == 0
    assert wait_until(lambda: cache.listening)
    assert api_get(client, body["access_token"]).status_code == 200
    assert len(cache) == 1


# --- the cache alone ------------------------------------------------------------------------


def listening_cache(**kwargs) -> AccessTokenCache:
    cache = AccessTokenCache(**kwargs)
    cache.reset(listening=True)
    return cache


def test_a_lookup_that_raced_a_revocation_stores_nothing():
    cache = listening_cache()
    before = cache.generation()
    cache.reset()  # a revocation between the database read and put()
    cache.put("h", TOKEN, NOW + 60, before)
    assert cache.get("h", NOW) is None
    cache.put("h", TOKEN, NOW + 60, cache.generation())
    assert cache.get("h", NOW) == TOKEN


def test_nothing_is_cached_while_revocations_cannot_arrive():
    cache = AccessTokenCache()  # its LISTEN is not in place yet
    assert cache.generation() is None
    cache.put("h", TOKEN, NOW + 60, 0)
    assert cache.get("h", NOW) is None
    cache.reset(listening=True)
    cache.put("h", TOKEN, NOW + 60, cache.generation())
    assert cache.get("h", NOW) == TOKEN
    cache.reset(listening=False)  # the connection was lost
    assert cache.get("h", NOW) is None and cache.generation() is None


def test_an_entry_ends_with_its_token_or_after_max_age():
    ticks = [0.0]
    cache = listening_cache(monotonic=lambda: ticks[0])
    cache.put("short", TOKEN, NOW + 10, cache.generation())
    assert cache.get("short", NOW + 9.9) == TOKEN
    assert cache.get("short", NOW + 10) is None
    cache.put("long", TOKEN, NOW + 3600, cache.generation())
    ticks[0] = AccessTokenCache.MAX_AGE - 0.1
    assert cache.get("long", NOW) == TOKEN
    ticks[0] = AccessTokenCache.MAX_AGE
    assert cache.get("long", NOW) is None
    assert len(cache) == 0


def test_the_least_recently_used_entry_goes_first(monkeypatch):
    monkeypatch.setattr(AccessTokenCache, "MAX_ENTRIES", 2)
    cache = listening_cache()
    for key in ("a", "b"):
        cache.put(key, TOKEN, NOW + 60, cache.generation())
    assert cache.get("a", NOW) == TOKEN
    cache.put("c", TOKEN, NOW + 60, cache.generation())
    assert [cache.get(k, NOW) for k in ("a", "b", "c")] == [TOKEN, None, TOKEN]


def test_listen_needs_postgresql_and_a_plain_channel_name(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ValueError, match="PostgreSQL"):
        db.listen("oauth_revocations", lambda listening: None)
    db.notify("oauth_revocations")  # a no-op on SQLite
    db.close()

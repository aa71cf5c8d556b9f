"""The access token cache (app/oauth_store.py): API calls answered from memory, and never with a
revoked token (C18), whichever process revoked it, whatever happens to the connection that
hears about changes (PostgreSQL), and in a forked process too. Each test runs on SQLite and,
when TEST_DATABASE_URL names one, on PostgreSQL."""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import text

from app import auth, oauth_store
from app.db import Database
from app.oauth_store import AccessToken, AccessTokenCache
from app.settings import SCOPES
from tests.oauth_helpers import CLIENT_ID, api_get, issue_for, tokens, wait_until

TOKEN = AccessToken(user="alice", scopes=frozenset({"read"}), client_id="c")
NOW = 1_800_000_000.0


def cached(app, token: str) -> AccessToken | None:
    return oauth_store.cached_access_token(app.state.db, token, app.state.clock())


def test_a_used_token_is_served_from_the_cache(app, client):
    body = tokens(app, client)
    assert cached(app, body["access_token"]) is None
    assert api_get(client, body["access_token"]).status_code == 200
    found = cached(app, body["access_token"])
    assert found is not None and found.grant_id
    assert found == AccessToken("alice", frozenset(SCOPES), CLIENT_ID, grant_id=found.grant_id)


def test_a_cached_token_costs_no_query_and_no_worker_thread(app, client, monkeypatch):
    body = tokens(app, client)
    assert api_get(client, body["access_token"]).status_code == 200
    db, queries, hops = app.state.db, [], []
    real_begin, real_hop = db.begin, auth.run_in_threadpool
    monkeypatch.setattr(db, "begin", lambda: queries.append(1) or real_begin())
    monkeypatch.setattr(
        auth, "run_in_threadpool", lambda *a, **k: hops.append(1) or real_hop(*a, **k)
    )
    assert api_get(client, body["access_token"]).status_code == 200
    assert (len(queries), len(hops)) == (0, 0)  # answered on the event loop, from memory


def test_invalid_tokens_are_never_cached(app, client):
    body = tokens(app, client)
    for token in ("pat_" + "x" * 43, body["refresh_token"], "pat_"):
        assert api_get(client, token).status_code == 401
    assert oauth_store.token_cache(app.state.db).size() == 0


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


def test_c18_a_change_by_hand_in_the_database_reaches_the_cache(app, client, settings):
    first, second = tokens(app, client), tokens(app, client, user="bob")
    for body in (first, second):
        assert api_get(client, body["access_token"]).status_code == 200
    other = Database(settings.database_url)
    try:
        with other.begin() as conn:
            conn.execute(text("UPDATE oauth_grants SET revoked_at = 1 WHERE user_name = 'alice'"))
            conn.execute(text("DELETE FROM oauth_access_tokens WHERE user_name = 'bob'"))
    finally:
        other.close()
    for token in (first["access_token"], second["access_token"]):
        assert wait_until(lambda token=token: api_get(client, token).status_code == 401, seconds=5)


def test_c18_a_revocation_in_this_process_needs_no_notification(app, client, monkeypatch):
    body = tokens(app, client)
    assert api_get(client, body["access_token"]).status_code == 200
    listener = oauth_store.token_listener(app.state.db)
    if listener is not None:  # as if the trigger's NOTIFY were late
        monkeypatch.setattr(listener, "_on_notify", lambda payload: None)
    assert oauth_store.revoke_user_grants(app.state.db, "alice", app.state.clock()) == 1
    assert api_get(client, body["access_token"]).status_code == 401


def test_c18_a_lookup_that_raced_a_revocation_caches_nothing(app, client, settings, monkeypatch):
    body = tokens(app, client)
    db, cache = app.state.db, oauth_store.token_cache(app.state.db)
    real_begin = db.begin

    @contextmanager
    def begin_then_revoke():
        # The lookup has read the token as valid; before it can store that, another process
        # revokes it and this one hears of it.
        with real_begin() as conn:
            yield conn
        monkeypatch.setattr(db, "begin", real_begin)
        before = cache.generation()
        other = Database(settings.database_url)
        try:
            oauth_store.revoke_user_grants(other, "alice", app.state.clock())
        finally:
            other.close()
        assert wait_until(lambda: cache.generation() != before)

    monkeypatch.setattr(db, "begin", begin_then_revoke)
    assert api_get(client, body["access_token"]).status_code == 200  # read before the revocation
    assert cached(app, body["access_token"]) is None
    assert api_get(client, body["access_token"]).status_code == 401


def test_c18_losing_the_listen_connection_stops_the_cache_until_it_is_back(app, client, settings):
    body = tokens(app, client)
    assert api_get(client, body["access_token"]).status_code == 200
    listener = oauth_store.token_listener(app.state.db)
    if listener is None:
        pytest.skip("SQLite: no LISTEN connection to lose")
    import psycopg

    cache = oauth_store.token_cache(app.state.db)
    assert cache.size() == 1
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (listener.pid,))
    # Notifications sent while it is down are lost: nothing is answered from memory until it
    # listens again (a second later), and then the cache starts empty.
    assert wait_until(lambda: not cache.healthy())
    assert cached(app, body["access_token"]) is None
    assert wait_until(cache.healthy)
    assert cache.size() == 0
    assert api_get(client, body["access_token"]).status_code == 200
    assert cache.size() == 1


class FreezingProxy:
    """A TCP relay to the database that can stop relaying without closing anything: what a
    dead network or a failed-over server looks like to a connection that is only listening."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.frozen = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        while True:
            try:
                data = a.recv(65536)
            except OSError:
                return
            if not data:
                return
            while self.frozen.is_set():
                time.sleep(0.05)
            try:
                b.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.server.close()


def test_c18_a_silent_listen_connection_stops_the_cache_within_seconds(settings):
    if not settings.database_url.startswith("postgres"):
        pytest.skip("SQLite: no LISTEN connection to fall silent")
    url = urlsplit(settings.database_url)
    proxy = FreezingProxy(url.hostname or "127.0.0.1", url.port or 5432)
    proxied = urlunsplit(url._replace(netloc=url.netloc.replace(f":{url.port}", f":{proxy.port}")))
    db = Database(proxied)
    try:
        cache = oauth_store.token_cache(db)
        assert wait_until(cache.healthy)
        now = time.time()
        token = issue_for(db, settings, now=now)["access_token"]
        assert oauth_store.check_access_token(db, token, now) is not None
        assert oauth_store.cached_access_token(db, token, now) is not None
        proxy.frozen.set()
        other = Database(settings.database_url)
        oauth_store.revoke_user_grants(other, "alice", now)
        other.close()
        started = time.monotonic()
        # The NOTIFY cannot arrive, but the missing heartbeat answer gives it away.
        assert wait_until(
            lambda: oauth_store.cached_access_token(db, token, now) is None, seconds=5
        )
        assert time.monotonic() - started <= 2 * oauth_store.Listener.HEARTBEAT + 0.5
    finally:
        proxy.frozen.clear()
        db.close()
        proxy.close()


def test_a_forked_process_uses_connections_and_a_listener_of_its_own(app, client):
    body = tokens(app, client)
    assert api_get(client, body["access_token"]).status_code == 200
    db, token, now = app.state.db, body["access_token"], app.state.clock()
    listener = oauth_store.token_listener(db)
    parent_listener_pid = listener.pid if listener else None
    with warnings.catch_warnings():  # Python 3.12+ warns of forking a process with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: exit status 0 when all holds
        ok = False
        try:
            if listener is not None:
                ok = oauth_store.cached_access_token(db, token, now) is None  # not heard from yet
                ok = ok and wait_until(oauth_store.token_cache(db).healthy)
                ok = ok and listener.pid not in (None, parent_listener_pid)
            else:
                ok = True
            found = oauth_store.check_access_token(db, token, now)
            ok = ok and found is not None and found.user == "alice"
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0
    # The parent's own connections survived the child (it never closed them).
    assert oauth_store.check_access_token(db, token, now) is not None
    other = Database(app.state.settings.database_url)
    oauth_store.revoke_user_grants(other, "alice", now)
    other.close()
    assert wait_until(lambda: api_get(client, token).status_code == 401, seconds=5)


# --- the cache alone ------------------------------------------------------------------------


class Health:
    def __init__(self, ok: bool = True) -> None:
        self.ok = ok

    def __call__(self) -> bool:
        return self.ok


def test_a_lookup_that_raced_a_change_stores_nothing():
    cache = AccessTokenCache(Health())
    before = cache.generation()
    cache.reset()  # a change between the database read and put()
    cache.put("h", TOKEN, NOW + 60, before)
    assert cache.get("h", NOW) is None
    cache.put("h", TOKEN, NOW + 60, cache.generation())
    assert cache.get("h", NOW) == TOKEN


def test_nothing_is_cached_or_served_while_changes_could_be_missed():
    health = Health(ok=False)  # its LISTEN is not in place yet
    cache = AccessTokenCache(health)
    assert cache.generation() is None
    cache.put("h", TOKEN, NOW + 60, 0)
    assert cache.get("h", NOW) is None and cache.size() == 0
    health.ok = True
    cache.put("h", TOKEN, NOW + 60, cache.generation())
    assert cache.get("h", NOW) == TOKEN
    health.ok = False  # no heartbeat answer lately
    assert cache.get("h", NOW) is None and cache.generation() is None


def test_an_entry_ends_with_its_token_or_after_max_age():
    ticks = [0.0]
    cache = AccessTokenCache(Health(), monotonic=lambda: ticks[0])
    cache.put("short", TOKEN, NOW + 10, cache.generation())
    assert cache.get("short", NOW + 9.9) == TOKEN
    assert cache.get("short", NOW + 10) is None
    cache.put("long", TOKEN, NOW + 3600, cache.generation())
    ticks[0] = AccessTokenCache.MAX_AGE - 0.1
    assert cache.get("long", NOW) == TOKEN
    ticks[0] = AccessTokenCache.MAX_AGE
    assert cache.get("long", NOW) is None
    assert cache.size() == 0


def test_the_least_recently_used_entry_goes_first(monkeypatch):
    monkeypatch.setattr(AccessTokenCache, "MAX_ENTRIES", 2)
    cache = AccessTokenCache(Health())
    for key in ("a", "b"):
        cache.put(key, TOKEN, NOW + 60, cache.generation())
    assert cache.get("a", NOW) == TOKEN
    cache.put("c", TOKEN, NOW + 60, cache.generation())
    assert [cache.get(k, NOW) for k in ("a", "b", "c")] == [TOKEN, None, TOKEN]


def test_a_new_data_version_empties_the_cache():
    version = [7]  # SQLite's data_version: it moves when another connection commits
    cache = AccessTokenCache(Health(), version=lambda: version[0])
    cache.put("h", TOKEN, NOW + 60, cache.generation())
    assert cache.get("h", NOW) == TOKEN
    before = cache.generation()
    version[0] = 8
    assert cache.get("h", NOW) is None and cache.generation() != before
    cache.put("h", TOKEN, NOW + 60, before)  # read before the commit: not stored
    assert cache.size() == 0


def test_sqlites_data_version_moves_on_any_other_connections_commit(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    db, other = Database(url), Database(url)
    try:
        first = db.data_version()
        with db.begin() as conn:
            conn.execute(text("SELECT 1"))
        assert db.data_version() == first  # a read changes nothing
        oauth_store.start_session(other, "alice", NOW, 600)  # a write, on another connection
        assert db.data_version() != first
    finally:
        db.close()
        other.close()


def test_a_listener_needs_postgresql(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ValueError, match="PostgreSQL"):
        db.listener("oauth_revocations")
    db.close()

"""`python -m app.manage`: users, grants and more clients (C18's user-facing revocation)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from fastapi.testclient import TestClient

from app import oauth_store
from app.main import create_app
from app.settings import PROJECT_ROOT
from tests.oauth_helpers import (
    CLIENT_SECRET,
    api_get,
    exchange,
    get_code,
    issue_for,
    refresh,
    wait_until,
)


def manage(*args: str, settings, stdin: str = "") -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "OAUTH_CLIENT_ID": settings.oauth_client_id,
        "OAUTH_CLIENT_SECRET": CLIENT_SECRET,
        "OAUTH_REDIRECT_URIS": ",".join(settings.oauth_redirect_uris),
    }
    return subprocess.run(
        [sys.executable, "-m", "app.manage", *args],
        cwd=PROJECT_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_create_user_reads_the_password_from_stdin(settings, app):
    r = manage("create-user", "carol", settings=settings, stdin="a good long password\n")
    assert r.returncode == 0, r.stderr
    assert oauth_store.check_password(app.state.db, "carol", "a good long password")
    assert not oauth_store.check_password(app.state.db, "carol", "a good long password\n")
    again = manage("create-user", "carol", settings=settings, stdin="another long password\n")
    assert again.returncode == 2 and "exists" in again.stderr


def test_create_user_refuses_short_passwords_and_bad_names(settings):
    assert "at least" in manage("create-user", "dave", settings=settings, stdin="short\n").stderr
    bad = manage("create-user", "bad name;drop", settings=settings, stdin="a good long password\n")
    assert bad.returncode == 2 and "user name" in bad.stderr


def test_revoke_grants_signs_a_user_out(settings, app, client):
    body = exchange(client, get_code(app)).json()
    assert api_get(client, body["access_token"]).status_code == 200  # cached on PostgreSQL
    r = manage("revoke-grants", "alice", settings=settings)
    assert r.returncode == 0, r.stderr
    assert "revoked 1 grant" in r.stderr
    # Another process revoked: on PostgreSQL its NOTIFY reaches this one's cache within moments.
    assert wait_until(lambda: api_get(client, body["access_token"]).status_code == 401, seconds=5)
    assert refresh(client, body["refresh_token"]).status_code == 400


def test_add_client_prints_its_secret_once_and_it_works(settings, app, client, dump):
    uri = "https://chatgpt.com/aip/g-abc/oauth/callback"
    r = manage("add-client", "my-gpt", "--redirect-uri", uri, settings=settings)
    assert r.returncode == 0, r.stderr
    secret = r.stdout.strip()
    assert secret.startswith("pcs_") and len(secret) == 47
    assert secret not in dump(app.state.db)
    code = get_code(app, client_id="my-gpt", redirect_uri=uri)
    assert (
        exchange(client, code, client_id="my-gpt", secret=secret, redirect_uri=uri).status_code
        == 200
    )
    dup = manage("add-client", "my-gpt", "--redirect-uri", uri, settings=settings)
    assert dup.returncode == 2 and "exists" in dup.stderr


def test_add_client_refuses_bad_redirect_uris(settings):
    for uri in ("http://example.com/cb", "https://example.com/cb#x", "not a url"):
        r = manage("add-client", "c2", "--redirect-uri", uri, settings=settings)
        assert r.returncode == 2 and "redirect URI" in r.stderr, r.stderr


def test_the_server_starts_without_a_redirect_uri(settings):

    app = create_app(settings.model_copy(update={"oauth_redirect_uris": ()}))
    assert TestClient(app).get("/.well-known/oauth-authorization-server").status_code == 200
    app.state.db.close()


def test_purge_deletes_only_what_can_no_longer_be_used(settings, app, client, clock, dump):
    live = exchange(client, get_code(app)).json()
    old = exchange(client, get_code(app, "bob")).json()
    clock.advance(3601)
    assert oauth_store.purge_expired(app.state.db, settings, clock()) == 2  # two access tokens
    assert refresh(client, live["refresh_token"]).status_code == 200
    clock.advance(31 * 86400)
    assert oauth_store.purge_expired(app.state.db, settings, clock()) > 0
    left = dump(app.state.db).splitlines()
    assert left and all(line.startswith("oauth_users: ") for line in left), left
    assert refresh(client, old["refresh_token"]).status_code == 400


def test_start_up_deletes_what_expired_while_the_server_was_down(settings, make_app, dump):
    issue_for(make_app().state.db, settings, now=time.time() - 7200)  # expired an hour ago
    restarted = make_app()  # on the same database
    assert "oauth_access_tokens: " in dump(restarted.state.db), "building the app deletes nothing"
    with TestClient(restarted):  # the server starts (its lifespan)
        assert "oauth_access_tokens: " not in dump(restarted.state.db)


def test_purge_command(settings):
    r = manage("purge", settings=settings)
    assert r.returncode == 0 and "deleted 0" in r.stderr, r.stderr

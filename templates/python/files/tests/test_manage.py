"""`python -m app.manage` issues and revokes per-user API keys."""

from __future__ import annotations

import os
import subprocess
import sys

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import PROJECT_ROOT
from tests.spec import fill, operations

METHOD, PATH, OP = next(operations())


def manage(*args: str, database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "app.manage", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def call(client, key: str):
    body = {"text": "x"} if "requestBody" in OP else None
    return client.request(METHOD, fill(PATH), json=body, headers={"Authorization": f"Bearer {key}"})


def test_issue_then_revoke_a_key(settings):
    issued = manage("issue-key", "carol", database_url=settings.database_url)
    assert issued.returncode == 0, issued.stderr
    key = issued.stdout.strip()
    assert key.startswith("psk_") and len(key) >= 40
    app = create_app(settings)
    client = TestClient(app)
    assert call(client, key).status_code != 401

    revoked = manage("revoke-key", "carol", database_url=settings.database_url)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked 1" in revoked.stderr
    assert call(client, key).status_code == 401
    app.state.db.close()


def test_only_hashes_are_stored(settings, app, dump):
    from app import apikeys

    db = app.state.db
    key = apikeys.issue_key(db, "dave")
    rows = dump(db)
    assert key not in rows and apikeys.hash_key(key) in rows
    if db.path is not None:  # SQLite: the files themselves
        raw = db.path.read_bytes() + b"".join(p.read_bytes() for p in db.path.parent.glob("*-wal"))
        assert key.encode() not in raw
        assert apikeys.hash_key(key).encode() in raw


def test_bad_user_names_are_refused(settings):
    r = manage("issue-key", "bad name;drop", database_url=settings.database_url)
    assert r.returncode == 2 and "user name" in r.stderr

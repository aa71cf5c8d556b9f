"""Per-user API keys (auth mode `user_http`): only their SHA-256 hashes are stored, so a copy of
the database yields no usable key. A key is 256 random bits behind the prefix `psk_`, which lets
secret scanners recognise a leaked one. SHA-256 suffices here (no slow hash): the keys are random,
not passwords."""

from __future__ import annotations

import hashlib
import re
import secrets
import time

from app.db import Database

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    revoked_at DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys (user_name);
"""

PREFIX = "psk_"
USER_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_user_name(user: str) -> str:
    if not USER_NAME.match(user):
        raise ValueError("a user name is 1 to 64 letters, digits, `_`, `.`, `@` or `-`")
    return user


def issue_key(db: Database, user: str) -> str:
    """Stores the hash of a new key for `user` and returns the key (shown once, never stored)."""
    check_user_name(user)
    key = new_key()
    with db.connect() as conn:
        conn.execute(
            "INSERT INTO api_keys (user_name, key_hash, created_at) VALUES (?, ?, ?)",
            (user, hash_key(key), time.time()),
        )
    return key


def revoke_keys(db: Database, user: str) -> int:
    """Revokes every key of `user`; returns how many were live."""
    with db.connect() as conn:
        cur = conn.execute(
            "UPDATE api_keys SET revoked_at = ? WHERE user_name = ? AND revoked_at IS NULL",
            (time.time(), user),
        )
        return cur.rowcount


def lookup(db: Database, key: str) -> str | None:
    """The user a live key belongs to, or None."""
    if not key.startswith(PREFIX):
        return None
    with db.connect() as conn:
        row = conn.execute(
            "SELECT user_name FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
            (hash_key(key),),
        ).fetchone()
    return row[0] if row else None

"""Per-user API keys (auth mode `user_http`): only their SHA-256 hashes are stored, so a copy of
the database yields no usable key. A key is 256 random bits behind the prefix `psk_`, which lets
secret scanners recognise a leaked one. SHA-256 suffices here (no slow hash): the keys are random,
not passwords."""

from __future__ import annotations

import hashlib
import re
import secrets
import time

from sqlalchemy import insert, select, update

from app.db import Database
from app.tables import api_keys

PREFIX = "psk_"
USER_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(db: Database, user: str) -> str:
    """Stores the hash of a new key for `user` and returns the key (shown once, never stored)."""
    if not USER_NAME.match(user):
        raise ValueError("a user name is 1 to 64 letters, digits, `_`, `.`, `@` or `-`")
    key = PREFIX + secrets.token_urlsafe(32)
    with db.begin() as conn:
        conn.execute(
            insert(api_keys).values(user_name=user, key_hash=hash_key(key), created_at=time.time())
        )
    return key


def revoke_keys(db: Database, user: str) -> int:
    """Revokes every key of `user`; returns how many were live."""
    live = (api_keys.c.user_name == user) & api_keys.c.revoked_at.is_(None)
    with db.begin() as conn:
        return conn.execute(update(api_keys).where(live).values(revoked_at=time.time())).rowcount


def lookup(db: Database, key: str) -> str | None:
    """The user a live key belongs to, or None."""
    if not key.startswith(PREFIX):
        return None
    live = (api_keys.c.key_hash == hash_key(key)) & api_keys.c.revoked_at.is_(None)
    with db.begin() as conn:
        return conn.scalar(select(api_keys.c.user_name).where(live))

"""The database: SQLite through the standard library, one connection per operation (safe
across threads), WAL mode so readers never block the writer. The schema is created on start-up."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

from app.settings import PROJECT_ROOT

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id INTEGER PRIMARY KEY,
    user TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS api_keys_user ON api_keys (user);
"""


def sqlite_path(url: str) -> Path:
    """`sqlite:///data/app.db` → PROJECT_ROOT/data/app.db; `sqlite:////abs/app.db` → /abs/app.db."""
    if not url.startswith("sqlite:///"):
        raise ValueError("DATABASE_URL must be a sqlite:///PATH URL")
    path = Path(url[len("sqlite:///"):])
    return path if path.is_absolute() else PROJECT_ROOT / path


class Database:
    def __init__(self, url: str) -> None:
        self.path = sqlite_path(url)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(SCHEMA)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=10000")
            yield conn
        finally:
            conn.close()

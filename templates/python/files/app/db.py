"""The database, behind one small interface for two backends:

- SQLite through the standard library (`DATABASE_URL=sqlite:///data/app.db`, the default): one
  connection per thread, WAL mode so readers never block the writer.
- PostgreSQL through psycopg 3 (`DATABASE_URL=postgresql://user@host/db`).

Queries use `?` placeholders and portable SQL; every statement commits on its own (autocommit),
so anything that must be atomic is written as one statement, e.g. an
`UPDATE ... WHERE used_at IS NULL` whose row count says who won. The schema is created on
start-up (`CREATE TABLE IF NOT EXISTS`).

On PostgreSQL, listen() and notify() tell every process using the database that something
changed (LISTEN/NOTIFY): what lets a process keep a cache that another process may invalidate."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.settings import PROJECT_ROOT

log = logging.getLogger(__name__)
CHANNEL = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def sqlite_path(url: str) -> Path:
    """`sqlite:///data/app.db` → PROJECT_ROOT/data/app.db; `sqlite:////abs/app.db` → /abs/app.db."""
    if not url.startswith("sqlite:///"):
        raise ValueError("DATABASE_URL must be a sqlite:///PATH URL")
    path = Path(url[len("sqlite:///"):])
    return path if path.is_absolute() else PROJECT_ROOT / path


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


class Connection:
    """One connection, the same API on both backends: execute() returns a cursor with
    fetchone(), fetchall() and rowcount."""

    def __init__(self, raw: Any, postgres: bool) -> None:
        self.raw = raw
        self.postgres = postgres

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        if self.postgres:
            sql = sql.replace("%", "%%").replace("?", "%s")
        return self.raw.execute(sql, tuple(params))


class Database:
    """The connection pool is one connection per thread (the server's worker threads), opened
    on first use and kept: no connect or schema read on each request. A PostgreSQL connection
    that broke is replaced on the next use."""

    def __init__(self, url: str, schema: str = "") -> None:
        self.url = url
        self.postgres = is_postgres(url)
        self.path: Path | None = None
        self._local = threading.local()
        self._opened: list[Connection] = []
        self._listeners: list[threading.Event] = []
        self._lock = threading.Lock()
        if not self.postgres:
            self.path = sqlite_path(url)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
        self.tables: list[str] = []
        with self.connect() as conn:
            for statement in (s.strip() for s in schema.split(";")):
                if statement:
                    conn.execute(statement)
                    table = re.match(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", statement)
                    if table:
                        self.tables.append(table.group(1))

    def _open(self) -> Connection:
        if self.postgres:
            import psycopg

            return Connection(psycopg.connect(self.url, autocommit=True, connect_timeout=10), True)
        # Used by one thread at a time (its owner); close() may run on another thread.
        raw = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        raw.execute("PRAGMA busy_timeout=10000")
        return Connection(raw, False)

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        conn = getattr(self._local, "conn", None)
        if conn is None or (self.postgres and (conn.raw.closed or conn.raw.broken)):
            conn = self._open()
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        yield conn

    def notify(self, channel: str) -> None:
        """PostgreSQL: wakes every listen()er of `channel`, in any process, once this statement
        has committed. Nothing to do on SQLite (see listen())."""
        if self.postgres:
            with self.connect() as conn:
                conn.execute("SELECT pg_notify(?, '')", (channel,))

    def listen(self, channel: str, on_change: Callable[[bool], None]) -> None:
        """PostgreSQL only: a thread of its own LISTENs on `channel` and calls on_change(True)
        once listening (from then on no notify() is missed), again on every notify(), and
        on_change(False) when the connection is lost, notifications may have been missed in
        between. It reconnects every second until close()."""
        if not self.postgres:
            raise ValueError("listen() needs PostgreSQL")
        if not CHANNEL.match(channel):
            raise ValueError(f"not a channel name: {channel!r}")
        stop = threading.Event()
        with self._lock:
            self._listeners.append(stop)
        threading.Thread(
            target=self._listen, args=(channel, on_change, stop), name=f"listen {channel}", daemon=True
        ).start()

    def _listen(self, channel: str, on_change: Callable[[bool], None], stop: threading.Event) -> None:
        import psycopg

        while not stop.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {channel}")
                    on_change(True)
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=1.0):
                            on_change(True)
            except Exception as exc:  # the message could name the server: the type is enough
                log.warning("LISTEN %s: lost the connection (%s); reconnecting", channel, type(exc).__name__)
            on_change(False)
            stop.wait(1.0)

    def close(self) -> None:
        """Closes every thread's connection and stops the listeners (tests call it; a server
        just exits)."""
        with self._lock:
            opened, self._opened = self._opened, []
            listeners, self._listeners = self._listeners, []
        for stop in listeners:
            stop.set()
        for conn in opened:
            try:
                conn.raw.close()
            except Exception:
                pass
        self._local = threading.local()

    def dump(self) -> str:
        """Every row of every table of the schema as text: what a copy of the database holds
        (the tests check that it holds no usable credential)."""
        lines = []
        with self.connect() as conn:
            for table in self.tables:
                for row in conn.execute(f"SELECT * FROM {table}").fetchall():
                    lines.append(f"{table}: " + " | ".join(str(v) for v in row))
        return "\n".join(lines)

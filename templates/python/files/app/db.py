"""The database, behind one small interface for two backends:

- SQLite through the standard library (`DATABASE_URL=sqlite:///data/app.db`, the default): one
  connection per thread, WAL mode so readers never block the writer.
- PostgreSQL through psycopg 3 (`DATABASE_URL=postgresql://user@host/db`).

Queries use `?` placeholders and portable SQL; every statement commits on its own (autocommit),
so anything that must be atomic is written as one statement, e.g. an
`UPDATE ... WHERE used_at IS NULL` whose row count says who won. The schema is created on
start-up (`CREATE TABLE IF NOT EXISTS`).

On PostgreSQL, a Listener hears what the database NOTIFYs (a trigger, say, when a row changes),
whichever process made the change: what lets a process keep a cache that another process may
invalidate."""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol

from app.settings import PROJECT_ROOT

log = logging.getLogger(__name__)
CHANNEL = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Any key the schema set-up of every process agrees on (pg_advisory_xact_lock).
SCHEMA_LOCK = 0x706C7567


def sqlite_path(url: str) -> Path:
    """`sqlite:///data/app.db` → PROJECT_ROOT/data/app.db; `sqlite:////abs/app.db` → /abs/app.db."""
    if not url.startswith("sqlite:///"):
        raise ValueError("DATABASE_URL must be a sqlite:///PATH URL")
    path = Path(url[len("sqlite:///") :])
    return path if path.is_absolute() else PROJECT_ROOT / path


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


class Cursor(Protocol):
    """What execute() returns on both backends."""

    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Connection:
    """One connection, the same API on both backends: execute() returns a Cursor."""

    def __init__(self, raw: Any, postgres: bool) -> None:
        self.raw = raw
        self.postgres = postgres

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        if self.postgres:
            sql = sql.replace("%", "%%").replace("?", "%s")
        cursor: Cursor = self.raw.execute(sql, tuple(params))
        return cursor


class Database:
    """The connection pool is one connection per thread (the server's worker threads), opened
    on first use and kept: no connect or schema read on each request. A PostgreSQL connection
    that broke is replaced on the next use. A process forked from this one (gunicorn
    `--preload`, say) opens connections of its own.

    `schema` is `;`-separated portable SQL; `postgres_schema` statements run as they are, after
    it, on PostgreSQL only (a trigger's body has `;` of its own). On PostgreSQL the set-up holds
    a lock, so that server processes starting together do not trip over each other."""

    def __init__(self, url: str, schema: str = "", postgres_schema: Sequence[str] = ()) -> None:
        self.url = url
        self.postgres = is_postgres(url)
        self.path: Path | None = None
        self._local = threading.local()
        self._opened: list[Connection] = []
        self._inherited: list[Connection] = []  # a forked child's parent's (_after_fork)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        if not self.postgres:
            # It holds password and token hashes: a folder and a file only this user may read
            # (SQLite gives its WAL files the database file's mode).
            self.path = sqlite_path(url)
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            os.chmod(self.path, 0o600)
            with self.connect() as conn:
                conn.execute("PRAGMA journal_mode=WAL")
        self.tables: list[str] = []
        statements = [s.strip() for s in schema.split(";") if s.strip()]
        with self.connect() as conn:
            if self.postgres:
                with conn.raw.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(?)", (SCHEMA_LOCK,))
                    for statement in statements + list(postgres_schema):
                        conn.execute(statement)
            else:
                for statement in statements:
                    conn.execute(statement)
        for statement in statements:
            table = re.match(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)", statement)
            if table:
                self.tables.append(table.group(1))
        _databases.add(self)

    def _open(self) -> Connection:
        if self.postgres:
            import psycopg

            return Connection(psycopg.connect(self.url, autocommit=True, connect_timeout=10), True)
        # Used by one thread at a time (its owner); close() may run on another thread.
        assert self.path is not None
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

    def listener(self, channel: str) -> Listener:
        """PostgreSQL only: a Listener on `channel`, stopped by close(); start() it."""
        if not self.postgres:
            raise ValueError("a Listener needs PostgreSQL")
        listener = Listener(self.url, channel)
        with self._lock:
            self._listeners.append(listener)
        return listener

    def close(self) -> None:
        """Closes every thread's connection and stops the listeners (tests call it; a server
        just exits)."""
        with self._lock:
            opened, self._opened = self._opened, []
            listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.stop()
        for conn in opened:
            with suppress(Exception):
                conn.raw.close()
        self._local = threading.local()

    def _after_fork(self) -> None:
        # The parent's connections share their sockets with this process: never used here, and
        # never closed either (that would end the parent's sessions), only kept from the
        # garbage collector. This process opens its own as it needs them.
        self._inherited += self._opened
        self._opened = []
        self._local = threading.local()
        self._lock = threading.Lock()
        for listener in self._listeners:
            listener.restart_after_fork()

    def dump(self) -> str:
        """Every row of every table of the schema as text: what a copy of the database holds
        (the tests check that it holds no usable credential)."""
        lines = []
        with self.connect() as conn:
            for table in self.tables:
                for row in conn.execute(f"SELECT * FROM {table}").fetchall():
                    lines.append(f"{table}: " + " | ".join(str(v) for v in row))
        return "\n".join(lines)


class Listener:
    """A thread that LISTENs on a PostgreSQL `channel` until stop(): on_notify(payload) is
    called once LISTEN is in place, with payload None (anything may have changed before), and
    then with the payload of every NOTIFY on the channel, whichever process sent it.

    healthy() says that every notification the server sent until at most 2 × HEARTBEAT seconds
    ago has been handed to on_notify. The thread asks the server something every HEARTBEAT
    seconds for that: a connection that dies silently (packets dropped, a failover) would
    otherwise look like a quiet one. A lost connection is replaced a second later, and
    on_notify(None) called again."""

    HEARTBEAT = 1.0
    # libpq settings: a dead peer breaks the connection within seconds, not TCP's minutes.
    KEEPALIVE: dict[str, Any] = {
        "keepalives": 1,
        "keepalives_idle": 5,
        "keepalives_interval": 2,
        "keepalives_count": 2,
        "tcp_user_timeout": 10_000,
    }

    def __init__(self, url: str, channel: str) -> None:
        if not CHANNEL.match(channel):
            raise ValueError(f"not a channel name: {channel!r}")
        self.url = url
        self.channel = channel
        self.pid: int | None = None  # the server process of the LISTEN connection
        self.schema: str | None = None  # that connection's current_schema()
        self._on_notify: Callable[[str | None], None] = lambda payload: None
        self._alive_until = 0.0
        self._stop = threading.Event()

    def healthy(self) -> bool:
        return time.monotonic() < self._alive_until

    def start(self, on_notify: Callable[[str | None], None]) -> None:
        self._on_notify = on_notify
        threading.Thread(target=self._run, name=f"listen {self.channel}", daemon=True).start()

    def stop(self) -> None:
        self._alive_until = 0.0
        self._stop.set()

    def restart_after_fork(self) -> None:
        """The thread did not survive the fork: a new one, with a connection of its own."""
        if not self._stop.is_set():
            self._alive_until = 0.0
            self._stop = threading.Event()
            self.start(self._on_notify)

    def _run(self) -> None:
        import psycopg

        stop = self._stop
        while not stop.is_set():
            try:
                with psycopg.connect(
                    self.url, autocommit=True, connect_timeout=10, **self.KEEPALIVE
                ) as conn:
                    self._listen(conn, stop)
            except Exception as exc:  # the message could name the server: the type is enough
                log.warning(
                    "LISTEN %s: lost the connection (%s); reconnecting",
                    self.channel,
                    type(exc).__name__,
                )
            self._alive_until = 0.0
            stop.wait(1.0)

    def _listen(self, conn: Any, stop: threading.Event) -> None:
        asked = time.monotonic()
        conn.execute(f"LISTEN {self.channel}")
        self.pid, self.schema = conn.execute("SELECT pg_backend_pid(), current_schema()").fetchone()
        self._on_notify(None)
        while not stop.is_set():
            self._alive_until = asked + 2 * self.HEARTBEAT
            for notify in conn.notifies(timeout=self.HEARTBEAT):
                self._on_notify(notify.payload)
            asked = time.monotonic()
            conn.execute("SELECT 1")
            for notify in conn.notifies(timeout=0):  # any that came in with the answer
                self._on_notify(notify.payload)


_databases: weakref.WeakSet[Database] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for db in list(_databases):
        db._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)

"""The database, through SQLAlchemy, on one of two backends:

- SQLite (`DATABASE_URL=sqlite:///data/app.db`, the default), in WAL mode so readers never
  block the writer.
- PostgreSQL through psycopg 3 (`DATABASE_URL=postgresql://user@host/db`).

The tables are declared in app/tables.py and made or changed by the Alembic migrations in
migrations/, which Database() applies when the server starts (`alembic upgrade head` does the
same from the command line). `with db.begin() as conn:` runs statements: on PostgreSQL in one
transaction, committed when the block ends; on SQLite each commits on its own, so that a write
holds SQLite's one write lock only while it runs. Anything that must be atomic is one statement,
e.g. an `UPDATE ... WHERE used_at IS NULL` whose row count says who won.

On PostgreSQL, a Listener hears what the database NOTIFYs (a trigger, say, when a row changes),
whichever process made the change: what lets a process keep a cache that another process may
invalidate."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Table, create_engine, func, make_url, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL

from app.settings import PROJECT_ROOT
from app.tables import metadata

log = logging.getLogger(__name__)
CHANNEL = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# Any key the migrations of every process agree on (pg_advisory_xact_lock).
MIGRATION_LOCK = 0x706C7567
# Each backend's INSERT, by `conn.dialect.name`: the one with on_conflict_do_nothing() and
# on_conflict_do_update() (an upsert).
INSERT: dict[str, Callable[[Table], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def sqlite_path(url: str) -> Path:
    """`sqlite:///data/app.db` → PROJECT_ROOT/data/app.db; `sqlite:////abs/app.db` → /abs/app.db."""
    if not url.startswith("sqlite:///"):
        raise ValueError("DATABASE_URL must be a sqlite:///PATH URL")
    path = Path(url[len("sqlite:///") :])
    return path if path.is_absolute() else PROJECT_ROOT / path


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def engine_url(url: str) -> URL:
    """The SQLAlchemy URL of a DATABASE_URL: psycopg 3 for PostgreSQL, an absolute SQLite path."""
    if is_postgres(url):
        return make_url(url).set(drivername="postgresql+psycopg")
    return URL.create("sqlite", database=str(sqlite_path(url)))


def migrate(conn: Connection) -> None:
    """Brings the schema to the newest migration (migrations/versions/), inside conn's
    transaction."""
    config = Config(PROJECT_ROOT / "alembic.ini")
    config.attributes["connection"] = conn
    command.upgrade(config, "head")


class Database:
    """The engine and its connection pool (connections are opened on first use and kept: no
    connect on each request; one that broke is replaced). A process forked from this one
    (gunicorn `--preload`, say) opens connections of its own.

    The schema is migrated on creation (`upgrade=False` skips it: the alembic command's own use). On
    PostgreSQL that holds a lock, and on SQLite the write lock, so that server processes starting
    together do not trip over each other."""

    def __init__(self, url: str, *, upgrade: bool = True) -> None:
        self.url = url
        self.postgres = is_postgres(url)
        self.path: Path | None = None  # SQLite's file
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        if self.postgres:
            # As many connections as the server's worker threads (anyio's 40) may ask for.
            self.engine: Engine = create_engine(
                engine_url(url),
                pool_size=10,
                max_overflow=30,
                connect_args={"connect_timeout": 10},
            )
        else:
            # It holds password and token hashes: a folder and a file only this user may read
            # (SQLite gives its WAL files the database file's mode).
            self.path = path = sqlite_path(url)
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
            os.chmod(path, 0o600)
            # Autocommit: a write holds SQLite's one write lock only while its statement runs,
            # never across the Python between two statements (concurrent writers would wait).
            self.engine = create_engine(
                engine_url(url),
                pool_size=10,
                max_overflow=30,
                connect_args={"timeout": 10},
                isolation_level="AUTOCOMMIT",
                pool_reset_on_return=None,  # autocommit leaves no transaction to roll back
            )
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        if upgrade:
            with self.engine.connect() as conn:
                if self.postgres:
                    conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
                else:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                migrate(conn)
                conn.commit()
        _databases.add(self)

    def begin(self) -> AbstractContextManager[Connection]:
        """A connection from the pool; on PostgreSQL in a transaction, committed when the block
        ends (rolled back on an error)."""
        return self.engine.begin()

    def listener(self, channel: str) -> Listener:
        """PostgreSQL only: a Listener on `channel`, stopped by close(); start() it."""
        if not self.postgres:
            raise ValueError("a Listener needs PostgreSQL")
        listener = Listener(self.url, channel)
        with self._lock:
            self._listeners.append(listener)
        return listener

    def close(self) -> None:
        """Closes the pool's connections and stops the listeners (tests call it; a server just
        exits)."""
        with self._lock:
            listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.stop()
        self.engine.dispose()

    def _after_fork(self) -> None:
        # The parent's connections share their sockets with this process: never used here, and
        # never closed either (that would end the parent's sessions). This process opens its
        # own as it needs them.
        self.engine.dispose(close=False)
        self._lock = threading.Lock()
        for listener in self._listeners:
            listener.restart_after_fork()

    def dump(self) -> str:
        """Every row of every table as text: what a copy of the database holds (the tests check
        that it holds no usable credential)."""
        lines = []
        with self.begin() as conn:
            for table in metadata.sorted_tables:
                for row in conn.execute(select(table)):
                    lines.append(f"{table.name}: " + " | ".join(str(v) for v in row))
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

"""The API's request limit across server processes: on PostgreSQL they share their counts
through the database (app.ratelimit.RequestLimiter with `db`); on SQLite each counts alone."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.ratelimit import RequestLimiter
from app.tables import api_requests
from tests.test_limits import call


def counted(db) -> dict[str, int]:
    """The request counts in the database: key → count."""
    with db.begin() as conn:
        return dict(conn.execute(select(api_requests.c.key, api_requests.c.count)).all())


def test_with_postgresql_every_server_process_shares_the_limit(
    database_url, make_app, auth_headers_for
):
    if not database_url.startswith("postgresql"):
        pytest.skip("with SQLite each server process counts on its own (see the README)")
    # Two apps on one database are two workers (`--workers 2`) or two hosts: ten requests
    # spread over them are ten, not five at each.
    apps = [make_app(rate_limit_per_minute=10) for _ in range(2)]
    clients = [TestClient(app) for app in apps]
    alice = auth_headers_for(apps[0], "alice")
    made_up = {"Authorization": "Bearer made-up"}
    for i in range(10):
        assert call(clients[i % 2], alice).status_code != 429
        assert call(clients[i % 2], made_up).status_code == 401
        apps[i % 2].state.request_limiter.flush()
    # Past the limit, a process lets at most a batch (here one request) more through before it
    # hears the total; unshared, each would still have five to go.
    for client, app in zip(clients, apps, strict=True):
        call(client, alice)
        call(client, made_up)
        app.state.request_limiter.flush()
    assert [call(c, alice).status_code for c in clients] == [429, 429]
    assert [call(c, made_up).status_code for c in clients] == [429, 429]


def test_processes_add_their_counts_to_the_database_in_batches(app):
    db = app.state.db
    one, other = RequestLimiter(limit=1000, db=db), RequestLimiter(limit=1000, db=db)
    for _ in range(9):
        one.hit("credential:alice", now=100.0)
    one.flush()
    assert counted(db) == {}  # fewer than a batch: nothing written yet
    one.hit("credential:alice", now=100.0)
    one.flush()
    assert counted(db) == {"credential:alice": 10}
    for _ in range(10):
        other.hit("credential:alice", now=101.0)
    other.flush()
    # `other` has learnt the total: 20 so far, its next request is the 21st.
    assert other.hit("credential:alice", now=102.0) == (True, 1000 - 21, 58)
    assert counted(db) == {"credential:alice": 20}


def test_together_processes_let_through_at_most_a_batch_more_each(app):
    db = app.state.db
    one, other = RequestLimiter(limit=200, db=db), RequestLimiter(limit=200, db=db)
    assert one.batch == 2
    assert all(one.hit("address:a", now=0.0)[0] for _ in range(200))
    one.flush()
    assert not one.hit("address:a", now=1.0)[0]
    # `other` has not heard of these yet: it lets a batch through, then learns the total.
    assert [other.hit("address:a", now=1.0)[0] for _ in range(2)] == [True, True]
    other.flush()
    assert not other.hit("address:a", now=2.0)[0]
    assert counted(db) == {"address:a": 202}


def test_request_counts_of_ended_windows_are_deleted(app):
    db = app.state.db
    limiter = RequestLimiter(limit=1, db=db)
    limiter.hit("address:a", now=0.0)
    limiter.hit("address:b", now=30.0)
    limiter.flush()
    assert set(counted(db)) == {"address:a", "address:b"}
    limiter.hit("address:c", now=61.0)  # a new window deletes those that ended
    limiter.flush()
    assert set(counted(db)) == {"address:b", "address:c"}


class SlowDatabase:
    """Holds each write of a limiter until release() lets it through (a slow or far database);
    `waiting` is set once a write waits."""

    def __init__(self, db) -> None:
        self.db, self.writes, self.waiting = db, threading.Semaphore(0), threading.Event()

    def begin(self):
        self.waiting.set()
        assert self.writes.acquire(timeout=10), "a write was let through"
        return self.db.begin()

    def release(self, writes: int = 1000) -> None:
        for _ in range(writes):
            self.writes.release()


def test_a_slow_database_holds_a_bounded_queue_for_each_kind_of_key(app):
    db = app.state.db
    limiter = RequestLimiter(limit=10, max_keys=3, db=db)  # a write at every request
    limiter.db = slow = SlowDatabase(db)
    limiter.hit("address:busy", now=0.0)
    assert slow.waiting.wait(5)  # the writer is busy: what follows waits in the queues
    for i in range(6):
        for _ in range(4):
            limiter.hit(f"address:{i}", now=0.0)
    # Made-up addresses fill their own queue, never a verified credential's.
    limiter.hit("credential:alice", now=0.0)
    assert list(limiter._queued_addresses) == ["address:0", "address:1", "address:2"]
    assert list(limiter._queued_credentials) == ["credential:alice"]
    slow.release()
    limiter.flush()
    written = counted(db)
    assert written["address:0"] == 4 and written["credential:alice"] == 1


def test_counts_of_a_window_that_ended_while_they_waited_are_not_charged_to_the_next(app):
    db = app.state.db
    limiter = RequestLimiter(limit=100, db=db)  # a write at every request
    limiter.db = slow = SlowDatabase(db)
    limiter.hit("address:busy", now=0.0)
    assert slow.waiting.wait(5)  # the writer is busy: what follows waits in the queue
    limiter.hit("address:a", now=0.0)  # window [0, 60)
    for t in range(60, 100):  # window [60, 120): 40 requests
        limiter.hit("address:a", now=float(t))
    slow.release()
    limiter.flush()
    assert counted(db)["address:a"] == 40
    assert limiter.hit("address:a", now=100.0) == (True, 100 - 41, 20)


def test_a_write_for_a_window_that_ended_leaves_the_new_window_alone(app):
    db = app.state.db
    limiter = RequestLimiter(limit=100, db=db)
    limiter.db = slow = SlowDatabase(db)
    limiter.hit("address:a", now=0.0)  # window [0, 60): the writer takes it, and waits
    assert slow.waiting.wait(5)
    for t in range(60, 65):  # window [60, 120), queued behind it
        limiter.hit("address:a", now=float(t))
    slow.waiting.clear()
    slow.release(1)
    assert slow.waiting.wait(5)  # the first write is done, the second waits
    assert limiter._addresses["address:a"] == (60.0, 5, 0)
    slow.release()
    limiter.flush()
    assert counted(db) == {"address:a": 5}


def test_a_late_write_is_not_charged_to_a_window_that_began_after_its_requests(app):
    db = app.state.db
    late, other = RequestLimiter(limit=100, db=db), RequestLimiter(limit=100, db=db)
    late.db = slow = SlowDatabase(db)
    for _ in range(50):
        late.hit("address:u", now=1.0)  # in the window [1, 61) at `late`; the write waits
    for _ in range(10):
        other.hit("address:u", now=70.0)  # the database's window [70, 130)
    other.flush()
    slow.release()
    late.flush()
    assert counted(db) == {"address:u": 10}
    assert late._addresses["address:u"] == (1.0, 50, 0)  # not moved to the later window


def test_without_the_database_each_process_goes_on_counting_alone(app, monkeypatch, caplog):
    def unreachable():
        raise OperationalError("connect", {}, Exception("connection refused"))

    db = app.state.db
    limiter = RequestLimiter(limit=3, db=db)
    with monkeypatch.context() as database_away:
        database_away.setattr(db, "begin", unreachable)
        for _ in range(2):
            assert limiter.hit("address:a", now=0.0)[0]
            limiter.flush()
    assert "request counts not shared" in caplog.text
    # Back: what was counted meanwhile is written with the next count, and the limit holds.
    assert limiter.hit("address:a", now=1.0)[0]
    limiter.flush()
    assert counted(db) == {"address:a": 3}
    assert not limiter.hit("address:a", now=2.0)[0]


def test_cleaning_up_ended_windows_never_waits_for_another_process(database_url, app):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: no row locks to wait for")
    db = app.state.db
    limiter = RequestLimiter(limit=1, db=db)
    limiter.hit("address:a", now=0.0)
    limiter.flush()
    done = threading.Event()
    with db.begin() as conn:
        # Another process's transaction holds the ended row of `address:a` (it is starting the
        # key's next window, say); cleaning up must skip it, not wait (two processes that each
        # waited for the other's row would deadlock).
        conn.execute(
            select(api_requests).where(api_requests.c.key == "address:a").with_for_update()
        )
        threading.Thread(
            target=lambda: (limiter.hit("address:b", now=100.0), limiter.flush(), done.set())
        ).start()
        assert done.wait(5), "the cleanup waited for a locked row"
    assert set(counted(db)) == {"address:a", "address:b"}

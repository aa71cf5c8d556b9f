"""The brute-force guard (C13): failures are counted by source address and by address + account,
so guesses from one address back that address off and never lock the rightful client or user
out from elsewhere; guesses are counted before they are checked, and password hashing runs a
few at a time."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from app import oauth_store
from app.main import create_app
from app.ratelimit import FailureLimiter
from app.tables import failures
from tests.oauth_helpers import (
    authorize_params,
    browser,
    csrf_of,
    exchange,
    get_code,
    login,
    make_user,
    token_request,
)

ATTACKER = "203.0.113.66"
WRONG_SECRET = "pcs_" + "w" * 43  # pragma: allowlist secret
WRONG_PASSWORD = "not the password"  # pragma: allowlist secret


def test_c13_bad_secrets_from_one_address_do_not_lock_the_client_out_elsewhere(app, client):
    attacker = TestClient(app, client=(ATTACKER, 50000))
    guess = {"grant_type": "refresh_token", "refresh_token": "prt_guess"}
    for _ in range(10):
        assert token_request(attacker, guess, secret=WRONG_SECRET).status_code == 401
    assert token_request(attacker, guess, secret=WRONG_SECRET).status_code == 429
    r = exchange(client, get_code(app))  # the rightful client, from its own address
    assert r.status_code == 200, r.text


def test_c13_bad_secrets_never_lock_out_the_right_one_even_from_the_same_address(app):
    # ChatGPT sends the token requests of every GPT from a few shared addresses, so a stranger's
    # GPT sending a wrong secret for this client shares the rightful GPT's address. A client
    # secret is a long random value, never guessed: the right one works from anywhere.
    shared = TestClient(app, client=(ATTACKER, 50000))
    guess = {"grant_type": "refresh_token", "refresh_token": "prt_guess"}
    for _ in range(10):
        assert token_request(shared, guess, secret=WRONG_SECRET).status_code == 401
    assert token_request(shared, guess, secret=WRONG_SECRET).status_code == 429
    r = exchange(shared, get_code(app))
    assert r.status_code == 200, r.text


def test_c13_wrong_passwords_from_one_address_do_not_lock_the_user_out_elsewhere(app):
    make_user(app)
    attacker = browser(app, ATTACKER)
    for _ in range(10):
        assert (
            "Wrong user name" in login(attacker, authorize_params(), password=WRONG_PASSWORD).text
        )
    assert login(attacker, authorize_params()).status_code == 429  # even with the right password
    assert login(browser(app), authorize_params()).status_code == 303


def test_c13_random_user_names_from_one_address_do_not_lock_out_all_users(app):
    make_user(app)
    attacker = browser(app, ATTACKER)
    answers = [
        login(attacker, authorize_params(), f"user{i}", WRONG_PASSWORD).status_code
        for i in range(120)
    ]
    assert answers[-1] == 429, "the address backs off"
    assert login(browser(app), authorize_params()).status_code == 303


def test_c13_concurrent_guesses_are_counted_before_they_are_checked(app, monkeypatch):
    make_user(app)
    checked = []

    def slow_check(*args):
        checked.append(1)
        time.sleep(0.05)
        return False

    monkeypatch.setattr(oauth_store, "check_password", slow_check)
    browsers = [browser(app) for _ in range(40)]
    csrf = [csrf_of(b.get("/oauth/authorize", params=authorize_params()).text) for b in browsers]

    def guess(i: int) -> int:
        form = {"csrf_token": csrf[i], "username": "alice", "password": WRONG_PASSWORD}
        return (
            browsers[i].post("/oauth/authorize", params=authorize_params(), data=form).status_code
        )

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(guess, range(40)))
    assert len(checked) <= 10
    assert answers.count(429) == 40 - len(checked)


def test_password_hashes_are_computed_a_few_at_a_time_and_few_wait(app, monkeypatch):
    # Argon2id takes 64 MiB a hash, and each sign-in waits for one in a worker thread (40 in
    # all): a crowd of sign-ins would take them all and the API would stop answering. Beyond a
    # few waiting, a sign-in is turned away at once.
    make_user(app)
    running, peak, lock, go = 0, 0, threading.Lock(), threading.Event()

    class SlowHasher:
        def verify(self, hashed: str, password: str) -> bool:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            go.wait(10)
            with lock:
                running -= 1
            return False

    monkeypatch.setattr(oauth_store, "_hasher", SlowHasher())
    admitted = oauth_store.MAX_CONCURRENT_HASHES + oauth_store.MAX_WAITING_HASHES
    with ThreadPoolExecutor(admitted) as pool:
        checks = [
            pool.submit(oauth_store.check_password, app.state.db, "alice", "guess")
            for _ in range(admitted)
        ]
        time.sleep(0.5)  # every one of them is hashing or waiting now
        with pytest.raises(oauth_store.Busy):
            oauth_store.check_password(app.state.db, "alice", "guess")
        go.set()
        assert [check.result() for check in checks] == [False] * admitted
    assert peak == oauth_store.MAX_CONCURRENT_HASHES


def test_a_sign_in_turned_away_gets_503_and_a_moment_to_wait(app, monkeypatch):
    make_user(app)

    def busy(*args: object) -> bool:
        raise oauth_store.Busy

    monkeypatch.setattr(oauth_store, "check_password", busy)
    r = login(browser(app), authorize_params())
    assert r.status_code == 503 and r.headers["retry-after"] == "1", r.text


def test_c13_the_limit_is_shared_by_every_server_process(settings, app):
    # Two apps on one database are two workers (`--workers 2`) or two hosts: ten guesses spread
    # over them are ten, not five at each.
    other = create_app(settings)
    other.state.clock = app.state.clock
    attacker = TestClient(app, client=(ATTACKER, 50000))
    elsewhere = TestClient(other, client=(ATTACKER, 50001))
    guess = {"grant_type": "refresh_token", "refresh_token": "prt_guess"}
    for i in range(10):
        answer = token_request(attacker if i % 2 else elsewhere, guess, secret=WRONG_SECRET)
        assert answer.status_code == 401
    assert token_request(attacker, guess, secret=WRONG_SECRET).status_code == 429
    assert token_request(elsewhere, guess, secret=WRONG_SECRET).status_code == 429


def test_c13_the_failure_table_stays_small(app):
    limiter = FailureLimiter(app.state.db, "test", per_address=3, per_account=3, window=60)

    def rows() -> int:
        with app.state.db.begin() as conn:
            return int(conn.scalar(select(func.count()).select_from(failures)) or 0)

    for i in range(50):  # an address over its limit adds no account keys
        limiter.attempt("198.51.100.1", f"user{i}", now=1000.0)
    assert rows() == 1 + 3
    for _ in range(3):
        assert limiter.attempt("x", "alice", now=2000.0) is None
    assert limiter.attempt("x", "alice", now=2001.0) == 59
    assert limiter.attempt("y", "alice", now=2001.0) is None
    # A new window of an address deletes the windows that ended.
    assert limiter.attempt("z", "bob", now=3000.0) is None
    assert rows() == 2


def test_c13_cleaning_up_ended_windows_never_waits_for_another_process(database_url, app):
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has one writer at a time: no row locks to wait for")
    limiter = FailureLimiter(app.state.db, "test", per_address=3, per_account=3, window=60)
    limiter.attempt("198.51.100.1", "alice", now=0.0)
    done = threading.Event()
    with app.state.db.begin() as conn:
        # Another process's transaction holds an ended row (it is counting a new attempt
        # there, say): a new window's clean-up skips it instead of waiting, which could
        # deadlock with that process waiting for this one's row.
        conn.execute(select(failures).where(failures.c.key.like("%198.51.100.1")).with_for_update())
        threading.Thread(
            target=lambda: (limiter.attempt("198.51.100.2", "bob", now=100.0), done.set())
        ).start()
        assert done.wait(5), "the clean-up waited for a locked row"


def test_c13_an_attempt_timed_before_the_window_began_still_counts(app):
    # A request's clock is read before its body arrives: a slow body can make an attempt look
    # older than the window a later attempt began. It counts all the same.
    limiter = FailureLimiter(app.state.db, "test", per_address=3, per_account=3, window=60)
    assert limiter.attempt("203.0.113.9", "alice", now=60.5) is None
    answers = [limiter.attempt("203.0.113.9", "alice", now=59.9) for _ in range(3)]
    assert answers[:2] == [None, None] and answers[2] is not None


def test_c13_attempts_and_successes_take_the_rows_in_one_order(app):
    # On PostgreSQL a statement locks the rows it writes until its transaction ends: two
    # processes that took an address's row and its account's in opposite orders could each wait
    # for the other's. attempt() and succeeded() both take the address first.
    limiter = FailureLimiter(app.state.db, "test", per_address=3, per_account=3, window=60)
    address, account = limiter._keys("203.0.113.9", "alice")
    touched: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        values = parameters.values() if isinstance(parameters, dict) else parameters
        touched.extend(v for v in values if v in (address, account) and v not in touched)

    event.listen(app.state.db.engine, "before_cursor_execute", record)
    try:
        limiter.attempt("203.0.113.9", "alice", now=100.0)
        assert touched == [address, account]
        touched.clear()
        limiter.succeeded("203.0.113.9", "alice", now=100.0)
        assert touched == [address, account]
    finally:
        event.remove(app.state.db.engine, "before_cursor_execute", record)

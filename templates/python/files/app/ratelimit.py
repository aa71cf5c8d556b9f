"""Limits: RequestLimiter caps the API requests of each caller per minute; FailureLimiter is the
brute-force guard: after too many failures from one address, or from one address at one
account, within a window, further attempts from there are refused with 429 and `Retry-After`
until the window has passed. In memory, per server process; time comes from the injected clock."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque


class RequestLimiter:
    """A fixed one-minute window per key: `limit` requests, then 429 until the window ends.

    A key is `credential:<hash>` (a credential the server verified) or `address:<address>`
    (every other request). In memory, per server process, with at most `max_keys` keys of each
    kind, the least recently used going first: made-up addresses or tokens can never push out
    the counter of a verified credential. With several processes each counts on its own; put a
    shared limiter (at the reverse proxy, or in Redis) in front for one limit across them."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._credentials: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._addresses: OrderedDict[str, tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str, now: float) -> tuple[bool, int, int]:
        """Counts a request: (allowed, requests remaining, seconds until the window resets)."""
        windows = self._credentials if key.startswith("credential:") else self._addresses
        with self._lock:
            start, count = windows.pop(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            allowed = count < self.limit
            count += allowed
            windows[key] = (start, count)  # now the most recently used
            if len(windows) > self.max_keys:
                windows.popitem(last=False)
            # The time left, from the time elapsed: `start + window - now` can round up past the
            # window (8161.96… + 60 - 8161.96… is 60.000000000001).
            reset = max(1, math.ceil(self.window - (now - start)))
            return allowed, self.limit - count, reset


class FailureLimiter:
    """Counts failed sign-ins or client authentications by source address (`per_address`
    within `window` seconds) and by address + account (`per_account`), never by account alone:
    guesses from one address back that address off, and the rightful user or client keeps
    working from anywhere else.

    attempt() counts an attempt before it is checked, in the same step as the limit, so that
    concurrent guesses cannot all slip through; succeeded() gives a success back. Memory stays
    bounded: an address that is over its limit adds no keys, and past `max_keys` the least
    recently used go first."""

    def __init__(
        self,
        per_address: int = 100,
        per_account: int = 10,
        window: float = 300.0,
        max_keys: int = 100_000,
    ) -> None:
        self.per_address = per_address
        self.per_account = per_account
        self.window = window
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _limits(self, address: str, account: str) -> dict[str, int]:
        return {
            f"addr:{address}": self.per_address,
            f"addr+account:{address} {account}": self.per_account,
        }

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.pop(key, None) or deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        self._failures[key] = times  # now the most recently used
        return times

    def attempt(self, address: str, account: str, now: float) -> int | None:
        """Counts an attempt; or, when the address or the address + account is over its limit,
        counts nothing and returns the seconds to wait."""
        limits = self._limits(address, account)
        with self._lock:
            counts = {key: self._recent(key, now) for key in limits}
            waits = [t[0] + self.window - now for key, t in counts.items() if len(t) >= limits[key]]
            if waits:
                return max(1, math.ceil(max(waits)))
            for times in counts.values():
                times.append(now)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)
            return None

    def succeeded(self, address: str, account: str, now: float) -> None:
        """The attempt counted at `now` succeeded: it was no failure, nor were the account's
        earlier ones from this address."""
        address_key, account_key = self._limits(address, account)
        with self._lock:
            self._failures.pop(account_key, None)
            times = self._failures.get(address_key)
            if times and now in times:
                times.remove(now)

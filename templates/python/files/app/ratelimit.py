"""Limits: RequestLimiter caps the API requests of each caller per minute; FailureLimiter is the
brute-force guard: after too many failures from one key (a client id, a user name, an
address) within a window, further attempts are refused with 429 and `Retry-After` until the
window has passed. In memory, per server process; time comes from the injected clock."""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque


class RequestLimiter:
    """A fixed one-minute window per key: `limit` requests, then 429 until the window ends.

    In memory, per server process, with a bounded number of keys. Put a shared limiter (at the
    reverse proxy, or in Redis) in front when you run several processes."""

    def __init__(self, limit: int, window: float = 60.0, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(authorization: str | None, address: str | None) -> str:
        """One budget per credential (hashed: the key never holds it), else per address."""
        if authorization:
            return "credential:" + hashlib.sha256(authorization.encode()).hexdigest()[:32]
        return f"address:{address or 'unknown'}"

    def hit(self, key: str, now: float) -> tuple[bool, int, int]:
        """Counts a request: (allowed, requests remaining, seconds until the window resets)."""
        with self._lock:
            start, count = self._windows.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if len(self._windows) >= self.max_keys and key not in self._windows:
                cutoff = now - self.window
                self._windows = {k: v for k, v in self._windows.items() if v[0] > cutoff}
                if len(self._windows) >= self.max_keys:
                    self._windows.clear()
            allowed = count < self.limit
            count += allowed
            self._windows[key] = (start, count)
            reset = max(1, math.ceil(start + self.window - now))
            return allowed, self.limit - count, reset


class FailureLimiter:
    def __init__(self, max_failures: int = 10, window: float = 300.0, max_keys: int = 100_000) -> None:
        self.max_failures = max_failures
        self.max_keys = max_keys
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, keys: list[str], now: float) -> int | None:
        """Seconds to wait when any of `keys` is blocked, else None."""
        with self._lock:
            waits = []
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.max_failures:
                    waits.append(times[0] + self.window - now)
                if not times:
                    self._failures.pop(key, None)
            return max(1, math.ceil(max(waits))) if waits else None

    def fail(self, keys: list[str], now: float) -> None:
        with self._lock:
            if len(self._failures) > self.max_keys:
                # Keys are attacker-chosen (client ids, user names): keep memory bounded.
                for key in [k for k, t in self._failures.items() if not t or t[-1] <= now - self.window]:
                    del self._failures[key]
                if len(self._failures) > self.max_keys:
                    self._failures.clear()
            for key in keys:
                self._recent(key, now).append(now)

    def clear(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

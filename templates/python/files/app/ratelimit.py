"""Brute-force guard: after too many failures from one key (a client id, a user name, an
address) within a window, further attempts are refused with 429 and `Retry-After` until the
window has passed. In memory, per server process; time comes from the injected clock."""

from __future__ import annotations

import math
import threading
from collections import deque


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

"""The example data behind the endpoints: each user's items, in memory.

Replace it with your real storage. Whatever you use, key every record by the identity that
app.auth.current_user returns (from the credentials), never by a value the request names.
"""

from __future__ import annotations

import secrets
import threading

from app.models import MAX_ITEMS


class LimitReached(Exception):
    """A collection already holds MAX_ITEMS items."""


class ItemStore:
    """Items per (user, collection), where a collection is the path up to the item."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], dict[str, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def _bucket(self, user: str, collection: str) -> dict[str, dict[str, str]]:
        return self._items.setdefault((user, collection), {})

    def list(self, user: str, collection: str) -> list[dict[str, str]]:
        with self._lock:
            return list(self._bucket(user, collection).values())

    def get(self, user: str, collection: str, item_id: str) -> dict[str, str] | None:
        with self._lock:
            return self._bucket(user, collection).get(item_id)

    def create(self, user: str, collection: str, text: str) -> dict[str, str]:
        item = {"id": secrets.token_hex(8), "text": text}
        with self._lock:
            bucket = self._bucket(user, collection)
            if len(bucket) >= MAX_ITEMS:
                raise LimitReached
            bucket[item["id"]] = item
        return item

    def put(self, user: str, collection: str, item_id: str, text: str) -> dict[str, str]:
        item = {"id": item_id, "text": text}
        with self._lock:
            bucket = self._bucket(user, collection)
            if item_id not in bucket and len(bucket) >= MAX_ITEMS:
                raise LimitReached
            bucket[item_id] = item
        return item

    def update(self, user: str, collection: str, item_id: str, text: str) -> dict[str, str] | None:
        with self._lock:
            bucket = self._bucket(user, collection)
            if item_id not in bucket:
                return None
            bucket[item_id] = {"id": item_id, "text": text}
            return bucket[item_id]

    def delete(self, user: str, collection: str, item_id: str) -> bool:
        with self._lock:
            return self._bucket(user, collection).pop(item_id, None) is not None

    def clear(self, user: str, collection: str) -> None:
        with self._lock:
            self._bucket(user, collection).clear()

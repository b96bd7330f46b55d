"""A bounded in-memory map of bytes with expiries (size, entries and age): no I/O."""

from __future__ import annotations

import time
from collections import OrderedDict


class BoundedBytes:
    """A bounded copy (bytes and entries) of values with their expiry; least recently used
    goes first."""

    def __init__(self, max_bytes: int, max_entries: int) -> None:
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.size = 0
        self._items: OrderedDict[str, tuple[bytes, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> tuple[bytes, float] | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[1] <= time.time():
            self.pop(key)
            return None
        self._items.move_to_end(key)
        return item

    def put(self, key: str, value: bytes, expire_at: float) -> None:
        self.pop(key)
        if len(value) > self.max_bytes // 8:
            return  # one huge body must not flush everything else
        self._items[key] = (value, expire_at)
        self.size += len(value)
        while self.size > self.max_bytes or len(self._items) > self.max_entries:
            _, (old, _) = self._items.popitem(last=False)
            self.size -= len(old)

    def pop(self, key: str) -> None:
        item = self._items.pop(key, None)
        if item is not None:
            self.size -= len(item[0])

"""The embedded store's copy in memory of the feed bodies it wrote or read last, so a refresh
does not read back from disk the ~400 KB body it is about to compare with the upstream's
(twice: before the fetch lock and under it). No I/O.

Only for one process over its own cache directory (DiskStore): replicas on a shared server
read the server, where another replica may have written a newer body. The copy holds what
the disk holds: a body is kept once its write succeeded (never from a read, which runs in a
thread and could land after a newer write), a check (a 304, or the same bytes)
updates the copy as ``records.confirmed`` reads the check record back. Bounded in count,
bytes and age (``proxy/bounded.py``); a body over a quarter of the bytes is not kept. The
same for the small records read on every build (``RecentRecords``: what cleaning learnt).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from proxy.bounded import BoundedMap
from proxy.store.records import StoredFeed

FEEDS = 256
FEED_BYTES = 64 * 1024 * 1024
MAX_AGE = 6 * 3600.0
RECORDS = 1024
RECORD_BYTES = 16 * 1024 * 1024
Bounds = tuple[int, int] | tuple[()]  # (entries, bytes), or () for the defaults


class RecentFeeds:
    """url -> the StoredFeed a read from disk would give now (see the module docstring)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, bounds: Bounds = ()) -> None:
        entries, max_bytes = bounds or (FEEDS, FEED_BYTES)
        self._largest = max_bytes // 4
        # (the body's own record, as records.confirmed reads it with the last check)
        self._feeds: BoundedMap[str, tuple[StoredFeed, StoredFeed]] = BoundedMap(
            entries, MAX_AGE, clock, weigh=lambda kept: len(kept[0].body), max_weight=max_bytes
        )

    def get(self, url: str) -> StoredFeed | None:
        kept = self._feeds.get(url)
        return None if kept is None else kept[1]

    def written(self, record: StoredFeed) -> None:
        """The body's record ``record`` is on disk now (its write succeeded)."""
        if len(record.body) > self._largest:
            self._feeds.pop(record.url)
            return
        self._feeds.set(record.url, (record, record))

    def checked(self, check: StoredFeed) -> None:
        """The check record made of ``check`` is on disk now (replacing the last one): the
        kept body reads as ``records.confirmed`` reads it with that record."""
        kept = self._feeds.get(check.url)
        if kept is None:
            return
        record = kept[0]
        read = record
        if check.fetched_at == record.fetched_at and check.checked_at > record.checked_at:
            read = dataclasses.replace(
                record,
                checked_at=check.checked_at,
                etag=check.etag,
                last_modified=check.last_modified,
            )
        self._feeds.set(check.url, (record, read))

    def forget(self, url: str) -> None:
        self._feeds.pop(url)

    def clear(self) -> None:
        self._feeds.clear()


class RecentRecords:
    """key -> the small record (bytes) last written under it, for records read on every
    build (what the clean stage learnt per feed). Bounded like RecentFeeds."""

    def __init__(self) -> None:
        self._records: BoundedMap[str, bytes] = BoundedMap(
            RECORDS, MAX_AGE, time.monotonic, weigh=len, max_weight=RECORD_BYTES
        )

    def get(self, key: str) -> bytes | None:
        return self._records.get(key)

    def written(self, key: str, value: bytes) -> None:
        self._records.set(key, value)

    def forget(self, key: str) -> None:
        self._records.pop(key)

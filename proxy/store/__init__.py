"""The store: what feedscrub keeps between requests (raw bodies, outputs, articles, policies).
One async protocol, two backends: diskcache on this machine (default), or a Redis/Valkey
server shared by replicas. Stages call only the protocol; ``open_store`` picks the backend."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from proxy.store.disk import DiskStore, ImageCache  # noqa: E402 - records first (disk uses it)
from proxy.store.records import (
    ImageRecord,
    OpenImage,
    StoredArticle,
    StoredFeed,
    StoredImage,
    StoredOutput,
)

__all__ = [
    "DiskStore",
    "ImageCache",
    "ImageRecord",
    "OpenImage",
    "Store",
    "StoredArticle",
    "StoredFeed",
    "StoredImage",
    "StoredOutput",
    "open_store",
]


class Store(Protocol):
    """Every method is a coroutine and none raises on a store fault: a broken or unreachable
    store makes feedscrub slower (it refetches), never unavailable. ``images`` are always on
    this machine's disk, whatever the backend."""

    backend: str  # "diskcache" or "redis": for logs and /readyz, never for decisions
    images: ImageCache

    async def close(self) -> None: ...
    async def ping(self) -> str:
        """For /readyz: "" when all is well, else why the store is degraded (the replica still
        serves); raises when it cannot serve at all."""

    def shared_key(self, local: bytes) -> bytes:
        """The image-signing key all replicas use, given this one's generated key (startup)."""

    async def get_feed(self, url: str) -> StoredFeed | None: ...
    async def put_feed(self, stored: StoredFeed) -> None: ...
    async def confirm_feed(self, stored: StoredFeed) -> None:
        """Record a check of the stored body (new checked_at, validators); no body written."""

    async def get_output(self, key: str) -> StoredOutput | None: ...
    async def put_output(self, key: str, output: StoredOutput) -> None: ...
    async def get_articles(self, urls: Iterable[str]) -> dict[str, StoredArticle]: ...
    async def put_article(self, article: StoredArticle, *, expire: float) -> None: ...
    async def get_referer(self, host: str) -> str | None: ...
    async def put_referer(self, host: str, policy: str, expire: float) -> None: ...
    # What the clean stage learnt about one feed (a small JSON object, records.encode_memory).
    async def get_memory(self, key: str) -> dict[str, Any] | None: ...
    async def put_memory(self, key: str, memory: dict[str, Any]) -> None: ...

    # Small shared records: backoff, the negative cache, the outcome of a fetch (JSON-able).
    async def get_state(self, key: str) -> dict[str, Any] | None: ...
    async def put_state(self, key: str, state: dict[str, Any], expire: float) -> None: ...

    # A lock across replicas, with an expiry so a dead holder frees it (flight.py uses them).
    async def acquire(self, name: str, ttl: float) -> str | None:
        """A token when this replica now holds ``name`` for ``ttl`` seconds, else None."""

    async def release(self, name: str, token: str) -> None: ...
    async def wait(self, name: str, timeout: float) -> None:
        """Return when ``name`` is free (released or expired), at most after ``timeout``."""


def open_store(cache_dir: str, cache_url: str = "") -> Store:
    """The configured store.

    Parameters:
        cache_dir: FEEDSCRUB_CACHE_DIR, the embedded cache (and the images, whatever the backend).
        cache_url: FEEDSCRUB_CACHE_URL; empty for the embedded cache, else a Redis/Valkey URL.
    """
    if cache_url:
        from proxy.store.redis_store import RedisStore  # redis is imported only when used

        return RedisStore(cache_url, cache_dir)
    return DiskStore(cache_dir)

"""The Store's record methods, once for every backend: packed records on a backend's own
``_get`` / ``_set`` of bytes under a key. No I/O of its own."""

from __future__ import annotations

from typing import Any

from proxy.store import records
from proxy.store.records import StoredArticle, StoredFeed, StoredOutput


class KeyedRecords:
    """A backend subclasses this and provides ``_get`` and ``_set`` (never raising)."""

    feed_expire: float | None = None  # raw bodies: kept until evicted (None) or this long

    async def _get(self, key: str) -> Any:
        raise NotImplementedError

    async def _set(self, key: str, value: bytes, expire: float | None) -> None:
        raise NotImplementedError

    async def get_feed(self, url: str) -> StoredFeed | None:
        return records.decode_feed(await self._get("feed:" + url))

    async def put_feed(self, stored: StoredFeed) -> None:
        await self._set("feed:" + stored.url, records.encode_feed(stored), self.feed_expire)

    async def get_output(self, key: str) -> StoredOutput | None:
        return records.decode_output(await self._get("out:" + key))

    async def put_output(self, key: str, output: StoredOutput) -> None:
        await self._set(
            "out:" + key, records.encode_output(output), records.RENDERED_EXPIRE_SECONDS
        )

    async def put_article(self, article: StoredArticle, *, expire: float) -> None:
        """Keep an article (or a failure) for ``expire`` seconds."""
        await self._set("article:" + article.url, records.encode_article(article), expire)

    # What the clean stage learnt per feed (boilerplate fingerprints).

    async def get_memory(self, key: str) -> dict[str, Any] | None:
        return records.decode_memory(await self._get("memory:" + key))

    async def put_memory(self, key: str, memory: dict[str, Any]) -> None:
        encoded = records.encode_memory(memory)
        if len(encoded) <= records.MEMORY_MAX_BYTES:
            await self._set("memory:" + key, encoded, records.MEMORY_EXPIRE_SECONDS)

"""The Store's record methods, once for every backend: packed records on a backend's own
``_get`` / ``_set`` of bytes under a key. No I/O of its own (big records are joined in a
thread)."""

from __future__ import annotations

import asyncio
from typing import Any

from proxy.store import records
from proxy.store.records import StoredArticle, StoredFeed, StoredOutput

# Records smaller than this are joined on the event loop: a thread hop costs more.
_JOIN_INLINE_BYTES = 256 * 1024


class KeyedRecords:
    """A backend subclasses this and provides ``_get`` and ``_set`` (never raising)."""

    feed_expire: float | None = None  # raw bodies: kept until evicted (None) or this long

    async def _get(self, key: str) -> Any:
        raise NotImplementedError

    async def _set(self, key: str, value: bytes, expire: float | None) -> None:
        raise NotImplementedError

    async def _get_many(self, keys: list[str]) -> list[Any]:
        """The values under ``keys`` (one round trip where the backend can)."""
        return [await self._get(key) for key in keys]

    async def _set_parts(self, key: str, parts: list[bytes], expire: float | None) -> None:
        """Store a record given as pieces (``records.parts``): joined here, off the event
        loop when big; a backend that can write them without joining overrides this."""
        if sum(len(part) for part in parts) < _JOIN_INLINE_BYTES:
            value = b"".join(parts)
        else:
            value = await asyncio.to_thread(b"".join, parts)
        await self._set(key, value, expire)

    async def get_feed(self, url: str) -> StoredFeed | None:
        blob, check = await self._get_many(["feed:" + url, "checked:" + url])
        return records.confirmed(records.decode_feed(blob), check)

    async def put_feed(self, stored: StoredFeed) -> None:
        await self._set_parts("feed:" + stored.url, records.feed_parts(stored), self.feed_expire)

    async def confirm_feed(self, stored: StoredFeed) -> None:
        """The upstream confirmed ``stored``'s body (a 304, or the same bytes): its new
        checked_at and validators, without writing the body again (``records.confirmed``)."""
        await self._set("checked:" + stored.url, records.encode_checked(stored), self.feed_expire)

    async def get_output(self, key: str) -> StoredOutput | None:
        return records.decode_output(await self._get("out:" + key))

    async def put_output(self, key: str, output: StoredOutput) -> None:
        await self._set_parts(
            "out:" + key, records.output_parts(output), records.RENDERED_EXPIRE_SECONDS
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

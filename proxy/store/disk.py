"""The embedded backend: diskcache under FEEDSCRUB_CACHE_DIR. The only module importing diskcache.

Two caches, each with its own size limit so images never push feeds out:

- ``feeds/``: ``feed:<url>`` raw upstream bodies with validators and fetch times (and
  ``checked:<url>``, the last check of that body: a 304 does not write the body again),
  ``out:<digest>`` rendered outputs, ``article:<url>`` full-text articles (with expiry),
  ``memory:<key>`` what the clean stage learnt per feed;
- ``images/``: image bytes (ImageCache, per machine whatever the backend) and
  ``referer:<host>`` learned Referer policies.

diskcache is synchronous: DiskStore runs each call in a thread (as callers did before the
store had a protocol), so the event loop never waits on sqlite or the disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import diskcache

from proxy.store import packed, records
from proxy.store.keyed import KeyedRecords
from proxy.store.lru import BoundedBytes
from proxy.store.recent import RecentFeeds, RecentRecords
from proxy.store.records import ImageRecord, OpenImage, StoredImage

logger = logging.getLogger(__name__)

FEED_CACHE_BYTES = 1024 * 1024 * 1024  # 1 GB of feeds and outputs
IMAGE_CACHE_BYTES = 1024 * 1024 * 1024  # 1 GB of images, evicted least-recently-used
STATE_BYTES = 4 * 1024 * 1024  # backoff and negative-cache records: ~100 bytes each
STATE_ENTRIES = 16384
T = TypeVar("T")


class _Pieces:
    """A file-like reader over a record's pieces (``records.parts``): diskcache writes a value
    given with read=True through ``read(n)`` alone, so the pieces are never joined into one
    copy of a body that may be 100 MB."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = [memoryview(piece) for piece in pieces if piece]
        self._offset = 0

    def read(self, size: int = -1) -> bytes | memoryview:
        while self._pieces:
            piece = self._pieces[0]
            end = len(piece) if size < 0 else min(len(piece), self._offset + size)
            chunk = piece[self._offset : end]
            self._offset = end
            if end >= len(piece):
                self._pieces.pop(0)
                self._offset = 0
            if chunk:
                return chunk
        return b""


class _Prefixed:
    """A file-like reader: ``prefix`` then the rest of ``body`` (diskcache reads values
    with read=True through ``read(n)`` alone, so no copy of the image is made)."""

    def __init__(self, prefix: bytes, body: BinaryIO) -> None:
        self._prefix = prefix
        self._body = body

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            head, self._prefix = self._prefix, b""
            return head
        return self._body.read(size)


def _open(directory: Path, size_limit: int) -> diskcache.Cache:
    """Open one diskcache; a corrupted one is moved aside and started afresh.

    The cache only holds copies: losing it costs refetches, while refusing to start would
    cost the whole service.
    """
    try:
        return _cache(directory, size_limit)
    except (sqlite3.DatabaseError, OSError) as exc:
        aside = directory.with_name(f"{directory.name}.broken-{int(time.time())}")
        logger.warning(
            "cache: %s cannot be opened (%s); moved to %s, starting empty", directory, exc, aside
        )
        os.replace(directory, aside)
        return _cache(directory, size_limit)


class _Files(diskcache.Disk):  # type: ignore[misc]  # diskcache has no type hints
    """diskcache's files one directory level deep (256 directories, made once and kept),
    not two: its default names each file two fresh directories, made for it and removed
    with it, which cost more than writing the 400 KB file (a refresh writes two)."""

    def filename(self, key: Any = diskcache.UNKNOWN, value: Any = diskcache.UNKNOWN) -> Any:
        name = os.urandom(16).hex()
        filename = os.path.join(name[:2], name[2:] + ".val")
        return filename, os.path.join(self._directory, filename)

    def remove(self, file_path: str) -> None:
        if file_path.count(os.sep) > 1:  # diskcache's own layout (written before)
            super().remove(file_path)
            return
        with contextlib.suppress(OSError):  # another cache removed it first
            os.remove(os.path.join(self._directory, file_path))


def _cache(directory: Path, size_limit: int) -> diskcache.Cache:
    # sqlite_mmap_size=0: diskcache maps 64 MB of the database by default, and a database
    # file replaced or truncated under a running server is then read past its end through
    # the map: SIGBUS, the process gone without a word (issue 9.7). Read with read(2), a
    # replaced file is an error (logged, served uncached, /readyz fails), not a crash.
    return diskcache.Cache(
        str(directory),
        size_limit=size_limit,
        eviction_policy="least-recently-used",
        sqlite_mmap_size=0,
        disk=_Files,
    )


def _private_root(directory: str) -> Path:
    root = Path(directory)
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.chmod(root, 0o700)
    except OSError:  # pragma: no cover - a directory we do not own; keep going
        logger.warning("cache: cannot make %s owner-only", root)
    return root


def _safe_get(store: diskcache.Cache, key: str) -> Any:
    try:
        return store.get(key)
    except Exception as exc:  # sqlite, OS and corruption errors all mean "not cached"
        logger.warning("cache: read of %s failed: %s", key[:80], exc)
        return None


def _safe_set_pieces(
    store: diskcache.Cache, key: str, pieces: list[bytes], expire: float | None
) -> bool:
    try:
        # Small records stay inside sqlite (diskcache keeps bytes under its min file size
        # there); big ones go to their file piece by piece.
        if sum(len(piece) for piece in pieces) < store.disk_min_file_size:
            store.set(key, b"".join(pieces), expire=expire)
        else:
            store.set(key, _Pieces(pieces), expire=expire, read=True)
    except Exception as exc:
        logger.warning("cache: write of %s failed: %s", key[:80], exc)
        return False
    return True


def _open_value(store: diskcache.Cache, key: str) -> BinaryIO | None:
    """The value under key, open for reading (close it), or None."""
    try:
        value = store.get(key, read=True)
    except Exception as exc:
        logger.warning("cache: read of %s failed: %s", key[:80], exc)
        return None
    if value is None:
        return None
    # Small values live inside sqlite and come back as bytes, large ones as open files.
    return io.BytesIO(value) if isinstance(value, bytes) else value


def _safe_read(store: diskcache.Cache, key: str, build: Callable[[BinaryIO], T | None]) -> T | None:
    """build(file) of the record under key, read from its file (no copy of the whole value,
    as get() then a slice would make), or None."""
    file = _open_value(store, key)
    if file is None:
        return None
    try:
        return build(file)
    except Exception as exc:  # a file gone or cut short under us: not cached
        logger.warning("cache: read of %s failed: %s", key[:80], exc)
        return None
    finally:
        file.close()


def _safe_set(store: diskcache.Cache, key: str, value: bytes, expire: float | None = None) -> bool:
    try:
        store.set(key, value, expire=expire)
    except Exception as exc:
        logger.warning("cache: write of %s failed: %s", key[:80], exc)
        return False
    return True


class ImageCache:
    """Image bytes on this machine's disk (whatever the store backend: see README, "When one
    machine is not enough"). Synchronous: call it through ``asyncio.to_thread``. Never raises
    on a cache fault."""

    def __init__(self, directory: str) -> None:
        self.directory = _private_root(directory)  # the cache root: partial files go beside
        self._images = _open(self.directory / "images", IMAGE_CACHE_BYTES)

    def close(self) -> None:
        self._images.close()

    def get_image(self, url: str) -> StoredImage | None:
        return records.decoded(
            _safe_get(self._images, url),
            lambda header, body: StoredImage(
                body=body, content_type=header["type"], etag=header["etag"]
            ),
        )

    def put_image(self, url: str, image: StoredImage) -> None:
        header = {"type": image.content_type, "etag": image.etag}
        _safe_set(self._images, url, records.pack(header, image.body))

    def open_image(self, url: str) -> OpenImage | None:
        """The cached image for url, open for streaming (ranges read from disk, not memory)."""
        file = _open_value(self._images, url)
        if file is None:
            return None
        try:
            prefix = file.read(records.HEADER.size)
            (length,) = records.HEADER.unpack(prefix)
            header = json.loads(file.read(length))
            record = ImageRecord(
                content_type=str(header["type"]),
                etag=str(header["etag"]),
                modified=float(header.get("modified", 0.0)),
            )
            offset = records.HEADER.size + length
            size = file.seek(0, io.SEEK_END) - offset
        except Exception:  # truncated, another version's record, not ours: treat as absent
            file.close()
            return None
        if size < 0:
            file.close()
            return None
        return OpenImage(record, file, offset, size)

    def put_image_file(self, url: str, record: ImageRecord, body: BinaryIO) -> None:
        """Store an image from a file (read from its current position to its end)."""
        header = {"type": record.content_type, "etag": record.etag, "modified": record.modified}
        reader = _Prefixed(records.pack(header, b""), body)
        try:
            self._images.set(url, reader, read=True)
        except Exception as exc:
            logger.warning("cache: write of %s failed: %s", url[:80], exc)

    def limit_images(self, size_limit: int) -> None:
        """Set the image cache's size (FEEDSCRUB_IMAGE_CACHE_BYTES); evicts down to it."""
        try:
            if self._images.size_limit != size_limit:
                self._images.reset("size_limit", size_limit)
                self._images.cull()
        except Exception as exc:
            logger.warning("cache: cannot set the image cache size: %s", exc)

    def image_volume(self) -> int:
        """Bytes the image cache takes on disk (approximately, as diskcache counts)."""
        try:
            return int(self._images.volume())
        except Exception:
            return 0

    # Learned Referer policies live with the images they are for (DiskStore's get/put_referer).

    def get_referer(self, host: str) -> str | None:
        return records.decode_referer(_safe_get(self._images, "referer:" + host))

    def put_referer(self, host: str, policy: str, expire: float) -> None:
        _safe_set(self._images, "referer:" + host, records.encode_referer(policy), expire)


class DiskStore(KeyedRecords):
    """The Store on diskcache: feeds, outputs and articles on disk, images beside them.
    Never raises on a cache fault: a broken cache makes feedscrub slower, not unavailable."""

    backend = "diskcache"

    def __init__(self, directory: str) -> None:
        self.images = ImageCache(directory)
        self.directory = self.images.directory
        self._feeds = _open(self.directory / "feeds", FEED_CACHE_BYTES)
        self._states = BoundedBytes(STATE_BYTES, STATE_ENTRIES)
        # The bodies written last: a refresh compares the upstream's answer with the stored
        # body without reading it back from disk (one process: recent.py). Kept from writes
        # only, on the loop: a read in a thread could land after a newer write.
        self.recent = RecentFeeds()
        self.recent_records = RecentRecords()
        self._record_writes = asyncio.Lock()  # the copy's order is the disk's

    async def close(self) -> None:
        self._feeds.close()
        self.images.close()

    async def ping(self) -> str:
        """Raise if the cache cannot be read or written (for readiness checks)."""
        await asyncio.to_thread(self._ping)
        return ""

    def shared_key(self, local: bytes) -> bytes:
        return local  # one machine: the key file in the cache dir is the only one

    def _ping(self) -> None:
        self._feeds.set("ping", b"1", expire=60)
        self._feeds.get("ping")

    # -- raw upstream feeds and outputs: read and written in a thread, body by body ---------

    async def get_feed(self, url: str) -> records.StoredFeed | None:
        return self.recent.get(url) or await asyncio.to_thread(self._get_feed, url)

    def _get_feed(self, url: str) -> records.StoredFeed | None:
        stored = _safe_read(self._feeds, "feed:" + url, packed.read_feed)
        if stored is None:
            return None
        return records.confirmed(stored, _safe_get(self._feeds, "checked:" + url))

    async def put_feed(self, stored: records.StoredFeed) -> None:
        self.recent.forget(stored.url)  # whatever the write leaves on disk, read it there
        if await asyncio.to_thread(self._put_feed, stored):
            self.recent.written(stored)

    def _put_feed(self, stored: records.StoredFeed) -> bool:
        # Compressed under 1 MB (store/packed.py), in pieces above.
        key = "feed:" + stored.url
        blob = packed.feed(stored)
        if blob is None:
            parts = records.feed_parts(stored)
            return _safe_set_pieces(self._feeds, key, parts, self.feed_expire)
        return _safe_set(self._feeds, key, blob, self.feed_expire)

    async def confirm_feed(self, stored: records.StoredFeed) -> None:
        check = records.encode_checked(stored)
        if await asyncio.to_thread(_safe_set, self._feeds, "checked:" + stored.url, check):
            self.recent.checked(stored)
        else:
            self.recent.forget(stored.url)

    async def get_output(self, key: str) -> records.StoredOutput | None:
        return await asyncio.to_thread(_safe_read, self._feeds, "out:" + key, packed.read_output)

    async def put_output(self, key: str, output: records.StoredOutput) -> None:
        await asyncio.to_thread(self._put_output, "out:" + key, output)

    def _put_output(self, key: str, output: records.StoredOutput) -> None:
        expire = records.RENDERED_EXPIRE_SECONDS
        blob = packed.output(output)
        if blob is None:
            _safe_set_pieces(self._feeds, key, records.output_parts(output), expire)
        else:
            _safe_set(self._feeds, key, blob, expire)

    async def _set_parts(self, key: str, parts: list[bytes], expire: float | None) -> None:
        await asyncio.to_thread(_safe_set_pieces, self._feeds, key, parts, expire)

    async def _set(self, key: str, value: bytes, expire: float | None) -> None:
        await asyncio.to_thread(_safe_set, self._feeds, key, value, expire)

    # -- full-text articles ------------------------------------------------------------------

    async def get_articles(self, urls: Iterable[str]) -> dict[str, records.StoredArticle]:
        """The cached articles among ``urls`` (one thread hop for a whole feed's links)."""
        return await asyncio.to_thread(self._get_articles, list(urls))

    def _get_articles(self, urls: list[str]) -> dict[str, records.StoredArticle]:
        found = {}
        for url in urls:
            article = records.decode_article(_safe_get(self._feeds, "article:" + url))
            if article is not None:
                found[url] = article
        return found

    # -- learned Referer policies ------------------------------------------------------------

    async def get_referer(self, host: str) -> str | None:
        return await asyncio.to_thread(self.images.get_referer, host)

    async def put_referer(self, host: str, policy: str, expire: float) -> None:
        await asyncio.to_thread(self.images.put_referer, host, policy, expire)

    # -- small records (backoff, negative cache, outcomes of fetches) ------------------------

    # In memory, as before there was a store: on one machine they need no disk.

    async def get_state(self, key: str) -> dict[str, Any] | None:
        item = self._states.get(key)
        return records.decode_state(item[0]) if item is not None else None

    async def put_state(self, key: str, state: dict[str, Any], expire: float) -> None:
        self._states.put(key, records.encode_state(state), time.time() + expire)

    # -- locks: one process, so the in-process single flight is the whole story ------------

    async def acquire(self, name: str, ttl: float) -> str | None:
        return "local"

    async def release(self, name: str, token: str) -> None:
        return None

    async def wait(self, name: str, timeout: float) -> None:
        return None

    # -- what the clean stage learnt per feed (boilerplate fingerprints) --------------------

    # Read and written on every build of the feed: the last one written is kept in memory
    # (no thread hop nor sqlite read), and the same bytes again are not written again.

    async def get_memory(self, key: str) -> dict[str, Any] | None:
        kept = self.recent_records.get("memory:" + key)
        if kept is not None:
            return records.decode_memory(kept)
        return await super().get_memory(key)

    async def put_memory(self, key: str, memory: dict[str, Any]) -> None:
        encoded = records.encode_memory(memory)
        if len(encoded) > records.MEMORY_MAX_BYTES:
            return
        name = "memory:" + key
        async with self._record_writes:
            if self.recent_records.get(name) == encoded:
                return
            self.recent_records.forget(name)
            expire = records.MEMORY_EXPIRE_SECONDS
            if await asyncio.to_thread(_safe_set, self._feeds, name, encoded, expire):
                self.recent_records.written(name, encoded)

    # -- internals ---------------------------------------------------------------------------

    async def _get(self, key: str) -> Any:
        return await asyncio.to_thread(_safe_get, self._feeds, key)

"""The cache behind one small interface: diskcache under FEEDSCRUB_CACHE_DIR.

The only module importing diskcache.

Only bytes and str go in (never pickles of objects: diskcache unpickles whatever it finds on
disk, CVE-2025-69872). A record is a JSON header and the raw bytes, packed into one value so
it is written atomically. Four namespaces:

- ``feed:<url>``: the raw upstream body with its validators and fetch times, so rules can be
  re-run and the last good copy served when the upstream fails;
- ``out:<digest>``: rendered output, keyed by upstream body, format and settings;
- images, in their own cache with their own size limit, so images never push feeds out;
- ``article:<url>``: full-text articles as extracted (or why extraction failed), with expiry.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sqlite3
import struct
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO

import diskcache

logger = logging.getLogger(__name__)

FEED_CACHE_BYTES = 1024 * 1024 * 1024  # 1 GB of feeds and outputs
IMAGE_CACHE_BYTES = 1024 * 1024 * 1024  # 1 GB of images, evicted least-recently-used
RENDERED_EXPIRE_SECONDS = 7 * 24 * 3600  # outputs are cheap to rebuild from the raw body
_HEADER = struct.Struct("!I")


@dataclass(frozen=True, slots=True)
class StoredFeed:
    """A good upstream body, as last fetched."""

    url: str  # the URL asked for (the key)
    final_url: str  # after redirects: the base for relative links
    body: bytes
    content_type: str
    kind: str  # "rss" or "atom", known once the body parsed as a feed
    etag: str | None
    last_modified: str | None
    fetched_at: float  # when this body arrived
    checked_at: float  # when the upstream last confirmed it (200 or 304)


@dataclass(frozen=True, slots=True)
class StoredOutput:
    body: bytes
    etag: str
    created_at: float
    gzip_body: bytes = b""  # compressed once here, not on every request


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """A full-text article as extracted from an item's link; ``html`` None: it failed."""

    url: str  # the item link asked for (the key)
    final_url: str  # after redirects: what the article's relative URLs were resolved against
    html: str | None
    recipe: str  # extractor version + selector + site config it was extracted with
    fetched_at: float
    digest: str = ""  # sha256 of html: names this version of the article in output keys
    reason: str = ""  # why html is None


@dataclass(frozen=True, slots=True)
class StoredImage:
    body: bytes
    content_type: str
    etag: str


@dataclass(frozen=True, slots=True)
class ImageRecord:
    """What is kept beside a cached image's bytes."""

    content_type: str
    etag: str
    modified: float = 0.0  # the upstream's Last-Modified (else the fetch time); 0 = unknown


class OpenImage:
    """A cached image, open for reading: its record and a file positioned nowhere in
    particular. The body starts at ``offset`` and is ``size`` bytes long. Close it."""

    def __init__(self, record: ImageRecord, file: BinaryIO, offset: int, size: int) -> None:
        self.record = record
        self.file = file
        self.offset = offset
        self.size = size

    def close(self) -> None:
        self.file.close()


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
        return diskcache.Cache(
            str(directory), size_limit=size_limit, eviction_policy="least-recently-used"
        )
    except (sqlite3.DatabaseError, OSError) as exc:
        aside = directory.with_name(f"{directory.name}.broken-{int(time.time())}")
        logger.warning(
            "cache: %s cannot be opened (%s); moved to %s, starting empty", directory, exc, aside
        )
        os.replace(directory, aside)
        return diskcache.Cache(
            str(directory), size_limit=size_limit, eviction_policy="least-recently-used"
        )


def _pack(header: dict[str, Any], body: bytes) -> bytes:
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(len(encoded)) + encoded + body


def _unpack(blob: Any) -> tuple[dict[str, Any], bytes] | None:
    if not isinstance(blob, bytes) or len(blob) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack_from(blob)
    try:
        header = json.loads(blob[_HEADER.size : _HEADER.size + length])
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict):
        return None
    return header, blob[_HEADER.size + length :]


class Cache:
    """Feeds, outputs and images on disk. Every method is synchronous and never raises on a
    cache fault: a broken cache makes feedscrub slower, not unavailable."""

    def __init__(self, directory: str) -> None:
        root = Path(directory)
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            os.chmod(root, 0o700)
        except OSError:  # pragma: no cover - a directory we do not own; keep going
            logger.warning("cache: cannot make %s owner-only", root)
        self.directory = root
        self._feeds = _open(root / "feeds", FEED_CACHE_BYTES)
        self._images = _open(root / "images", IMAGE_CACHE_BYTES)

    def close(self) -> None:
        self._feeds.close()
        self._images.close()

    def ping(self) -> None:
        """Raise if the cache cannot be read or written (for readiness checks)."""
        self._feeds.set("ping", b"1", expire=60)
        self._feeds.get("ping")

    # -- raw upstream feeds ------------------------------------------------------------------

    def get_feed(self, url: str) -> StoredFeed | None:
        unpacked = _unpack(self._safe_get(self._feeds, "feed:" + url))
        if unpacked is None:
            return None
        header, body = unpacked
        try:
            return StoredFeed(body=body, **header)
        except TypeError:
            return None  # written by another version: treat as absent

    def put_feed(self, stored: StoredFeed) -> None:
        header = asdict(stored)
        body = header.pop("body")
        self._safe_set(self._feeds, "feed:" + stored.url, _pack(header, body))

    # -- rendered outputs --------------------------------------------------------------------

    def get_output(self, key: str) -> StoredOutput | None:
        unpacked = _unpack(self._safe_get(self._feeds, "out:" + key))
        if unpacked is None:
            return None
        header, blob = unpacked
        try:
            size = header["size"]
            return StoredOutput(
                body=blob[:size],
                etag=header["etag"],
                created_at=header["created_at"],
                gzip_body=blob[size:],
            )
        except (KeyError, TypeError):
            return None

    def put_output(self, key: str, output: StoredOutput) -> None:
        header = {"etag": output.etag, "created_at": output.created_at, "size": len(output.body)}
        self._safe_set(
            self._feeds,
            "out:" + key,
            _pack(header, output.body + output.gzip_body),
            expire=RENDERED_EXPIRE_SECONDS,
        )

    # -- images ------------------------------------------------------------------------------

    def get_image(self, url: str) -> StoredImage | None:
        unpacked = _unpack(self._safe_get(self._images, url))
        if unpacked is None:
            return None
        header, body = unpacked
        try:
            return StoredImage(body=body, content_type=header["type"], etag=header["etag"])
        except KeyError:
            return None

    def put_image(self, url: str, image: StoredImage) -> None:
        header = {"type": image.content_type, "etag": image.etag}
        self._safe_set(self._images, url, _pack(header, image.body))

    def open_image(self, url: str) -> OpenImage | None:
        """The cached image for url, open for streaming (ranges read from disk, not memory)."""
        try:
            value = self._images.get(url, read=True)
        except Exception as exc:
            logger.warning("cache: read of %s failed: %s", url[:80], exc)
            return None
        if value is None:
            return None
        # Small values live inside sqlite and come back as bytes, large ones as open files.
        file: BinaryIO = io.BytesIO(value) if isinstance(value, bytes) else value
        try:
            prefix = file.read(_HEADER.size)
            (length,) = _HEADER.unpack(prefix)
            header = json.loads(file.read(length))
            record = ImageRecord(
                content_type=str(header["type"]),
                etag=str(header["etag"]),
                modified=float(header.get("modified", 0.0)),
            )
            offset = _HEADER.size + length
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
        reader = _Prefixed(_pack(header, b""), body)
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

    # -- learned Referer policies (kept with the images they are for) ----------------------

    def get_referer(self, host: str) -> str | None:
        unpacked = _unpack(self._safe_get(self._images, "referer:" + host))
        if unpacked is None:
            return None
        policy = unpacked[0].get("policy")
        return policy if isinstance(policy, str) and policy else None

    def put_referer(self, host: str, policy: str, expire: float) -> None:
        self._safe_set(self._images, "referer:" + host, _pack({"policy": policy}, b""), expire)

    # -- full-text articles ------------------------------------------------------------------

    def get_article(self, url: str) -> StoredArticle | None:
        unpacked = _unpack(self._safe_get(self._feeds, "article:" + url))
        if unpacked is None:
            return None
        header, body = unpacked
        try:
            ok = header.pop("ok")
            html = body.decode("utf-8") if ok else None
            return StoredArticle(html=html, **header)
        except (KeyError, TypeError, UnicodeDecodeError):
            return None  # written by another version: treat as absent

    def put_article(self, article: StoredArticle, *, expire: float) -> None:
        """Keep an article (or a failure) for ``expire`` seconds."""
        header = asdict(article)
        html = header.pop("html")
        header["ok"] = html is not None
        body = html.encode("utf-8") if html is not None else b""
        self._safe_set(self._feeds, "article:" + article.url, _pack(header, body), expire=expire)

    # -- fault tolerance ---------------------------------------------------------------------

    @staticmethod
    def _safe_get(store: diskcache.Cache, key: str) -> Any:
        try:
            return store.get(key)
        except Exception as exc:  # sqlite, OS and corruption errors all mean "not cached"
            logger.warning("cache: read of %s failed: %s", key[:80], exc)
            return None

    @staticmethod
    def _safe_set(
        store: diskcache.Cache, key: str, value: bytes, expire: float | None = None
    ) -> None:
        try:
            store.set(key, value, expire=expire)
        except Exception as exc:
            logger.warning("cache: write of %s failed: %s", key[:80], exc)

"""What the store keeps, and how each record becomes bytes: shared by every backend.

Only bytes and str go in (never pickles of objects: diskcache unpickles whatever it finds on
disk, CVE-2025-69872, and a shared server is written by every replica). A record is a JSON
header and the raw bytes, packed into one value so it is written atomically. A record that
does not unpack (truncated, another version's, not ours) reads as absent.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, BinaryIO, TypeVar

RENDERED_EXPIRE_SECONDS = 7 * 24 * 3600  # outputs are cheap to rebuild from the raw body
HEADER = struct.Struct("!I")
T = TypeVar("T")


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
    digest: str = ""  # sha256 (hex) of body, "" when not known (``body_digest``)


@dataclass(frozen=True, slots=True)
class StoredOutput:
    body: bytes
    etag: str
    created_at: float
    # compressed once here, not on every request; the gzip of body (process.compress): the
    # embedded store keeps only these bytes when their trailer names the body (packed.py)
    gzip_body: bytes = b""


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
class ImageRecord:
    """What is kept beside a cached image's bytes."""

    content_type: str
    etag: str
    modified: float = 0.0  # the upstream's Last-Modified (else the fetch time); 0 = unknown


@dataclass(frozen=True, slots=True)
class StoredImage:
    """A cached image whole: its bytes and what is served with them."""

    body: bytes
    content_type: str
    etag: str


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


def parts(header: dict[str, Any], *bodies: bytes) -> list[bytes]:
    """A record as the pieces it is written from, unjoined: a backend that can write them
    one after the other (diskcache, from a reader) never makes a copy of a 100 MB body."""
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    return [HEADER.pack(len(encoded)) + encoded, *bodies]


def pack(header: dict[str, Any], body: bytes) -> bytes:
    # join, not +: it lets go of the GIL while it copies a big body.
    return b"".join(parts(header, body))


def read_header(file: BinaryIO) -> dict[str, Any] | None:
    """The header of a record read from ``file`` (left at the start of the body); None when
    the file holds no record."""
    prefix = file.read(HEADER.size)
    if len(prefix) < HEADER.size:
        return None
    (length,) = HEADER.unpack(prefix)
    try:
        header = json.loads(file.read(length))
    except (ValueError, UnicodeDecodeError):
        return None
    return header if isinstance(header, dict) else None


def read(file: BinaryIO, build: Callable[[dict[str, Any], BinaryIO], T]) -> T | None:
    """build(header, file at the body) of the record in ``file``, as ``decoded`` does for bytes:
    each body is read once, straight into its own bytes (no copy of the whole record)."""
    header = read_header(file)
    if header is None:
        return None
    try:
        return build(header, file)
    except (KeyError, TypeError, ValueError):
        return None


def unpack(blob: Any) -> tuple[dict[str, Any], bytes] | None:
    if not isinstance(blob, bytes) or len(blob) < HEADER.size:
        return None
    (length,) = HEADER.unpack_from(blob)
    try:
        header = json.loads(blob[HEADER.size : HEADER.size + length])
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(header, dict):
        return None
    return header, blob[HEADER.size + length :]


def decoded(blob: Any, build: Callable[[dict[str, Any], bytes], T]) -> T | None:
    """build(header, body) of the record in blob; None when blob is no record, or build
    finds it is not one of this kind as this version writes it (KeyError, TypeError,
    ValueError: written by another version, treated as absent)."""
    unpacked = unpack(blob)
    if unpacked is None:
        return None
    try:
        return build(*unpacked)
    except (KeyError, TypeError, ValueError):
        return None


# -- one encoder and decoder per record kind -----------------------------------------------


def feed_parts(stored: StoredFeed) -> list[bytes]:
    header = asdict(stored)
    body = header.pop("body")
    return parts(header, body)


def encode_feed(stored: StoredFeed) -> bytes:
    return b"".join(feed_parts(stored))


def decode_feed(blob: Any) -> StoredFeed | None:
    return decoded(blob, lambda header, body: StoredFeed(body=body, **header))


def read_feed(file: BinaryIO) -> StoredFeed | None:
    return read(file, lambda header, rest: StoredFeed(body=rest.read(), **header))


# A refresh that brought no new body (a 304, or the same bytes again) writes only this small
# record beside the body ("checked:<url>"), not the body again (~400 KB for 100 items). It
# names the body it confirms by its fetched_at: a newer body outdates it, on every replica.


def encode_checked(stored: StoredFeed) -> bytes:
    header = {
        "fetched_at": stored.fetched_at,
        "checked_at": stored.checked_at,
        "etag": stored.etag,
        "last_modified": stored.last_modified,
    }
    return pack(header, b"")


def confirmed(stored: StoredFeed | None, blob: Any) -> StoredFeed | None:
    """``stored`` as the last check of its body left it (validators, checked_at)."""
    unpacked = unpack(blob) if stored is not None else None
    if stored is None or unpacked is None:
        return stored
    header = unpacked[0]
    checked_at, etag, modified = (
        header.get("checked_at"),
        header.get("etag"),
        header.get("last_modified"),
    )
    if (
        header.get("fetched_at") != stored.fetched_at
        or not isinstance(checked_at, (int, float))
        or checked_at <= stored.checked_at
        or not isinstance(etag, (str, type(None)))
        or not isinstance(modified, (str, type(None)))
    ):
        return stored  # about another body, older than the body's own record, or not ours
    return replace(stored, checked_at=float(checked_at), etag=etag, last_modified=modified)


def body_digest(stored: StoredFeed) -> str:
    """sha256 (hex) of the stored body: the one kept with it, else computed now."""
    return stored.digest or hashlib.sha256(stored.body).hexdigest()


def etag_of(body: bytes) -> str:
    """An output's ETag: a digest of its bytes (call it in a thread for big ones)."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def output_parts(output: StoredOutput) -> list[bytes]:
    header = {"etag": output.etag, "created_at": output.created_at, "size": len(output.body)}
    return parts(header, output.body, output.gzip_body)


def encode_output(output: StoredOutput) -> bytes:
    return b"".join(output_parts(output))


def read_output(file: BinaryIO) -> StoredOutput | None:
    def build(header: dict[str, Any], rest: BinaryIO) -> StoredOutput:
        size = header["size"]
        body = rest.read(size)
        if len(body) != size:
            raise ValueError("truncated")
        return StoredOutput(
            body=body,
            etag=header["etag"],
            created_at=header["created_at"],
            gzip_body=rest.read(),
        )

    return read(file, build)


def decode_output(blob: Any) -> StoredOutput | None:
    def build(header: dict[str, Any], data: bytes) -> StoredOutput:
        size = header["size"]
        return StoredOutput(
            body=data[:size],
            etag=header["etag"],
            created_at=header["created_at"],
            gzip_body=data[size:],
        )

    return decoded(blob, build)


def encode_article(article: StoredArticle) -> bytes:
    header = asdict(article)
    html = header.pop("html")
    header["ok"] = html is not None
    return pack(header, html.encode("utf-8") if html is not None else b"")


def decode_article(blob: Any) -> StoredArticle | None:
    def build(header: dict[str, Any], body: bytes) -> StoredArticle:
        ok = header.pop("ok")
        return StoredArticle(html=body.decode("utf-8") if ok else None, **header)

    return decoded(blob, build)


def encode_referer(policy: str) -> bytes:
    return pack({"policy": policy}, b"")


def decode_referer(blob: Any) -> str | None:
    unpacked = unpack(blob)
    if unpacked is None:
        return None
    policy = unpacked[0].get("policy")
    return policy if isinstance(policy, str) and policy else None


def encode_state(state: dict[str, Any]) -> bytes:
    """Small shared records (backoff, negative cache, the outcome of a fetch): JSON only."""
    return pack(state, b"")


def decode_state(blob: Any) -> dict[str, Any] | None:
    unpacked = unpack(blob)
    return unpacked[0] if unpacked is not None else None


# What the clean stage learnt about one feed (auto.boilerplate's fingerprints): a JSON object
# the cleaner bounds itself; a record bigger than this is not ours, or not sane, and is absent.
MEMORY_MAX_BYTES = 256 * 1024
MEMORY_EXPIRE_SECONDS = 60 * 24 * 3600


def encode_memory(memory: dict[str, Any]) -> bytes:
    return pack({"memory": memory}, b"")


def decode_memory(blob: Any) -> dict[str, Any] | None:
    if not isinstance(blob, bytes) or len(blob) > MEMORY_MAX_BYTES:
        return None
    unpacked = unpack(blob)
    if unpacked is None:
        return None
    memory = unpacked[0].get("memory")
    return memory if isinstance(memory, dict) else None

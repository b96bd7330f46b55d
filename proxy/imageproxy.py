"""The image proxy: verify the signed link, then serve from the image cache or the upstream.

An image not cached yet is fetched by one background *transfer* per URL, however many readers
ask for it at once. The transfer checks the upstream's answer before anything goes to a
reader (status, then the first bytes sniffed by ``imagetype``), then writes the body to an
unlinked temporary file in the cache directory while readers follow that file: bytes reach
readers as they arrive, memory stays at a few buffers whatever the image size, a slow reader
holds no upstream connection, and the image is cached once complete, even if every reader
has gone. Over the size limit the transfer stops, readers' connections are cut and nothing
is cached.

Referer: hosts that refuse hot-linking answer 401/403 or a page instead of the image. The
transfer then tries the other Referer policies (``referer.attempts``), once each, and
remembers in the cache, per host, the one that worked, so one reader's request fixes the
host for everybody, across restarts.

Every fetch goes through the same guarded session as feeds (``fetch.open_stream``), so a
signed URL that points at a private address is refused like a feed would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO

import aiohttp

from proxy import access, fetch, imagetype, referer, signing
from proxy.config import Settings
from proxy.errors import (
    ConfigError,
    NotAnImage,
    NotFound,
    ProxyError,
    UpstreamError,
    UpstreamStatus,
    UpstreamUnreachable,
)
from proxy.models import ImageResult
from proxy.store import ImageRecord, OpenImage, Store

logger = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024  # one read from the upstream, the temporary file or the cache
REFUSED_STATUSES = frozenset({401, 403})  # how hot-link protection answers, besides a page
REFERER_MEMORY_SECONDS = 30 * 24 * 3600  # a learned policy is re-probed after a month
# A podcast episode of 200 MB at ~350 KB/s; images keep FEEDSCRUB_FETCH_TIMEOUT.
MEDIA_TRANSFER_SECONDS = 600.0
MEDIA_ACCEPT = "audio/*,video/*;q=0.9,image/*;q=0.8,*/*;q=0.5"
PARTIAL_DIR = "images-partial"  # inside the cache dir: same disk, never a RAM-backed /tmp


@dataclass(frozen=True, slots=True)
class ImageMeta:
    """What a reader's response headers are made of, known before the body is sent."""

    content_type: str  # sniffed from the bytes, never the upstream's header
    etag: str  # ours
    last_modified: float  # unix time; 0 when unknown
    size: int | None  # body length when known (always for cached images)


class CachedImage:
    """An image served from the image cache; supports byte ranges."""

    ranges = True

    def __init__(self, opened: OpenImage) -> None:
        self._opened = opened
        record = opened.record
        self.meta = ImageMeta(record.content_type, record.etag, record.modified, opened.size)

    async def chunks(self, start: int = 0, end: int | None = None) -> AsyncGenerator[bytes, None]:
        """The body bytes [start, end); a file cut short on disk raises UpstreamError."""
        size = self._opened.size
        stop = size if end is None else min(end, size)
        position = start
        file = self._opened.file
        await asyncio.to_thread(file.seek, self._opened.offset + start)
        while position < stop:
            data = await asyncio.to_thread(file.read, min(4 * READ_CHUNK, stop - position))
            if not data:
                raise UpstreamError("image: the cached copy is incomplete")
            position += len(data)
            yield data

    def close(self) -> None:
        self._opened.close()


class LiveImage:
    """An image served while its transfer runs: follows the temporary file to its end.

    ``ranges`` is true once the whole body is in the file (it is being stored): then the
    size is known and byte ranges can be answered, as from the cache.
    """

    def __init__(self, transfer: _Transfer, meta: ImageMeta) -> None:
        self._transfer = transfer
        self.ranges = transfer.body_complete and transfer.error is None
        if self.ranges:
            meta = dataclasses.replace(meta, size=transfer.written)
        self.meta = meta
        self._closed = False

    async def chunks(self, start: int = 0, end: int | None = None) -> AsyncGenerator[bytes, None]:
        """The body bytes [start, end) (a range only when ``ranges``; else all of them).
        Raises the transfer's error if it fails half-way (size limit, cut short)."""
        transfer = self._transfer
        position = start if self.ranges else 0
        stop = end if self.ranges and end is not None else None
        while stop is None or position < stop:
            if position < transfer.written:
                size = min(4 * READ_CHUNK, transfer.written - position)
                if stop is not None:
                    size = min(size, stop - position)
                data = await asyncio.to_thread(transfer.read_at, position, size)
                if not data:
                    raise UpstreamError("image: the partial copy is incomplete")
                position += len(data)
                yield data
            elif transfer.body_complete:
                return  # all of it is here, whatever happens to the transfer afterwards
            elif transfer.error is not None:
                raise transfer.error
            else:
                await transfer.progress()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._transfer.detach()


ImageSource = CachedImage | LiveImage


class ImageProxy:
    """Signed links in, image bytes out; one instance per app (one session, one cache).

    Parameters:
        settings: max_image_bytes / max_media_bytes, fetch_timeout, image_referer,
            image_cache_bytes, proxy_media and allow_private are used.
        session: the app's guarded session (``fetch.new_session``).
        cache: the store; images live in its ``images`` (this machine's disk), learned Referer
                policies in the store itself (shared between replicas on Redis).
        key: the signing key of image links.
        referer_table: host → Referer overrides (``referer.KNOWN_HOSTS`` when None).
    """

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        cache: Store,
        key: bytes,
        *,
        referer_table: dict[str, str] | None = None,
        previous_keys: tuple[bytes, ...] = (),
    ) -> None:
        # Checked here because the settings table only parses: the proxy is built at startup,
        # so a bad value still stops the server with its name.
        if not referer.is_policy(settings.image_referer):
            raise ConfigError(
                f"FEEDSCRUB_IMAGE_REFERER has value {settings.image_referer!r}. "
                f"Use one of: {', '.join(referer.POLICIES)}, or an http(s) URL."
            )
        for name in ("image_cache_bytes", "max_media_bytes"):
            if getattr(settings, name) <= 0:
                raise ConfigError(f"FEEDSCRUB_{name.upper()} must be greater than 0.")
        self.settings = settings
        self.session = session
        self.cache = cache
        self.key = key
        self.previous_keys = previous_keys  # rotated out, still in their grace period
        self.referer_table = referer.KNOWN_HOSTS if referer_table is None else referer_table
        self.partial_dir = Path(cache.images.directory) / PARTIAL_DIR
        self._transfers: dict[tuple[str, bool], _Transfer] = {}
        cache.images.limit_images(settings.image_cache_bytes)

    async def open(
        self, signature: str, encoded_url: str, encoded_hint: str | None = None
    ) -> ImageSource:
        """Check a signed link and return where its bytes come from; close the result.

        Everything that can go wrong before the first byte raises here (403 bad signature,
        400/403 refused URL, 404 media proxying off, 502/504 upstream failures, not an
        image), so the caller can still answer with an error.
        """
        url, hint_text = signing.verify_link(
            signature, encoded_url, encoded_hint, self.key, self.previous_keys
        )
        # Host rules here too, not only in the fetch: a host denied later is not served from
        # the cache either.
        url = fetch.check_url(
            url, allow_private=self.settings.allow_private,
            hosts=access.host_rules(self.settings),
        )
        hint = referer.Hint.decode(hint_text)
        if hint.media and not self.settings.proxy_media:
            raise NotFound("image: proxying audio and video is off (FEEDSCRUB_PROXY_MEDIA)")
        opened = await asyncio.to_thread(self.cache.images.open_image, url)
        if opened is not None:
            if hint.media or opened.record.content_type.startswith("image/"):
                return CachedImage(opened)
            # Cached for a media link: an image link never passes audio or video.
            opened.close()
            raise NotAnImage(
                f"image: upstream did not return an image (it sent "
                f"{opened.record.content_type}) ({url})"
            )
        key = (url, hint.media)  # an image link must not join a media transfer
        transfer = self._transfers.get(key)
        if transfer is None:
            transfer = _Transfer(self, url, hint)
            self._transfers[key] = transfer
            transfer.start()
        return await transfer.attach()

    async def get(
        self, signature: str, encoded_url: str, encoded_hint: str | None = None
    ) -> ImageResult:
        """The whole image in memory (for callers that cannot stream; the server streams)."""
        source = await self.open(signature, encoded_url, encoded_hint)
        try:
            body = b"".join([chunk async for chunk in source.chunks()])
        finally:
            source.close()
        return ImageResult(body=body, content_type=source.meta.content_type, etag=source.meta.etag)

    async def idle(self) -> None:
        """Wait until no transfer is running (each has stored its image or failed)."""
        while self._transfers:
            tasks = [t.task for t in self._transfers.values() if t.task is not None]
            await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Stop running transfers (app shutdown): their readers see a cut transfer."""
        tasks = [t.task for t in self._transfers.values() if t.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _forget(self, transfer: _Transfer) -> None:
        key = (transfer.url, transfer.hint.media)
        if self._transfers.get(key) is transfer:
            del self._transfers[key]


class _Refused(Exception):
    """One Referer attempt was refused (401/403, or a page instead of an image)."""

    def __init__(self, error: ProxyError) -> None:
        super().__init__(error.message)
        self.error = error


class _Transfer:
    """One upstream image transfer into an unlinked temporary file that readers follow."""

    def __init__(self, proxy: ImageProxy, url: str, hint: referer.Hint) -> None:
        self.proxy = proxy
        self.url = url
        self.hint = hint
        self.head: asyncio.Future[ImageMeta] = asyncio.get_running_loop().create_future()
        self.task: asyncio.Task[None] | None = None
        self.written = 0  # bytes in the temporary file, readable by readers
        self.body_complete = False  # the upstream body ended and all of it is written
        self.error: ProxyError | None = None  # set when the transfer failed
        self.finished = False  # the task is over (the file may still have readers)
        self._readers = 0
        self._file: BinaryIO | None = None
        self._progress = asyncio.Event()

    # -- readers -----------------------------------------------------------------------------

    def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name=f"image transfer {self.url[:80]}")

    async def attach(self) -> LiveImage:
        """Wait for the checks on the upstream's answer, then follow the body."""
        self._readers += 1  # before waiting: the file must outlive this reader's wait
        try:
            meta = await asyncio.shield(self.head)
        except BaseException:
            self.detach()
            raise
        return LiveImage(self, meta)

    def detach(self) -> None:
        self._readers -= 1
        self._close_file_if_idle()

    async def progress(self) -> None:
        """Wait until more bytes are written, or the transfer ends."""
        await self._progress.wait()

    def read_at(self, offset: int, size: int) -> bytes:
        """Bytes of the temporary file (called in a worker thread; pread: no shared offset)."""
        assert self._file is not None  # readers hold the file open
        return os.pread(self._file.fileno(), size, offset)

    def _notify(self) -> None:
        event, self._progress = self._progress, asyncio.Event()
        event.set()

    def _close_file_if_idle(self) -> None:
        if self.finished and self._readers <= 0 and self._file is not None:
            self._file.close()
            self._file = None

    # -- the transfer ------------------------------------------------------------------------

    async def _run(self) -> None:
        started = time.monotonic()
        try:
            await self._transfer()
        except ProxyError as exc:
            self._fail(exc)
        except asyncio.CancelledError:
            self._fail(UpstreamUnreachable(f"image: transfer stopped at shutdown ({self.url})"))
            raise
        except Exception as exc:  # a bug must not leave readers waiting forever
            logger.exception("image transfer failed image_url=%s", self.url)
            self._fail(UpstreamError(f"image: transfer failed: {type(exc).__name__}"))
        finally:
            self.finished = True
            self.proxy._forget(self)
            self._notify()
            self._close_file_if_idle()
            logger.info(
                "fetch image_url=%s status=%s bytes=%d elapsed_ms=%d",
                self.url, self.error.status if self.error else 200, self.written,
                int((time.monotonic() - started) * 1000),
            )

    def _fail(self, error: ProxyError) -> None:
        self.error = error
        if not self.head.done():
            self.head.set_exception(error)
            self.head.exception()  # retrieved: every reader may have gone away already

    async def _transfer(self) -> None:
        proxy = self.proxy
        host = referer.host_key(self.url)
        learned = await proxy.cache.get_referer(host) if host else None
        plan = referer.attempts(
            self.url,
            self.hint,
            learned=learned,
            default=proxy.settings.image_referer,
            table=proxy.referer_table,
        )
        refusals: list[tuple[referer.Attempt, ProxyError]] = []
        for index, attempt in enumerate(plan):
            try:
                await self._attempt(attempt, learn=host if index > 0 else "")
                return
            except _Refused as refused:
                refusals.append((attempt, refused.error))
        if not refusals:  # pragma: no cover - "none" always applies
            raise UpstreamError(f"image: no Referer policy applies ({self.url})")
        first = refusals[0][1]
        # The first answer is the most telling one; the message says what else was tried.
        message = f"{first.message}; Referer policies tried: " + ", ".join(
            attempt.policy for attempt, _ in refusals
        )
        if isinstance(first, UpstreamStatus):
            raise UpstreamStatus(message, first.upstream_status) from first
        raise NotAnImage(message) from first

    async def _attempt(self, attempt: referer.Attempt, *, learn: str) -> None:
        """Fetch once with this Referer; _Refused if the host turned it down."""
        proxy = self.proxy
        settings = proxy.settings
        media = self.hint.media
        headers = {"Referer": attempt.referer} if attempt.referer else {}
        seconds = settings.fetch_timeout
        if media:
            seconds = max(seconds, MEDIA_TRANSFER_SECONDS)
        try:
            async with fetch.open_stream(
                proxy.session,
                self.url,
                settings=settings,
                accept=MEDIA_ACCEPT if media else fetch.IMAGE_ACCEPT,
                max_bytes=settings.max_media_bytes if media else settings.max_image_bytes,
                headers=headers,
                timeout=seconds,
            ) as stream:
                head = await _read_head(stream)
                try:
                    sniff = imagetype.media_type if media else imagetype.image_type
                    kind = sniff(stream.content_type, head, url=self.url)
                except NotAnImage as exc:
                    if imagetype.is_svg(stream.content_type, head):
                        raise  # an answer, not a refusal: SVG is never served
                    raise _Refused(exc) from exc
                if learn:
                    await proxy.cache.put_referer(learn, attempt.policy, REFERER_MEMORY_SECONDS)
                    logger.info(
                        "image referer learned host=%s policy=%s", learn, attempt.policy
                    )
                meta = _meta(self.url, stream, kind)
                await self._stream_body(stream, head, meta)
        except UpstreamStatus as exc:
            if exc.upstream_status in REFUSED_STATUSES and not self.head.done():
                raise _Refused(exc) from exc
            raise

    async def _stream_body(
        self, stream: fetch.UpstreamStream, head: bytes, meta: ImageMeta
    ) -> None:
        proxy = self.proxy
        await asyncio.to_thread(proxy.partial_dir.mkdir, mode=0o700, parents=True, exist_ok=True)
        self._file = await asyncio.to_thread(
            tempfile.TemporaryFile, dir=proxy.partial_dir, buffering=0
        )
        await self._write(head)
        self.head.set_result(meta)  # from here on, readers are being sent bytes
        while chunk := await stream.read(READ_CHUNK):
            await self._write(chunk)
        self.body_complete = True
        self._notify()
        record = ImageRecord(meta.content_type, meta.etag, meta.last_modified)
        await asyncio.to_thread(self._store, record)

    async def _write(self, data: bytes) -> None:
        if not data:
            return
        assert self._file is not None
        await asyncio.to_thread(_write_all, self._file.fileno(), data)
        self.written += len(data)
        self._notify()

    def _store(self, record: ImageRecord) -> None:
        # A second descriptor: its reads must not move anything readers rely on (they pread).
        assert self._file is not None
        with os.fdopen(os.dup(self._file.fileno()), "rb", buffering=0) as copy:
            copy.seek(0)
            self.proxy.cache.images.put_image_file(self.url, record, copy)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]  # a raw write may take only part of it


async def _read_head(stream: fetch.UpstreamStream) -> bytes:
    """The first SNIFF_BYTES of the body (fewer if it is shorter), for the type decision."""
    head = b""
    while len(head) < imagetype.SNIFF_BYTES:
        chunk = await stream.read(imagetype.SNIFF_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    return head


def _meta(url: str, stream: fetch.UpstreamStream, kind: str) -> ImageMeta:
    upstream_etag = stream.headers.get("ETag", "")
    last_modified_header = stream.headers.get("Last-Modified", "")
    # Headers go out before the body is complete, so our ETag cannot hash the bytes: it
    # hashes the URL with the upstream's own validators, which change when the image does.
    digest = hashlib.sha256(
        "\0".join((url, upstream_etag, last_modified_header, str(stream.content_length))).encode()
    )
    now = time.time()
    modified = _http_time(last_modified_header)
    if modified is None or modified > now:
        modified = float(int(now))
    return ImageMeta(
        content_type=kind,
        etag='"' + digest.hexdigest()[:32] + '"',
        last_modified=modified,
        size=stream.content_length,
    )


def _http_time(value: str) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None

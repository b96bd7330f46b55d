"""One upstream image transfer, and the two sources a reader is served from (cache, transfer).

An image not cached yet is fetched by one background *transfer* per URL, however many readers
ask for it at once (``proxy.py`` keeps that map). The transfer checks the upstream's answer
before anything goes to a reader (status, then the first bytes sniffed by ``imagetype``), then
writes the body to an unlinked temporary file in the cache directory while readers follow
that file: bytes reach readers as they arrive, memory stays at a few buffers whatever the
image size, a slow reader holds no upstream connection, and the image is cached once
complete, even if every reader has gone. Over the size limit the transfer stops, readers'
connections are cut and nothing is cached.

Referer: hosts that refuse hot-linking answer 401/403 or a page instead of the image. The
transfer then tries the other Referer policies (``referer.Learning.plan``), once each, and
has the one that worked remembered.

Every fetch goes through the same guarded session as feeds (``fetch.open_stream``), so a
signed URL that points at a private address is refused like a feed would be.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import os
import tempfile
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO

import aiohttp

from proxy import fetch
from proxy.errors import (
    NotAnImage,
    ProxyError,
    UpstreamError,
    UpstreamStatus,
    UpstreamUnreachable,
)
from proxy.images import imagetype, referer
from proxy.store import ImageRecord, OpenImage, Store

logger = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024  # one read from the upstream, the temporary file or the cache
MEDIA_ACCEPT = "audio/*,video/*;q=0.9,image/*;q=0.8,*/*;q=0.5"


@dataclass(frozen=True, slots=True)
class Setup:
    """What every transfer of one image proxy shares."""

    session: aiohttp.ClientSession  # the app's guarded session
    cache: Store  # images in its ``images`` (this machine's disk)
    referers: referer.Learning
    image_limits: fetch.Limits
    media_limits: fetch.Limits
    partial_dir: Path  # unlinked temporary files, inside the cache dir


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

    def __init__(self, transfer: Transfer, meta: ImageMeta) -> None:
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


class _Refused(Exception):
    """One Referer attempt was refused (401/403, or a page instead of an image)."""

    def __init__(self, error: ProxyError) -> None:
        super().__init__(error.message)
        self.error = error


class Transfer:
    """One upstream image transfer into an unlinked temporary file that readers follow."""

    def __init__(
        self,
        setup: Setup,
        url: str,
        hint: referer.Hint,
        on_finish: Callable[[Transfer], None],
    ) -> None:
        self.setup = setup
        self.url = url
        self._on_finish = on_finish
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
            self._on_finish(self)
            self._notify()
            self._close_file_if_idle()
            logger.info(
                "fetch image_url=%s status=%s bytes=%d elapsed_ms=%d",
                self.url,
                self.error.status if self.error else 200,
                self.written,
                int((time.monotonic() - started) * 1000),
            )

    def _fail(self, error: ProxyError) -> None:
        self.error = error
        if not self.head.done():
            self.head.set_exception(error)
            self.head.exception()  # retrieved: every reader may have gone away already

    async def _transfer(self) -> None:
        host, plan = await self.setup.referers.plan(self.url, self.hint)
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
        setup = self.setup
        media = self.hint.media
        headers = {"Referer": attempt.referer} if attempt.referer else {}
        try:
            async with fetch.open_stream(
                setup.session,
                self.url,
                limits=setup.media_limits if media else setup.image_limits,
                accept=MEDIA_ACCEPT if media else fetch.IMAGE_ACCEPT,
                headers=headers,
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
                    await setup.referers.worked(learn, attempt.policy)
                meta = _meta(self.url, stream, kind)
                await self._stream_body(stream, head, meta)
        except UpstreamStatus as exc:
            if exc.upstream_status in referer.REFUSED_STATUSES and not self.head.done():
                raise _Refused(exc) from exc
            raise

    async def _stream_body(
        self, stream: fetch.UpstreamStream, head: bytes, meta: ImageMeta
    ) -> None:
        partial_dir = self.setup.partial_dir
        await asyncio.to_thread(partial_dir.mkdir, mode=0o700, parents=True, exist_ok=True)
        self._file = await asyncio.to_thread(tempfile.TemporaryFile, dir=partial_dir, buffering=0)
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
            self.setup.cache.images.put_image_file(self.url, record, copy)


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

"""Streamed bodies (the image proxy): the final response of the one redirect loop
(``client._open``), handed over piece by piece within a byte limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from proxy import metrics
from proxy.errors import BodyTooLarge, ProxyError, UpstreamStatus, UpstreamTimeout
from proxy.fetch.client import IMAGE_ACCEPT, READ_CHUNK, Limits, begin, count_failure, open_final
from proxy.fetch.failures import status_text, transfer_error
from proxy.fetch.urls import show


class UpstreamStream:
    """An upstream 2xx response whose body is read piece by piece, within a byte limit.

    Made by ``open_stream``; the body is only read when ``read`` is called, so memory stays at
    one piece however large the body is.
    """

    def __init__(self, response: aiohttp.ClientResponse, url: URL, limit: int) -> None:
        self.url = str(url)  # the final URL, after redirects
        self.status = response.status
        self.headers: CIMultiDictProxy[str] = response.headers
        self.content_type = response.headers.get("Content-Type", "")
        coding = response.headers.get("Content-Encoding", "").strip().lower()
        # aiohttp decompresses as it reads: a Content-Length then counts compressed bytes,
        # which is not the length the reader will get.
        self.content_length = response.content_length if coding in ("", "identity") else None
        self.received = 0  # body bytes handed out so far (after decompression)
        self._response = response
        self._limit = limit

    async def read(self, size: int = READ_CHUNK) -> bytes:
        """Up to ``size`` more body bytes; b"" at the end.

        Raises BodyTooLarge (and drops the connection) once more than the limit has come,
        UpstreamUnreachable when the body is cut short or corrupt.
        """
        try:
            chunk = await self._response.content.read(size)
        except (ProxyError, TimeoutError):
            raise
        except (aiohttp.ClientError, OSError, EOFError, ValueError) as exc:
            raise transfer_error(exc, URL(self.url)) from exc
        self.received += len(chunk)
        if self.received > self._limit:
            self._response.close()  # the rest is never read, and the connection is not reused
            raise BodyTooLarge(f"fetch: body exceeds {self._limit} bytes ({show(self.url)})")
        return chunk


@contextlib.asynccontextmanager
async def open_stream(
    session: aiohttp.ClientSession,
    url: str,
    *,
    limits: Limits,
    accept: str = IMAGE_ACCEPT,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[UpstreamStream]:
    """GET one upstream URL and hand its body over as a stream (``async with``).

    The same guard, URL checks, host rules, redirect loop and errors as ``fetch``; the status
    and announced length are checked before the block runs, so a caller can still answer with
    an error. Leaving the block closes the response; a body not read to the end closes its
    connection too.

    Parameters:
        session, url, accept, headers: as for ``fetch`` (no validators).
        limits: as for ``fetch``; max_bytes is counted while reading (a larger announced
            Content-Length is refused at once with BodyTooLarge), and timeout covers
            everything, the block's own work included (the upstream connection is held that
            long at most).

    Raises what ``fetch`` raises, UpstreamStatus for any non-2xx answer among them.
    """
    target, request_headers, progress = begin(url, limits, accept, None, headers)
    started = progress.started
    try:
        async with asyncio.timeout(limits.timeout):
            try:
                response = await open_final(session, target, progress, limits, request_headers)
                stream = _stream_of(response, progress.url, limits.max_bytes)
            except ProxyError as exc:
                count_failure(exc, started)
                raise
            metrics.record_fetch("fresh", time.monotonic() - started)
            try:
                yield stream
            finally:
                if response.content.at_eof():
                    response.release()  # read to the end: the connection can be reused
                else:
                    response.close()  # the rest is never read
    except TimeoutError as exc:
        metrics.record_fetch("timeout", time.monotonic() - started)
        raise UpstreamTimeout(
            f"fetch: no complete response within {limits.timeout:g}s ({show(str(progress.url))})"
        ) from exc


def _stream_of(response: aiohttp.ClientResponse, final: URL, limit: int) -> UpstreamStream:
    """The stream of a final response, or the error to answer instead (response closed)."""
    shown = show(str(final))
    try:
        if not 200 <= response.status < 300:
            raise UpstreamStatus(
                f"fetch: upstream answered {status_text(response)} ({shown})", response.status
            )
        stream = UpstreamStream(response, final, limit)
        if stream.content_length is not None and stream.content_length > limit:
            raise BodyTooLarge(
                f"fetch: upstream announces {stream.content_length} bytes, over the "
                f"{limit}-byte limit ({shown})"
            )
    except ProxyError:
        response.close()
        raise
    return stream

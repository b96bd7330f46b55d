"""GET /img/<signature>/<encoded-url>[?h=<hint>]: the signed image proxy, streamed.

Only headers we make go out (research §B5): Content-Type from the sniffed bytes,
Content-Length when known, our ETag, Last-Modified, Cache-Control, Accept-Ranges, nosniff and
a sandbox CSP. Nothing the upstream sent (Set-Cookie, Content-Disposition, Link, its CSP…)
reaches the reader. Conditional and Range requests are answered from the cache; a transfer
that fails once bytes are on their way is cut, so the reader sees a failed transfer rather
than a short image it would keep.
"""

from __future__ import annotations

import contextlib
import logging
import re
from email.utils import parsedate_to_datetime

from aiohttp import web

from proxy.errors import ProxyError
from proxy.images.signing import HINT_PARAM
from proxy.images.transfer import ImageMeta, ImageSource
from proxy.logsafe import safe
from proxy.server.http import http_date
from proxy.server.keys import IMAGES
from proxy.server.middleware import error_response

logger = logging.getLogger(__name__)

# Images are addressed by signed URLs and never change under one URL.
IMMUTABLE = "public, max-age=31536000, immutable"
# Opened on its own, the image (or audio/video) can do nothing: no scripts, plugins, forms.
CSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
# ASCII digits only (\d would take "²" and "①", which int() then refuses).
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)")
# Positions with more digits than this are past any file we could hold, and int() of 5,000
# digits raises: such a range is answered 416 (issue 9.7) rather than clamped.
_MAX_DIGITS = 18


async def proxy(request: web.Request) -> web.StreamResponse:
    images = request.app[IMAGES]
    try:
        source = await images.open(
            request.match_info["signature"],
            request.match_info["encoded"],
            request.query.get(HINT_PARAM),
        )
    except ProxyError as exc:
        # Answered here rather than by the error middleware only to add the CSP: the message
        # may quote a URL someone else chose (research §B7).
        logger.info(
            "request path=%s status=%d error=%s", safe(request.path), exc.status, safe(exc.message)
        )
        # Angle brackets spelled out too: even a reader that ignores nosniff sees no markup.
        message = exc.message.replace("<", "%3C").replace(">", "%3E")
        response = error_response(exc.status, message)
        response.headers["Content-Security-Policy"] = CSP
        return response
    try:
        return await _answer(request, source)
    finally:
        source.close()


def _headers(meta: ImageMeta) -> dict[str, str]:
    headers = {
        "ETag": meta.etag,
        "Cache-Control": IMMUTABLE,
        "Accept-Ranges": "bytes",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CSP,
    }
    if meta.last_modified > 0:
        headers["Last-Modified"] = http_date(meta.last_modified)
    return headers


async def _answer(request: web.Request, source: ImageSource) -> web.StreamResponse:
    meta = source.meta
    headers = _headers(meta)
    if not_modified(request, meta):
        return web.Response(status=304, headers=headers)
    start, end, status = 0, meta.size, 200
    if source.ranges and meta.size is not None:
        try:
            wanted = byte_range(request, meta)
        except Unsatisfiable:
            headers["Content-Range"] = f"bytes */{meta.size}"
            headers["Cache-Control"] = "no-store"
            return web.Response(
                status=416,
                text="range not satisfiable\n",
                content_type="text/plain",
                headers=headers,
            )
        if wanted is not None:
            start, end = wanted
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{meta.size}"
    response = web.StreamResponse(status=status, headers=headers)
    response.content_type = meta.content_type
    if end is not None:
        response.content_length = end - start
    await response.prepare(request)
    if request.method == "HEAD":
        return response
    try:
        async with contextlib.aclosing(source.chunks(start, end)) as chunks:
            async for chunk in chunks:
                await response.write(chunk)
    except ProxyError as exc:
        # Headers are gone: the only honest answer left is to cut the connection, so the
        # reader sees a failed transfer instead of caching a truncated image.
        logger.warning(
            "request path=%s status=%d error=%s (transfer cut)",
            safe(request.path),
            exc.status,
            safe(exc.message),
        )
        response.force_close()
        if request.transport is not None:
            request.transport.abort()
        return response
    except ConnectionError:
        return response  # the reader went away; aiohttp notices when it finishes the response
    await response.write_eof()
    return response


def not_modified(request: web.Request, meta: ImageMeta) -> bool:
    """If-None-Match decides when present; else If-Modified-Since, when we know a date."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or meta.etag in tags
    since = _date(request.headers.get("If-Modified-Since"))
    return since is not None and meta.last_modified > 0 and int(meta.last_modified) <= since


class Unsatisfiable(Exception):
    """The Range asks only for bytes past the end (416)."""


def byte_range(request: web.Request, meta: ImageMeta) -> tuple[int, int] | None:
    """The [start, end) asked for by a single-range Range header, or None to send the whole
    body (no Range, several ranges, an If-Range that no longer matches, or a header we cannot
    read: RFC 9110 lets a server ignore those). Unsatisfiable when nothing of it exists."""
    header = request.headers.get("Range")
    size = meta.size
    if not header or size is None:
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None:
        if if_range.startswith(('"', "W/")):
            if if_range != meta.etag:  # strong comparison: a weak tag never matches
                return None
        elif _date(if_range) != int(meta.last_modified) or meta.last_modified <= 0:
            return None
    match = _RANGE.fullmatch(header.replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if len(first) > _MAX_DIGITS or len(last) > _MAX_DIGITS:
        raise Unsatisfiable
    if not first:
        if not last:
            return None
        suffix = int(last)  # the last N bytes
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return max(0, size - suffix), size
    start = int(first)
    if last and int(last) < start:
        return None  # invalid: ignored, not refused
    if start >= size:
        raise Unsatisfiable
    end = size if not last else min(int(last) + 1, size)
    return start, end


def _date(value: str | None) -> int | None:
    if not value:
        return None
    try:
        return int(parsedate_to_datetime(value).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None

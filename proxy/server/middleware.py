"""The one place where errors become responses: plain text, one line, the right status."""

from __future__ import annotations

import logging
import re

from aiohttp import web
from aiohttp.typedefs import Handler

from proxy.errors import BadRequest, ProxyError
from proxy.logsafe import safe
from proxy.server.keys import SETTINGS

logger = logging.getLogger(__name__)


def error_response(status: int, message: str, retry_after: int | None = None) -> web.Response:
    # text/plain and nosniff: the message may contain a URL someone else chose.
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return web.Response(
        status=status,
        text=message.replace("\n", " ") + "\n",
        content_type="text/plain",
        headers=headers,
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ProxyError as exc:
        logger.info(
            "request path=%s status=%d error=%s", safe(request.path), exc.status, safe(exc.message)
        )
        return error_response(exc.status, exc.message, getattr(exc, "retry_after", None)
                              if isinstance(getattr(exc, "retry_after", None), int) else None)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        reason = {404: "not found: see / for the routes feedscrub serves"}.get(
            exc.status, exc.reason
        )
        return error_response(exc.status, reason)
    except Exception:
        logger.exception("request path=%s status=500 unexpected error", safe(request.path))
        return error_response(500, "internal error; the server log has the details")


# host[:port], where host is a name, an IPv4 address or a bracketed IPv6 one: nothing that could
# break out of a URL or an attribute (quotes, angle brackets, spaces, "@", "/") in links.
_HOST_HEADER = re.compile(r"\A(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?\Z")


@web.middleware
async def host_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Without FEEDSCRUB_PUBLIC_URL, links are built from the Host header (research §E1):
    refuse a Host that is not a plain host[:port] (400) rather than echo it into output.
    With FEEDSCRUB_PUBLIC_URL set the Host header is never used for links."""
    if not request.app[SETTINGS].public_url and not _HOST_HEADER.match(request.host):
        raise BadRequest("bad Host header: expected host[:port]; or set FEEDSCRUB_PUBLIC_URL")
    return await handler(request)

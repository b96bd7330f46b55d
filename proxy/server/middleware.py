"""The one place where errors become responses (plain text, one line, the right status), in
the wrapper every route's handler passes (``front``), which also checks the Host header and
counts every answer; and the last route, for requests no other route matches."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Handler

from proxy import metrics
from proxy.config import Settings
from proxy.errors import BadRequest, ProxyError
from proxy.logsafe import safe
from proxy.metrics import Metrics
from proxy.server.metrics import UNMATCHED, UNMATCHED_NAME, record_answer, route_label
from proxy.server.warm import Short, Warm

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


def _error_answer(request: web.Request, exc: Exception) -> web.Response:
    """The answer to an exception a handler raised (HTTPException below 400 excepted)."""
    if isinstance(exc, ProxyError):
        logger.info(
            "request path=%s status=%d error=%s", safe(request.path), exc.status, safe(exc.message)
        )
        retry_after = getattr(exc, "retry_after", None)
        return error_response(
            exc.status, exc.message, retry_after if isinstance(retry_after, int) else None
        )
    if isinstance(exc, web.HTTPException):
        reason = {404: "not found: see / for the routes feedscrub serves"}.get(
            exc.status, exc.reason
        )
        return error_response(exc.status, reason)
    logger.exception("request path=%s status=500 unexpected error", safe(request.path))
    return error_response(500, "internal error; the server log has the details")


# host[:port], where host is a name, an IPv4 address or a bracketed IPv6 one: nothing that could
# break out of a URL or an attribute (quotes, angle brackets, spaces, "@", "/") in links.
_HOST_HEADER = re.compile(r"\A(?:[A-Za-z0-9_.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?\Z")


class Wrap(Protocol):
    """What ``front`` returns: a route's handler → the handler behind the front."""

    def __call__(self, handler: Handler, route: str | None = None) -> Handler: ...


def front(settings: Settings, counts: Metrics, warm: Warm | None = None) -> Wrap:
    """What every request passes through, as a wrapper of each route's handler: make
    ``counts`` current (for the request and the tasks and threads it starts), refuse a bad
    Host, turn errors into answers, and count the final answer (error answers and redirects
    included). ``guarded`` wraps a route table with it; ``unmatched`` is the last route.
    With ``warm``, a hot hit of the feed routes takes its short path (server/warm.py).

    A wrapper, not an aiohttp middleware: an app with any middleware at all runs two layers
    of aiohttp's own per request (a partial call, a coroutine and a cache lookup each),
    which a cached feed request (bench/run.py 4) notices.
    """
    # Without FEEDSCRUB_PUBLIC_URL, links are built from the Host header (research §E1): a
    # Host that is not a plain host[:port] is refused (400) rather than echoed into output.
    # With FEEDSCRUB_PUBLIC_URL set the Host header is never used for links.
    check_host = not settings.public_url

    def wrap(handler: Handler, route: str | None = None) -> Handler:
        """``handler`` behind all that; ``route``: its label in the counts, when known
        beforehand (else read from each request)."""

        @functools.wraps(handler)
        async def answer(request: web.Request) -> web.StreamResponse:
            token = metrics.activate(counts)
            try:
                try:
                    if check_host and not _HOST_HEADER.match(request.host):
                        raise BadRequest(
                            "bad Host header: expected host[:port]; or set FEEDSCRUB_PUBLIC_URL"
                        )
                    response = await handler(request)
                except web.HTTPException as exc:
                    if exc.status < 400:  # redirects: aiohttp sends them
                        record_answer(request, exc, counts, route or route_label(request))
                        raise
                    response = _error_answer(request, exc)
                except Exception as exc:
                    response = _error_answer(request, exc)
                record_answer(request, response, counts, route or route_label(request))
                return response
            finally:
                metrics.deactivate(token)

        short = warm.short(handler) if warm is not None and route is not None else None
        if short is None or route is None:
            return answer
        return _shortened(answer, *short, route, counts, check_host)

    return wrap


def _shortened(
    answer: Handler, short: Short, keyed: bool, route: str, counts: Metrics, check_host: bool
) -> Handler:
    """``answer`` behind ``short``: a hot hit answered there (the Host checked first, as
    ``answer`` does) is counted as ``answer`` would count it, the request and the cache hit;
    anything else takes ``answer``'s whole way."""

    @functools.wraps(answer)
    async def shortened(request: web.Request) -> web.StreamResponse:
        if check_host and not _HOST_HEADER.match(request.host):
            return await answer(request)  # refused there
        try:
            response = short(request, keyed)
        except Exception:  # a bug: logged, and the whole way answers (or names it as a 500)
            logger.exception("request path=%s: the short path failed", safe(request.path))
            response = None
        if response is None:
            return await answer(request)
        counts.record_hit((route, response.status))
        return response

    return shortened


def guarded(routes: Iterable[web.RouteDef], wrap: Wrap) -> list[web.RouteDef]:
    """``routes`` with each handler passed through ``wrap`` (``front``), which is told its
    route's label: the path pattern (what aiohttp's router calls the route's canonical
    form, tests/server/test_warm.py checks), or "unmatched" for the catch-all."""
    return [
        web.RouteDef(
            r.method,
            r.path,
            wrap(r.handler, UNMATCHED if r.kwargs.get("name") == UNMATCHED_NAME else r.path),
            r.kwargs,
        )
        for r in routes
    ]


async def unmatched(request: web.Request) -> web.StreamResponse:
    """The last route (any method, any path): what aiohttp's router answers when no route
    matches, 404, or 405 when the path has routes for other methods. As a route, it passes
    ``front`` like the others, so these answers are counted and worded like every error."""
    allowed: set[str] = set()
    for resource in request.app.router.resources():
        if resource.name != UNMATCHED_NAME:
            found, methods = await resource.resolve(request)
            if found is None:
                allowed |= methods
    if allowed:
        raise web.HTTPMethodNotAllowed(request.method, allowed)
    raise web.HTTPNotFound()


UNMATCHED_ROUTE = web.route("*", "/{tail:.*}", unmatched, name=UNMATCHED_NAME)

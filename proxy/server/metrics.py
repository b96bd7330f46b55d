"""GET /metrics (Prometheus text format), and the middleware that counts answered requests.

The counters live in the app's ``proxy.metrics.Metrics``; this module makes it current for
each request, serves it, and feeds the request and image-byte counters. /metrics is open by
default, like /healthz: it shows counts, never URLs or keys. With FEEDSCRUB_PROTECT_METRICS
it needs the access key (``key=`` or ``Authorization: Bearer``, which Prometheus sends with
``authorization: credentials:``).
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from proxy import metrics
from proxy.server import auth
from proxy.server.keys import METRICS, SETTINGS

UNMATCHED = "unmatched"  # the route label of requests no route matched (404/405)


def _route(request: web.Request) -> str:
    # The route pattern, never the path: "/feeds/{name}" keeps the label set small.
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED


def _record(request: web.Request, response: web.StreamResponse) -> None:
    metrics.record_request(_route(request), response.status)
    if (
        response.status in (200, 206)
        and request.method != "HEAD"
        and response.content_type.startswith(("image/", "audio/", "video/"))
    ):
        # Only the image proxy answers with media. A streamed answer announces its length
        # (aiohttp's body_length would count the headers too); one of unknown size, sent
        # chunked, is not counted.
        if isinstance(response, web.Response) and isinstance(response.body, bytes):
            metrics.add_image_bytes(len(response.body))
        elif response.content_length is not None:
            metrics.add_image_bytes(response.content_length)


@web.middleware
async def count_requests(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost middleware: makes the app's metrics current for everything this request
    does (tasks it starts included), and sees the final status, error responses included."""
    with metrics.use(request.app[METRICS]):
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # redirects and whatever the error middleware re-raises
            _record(request, exc)
            raise
        _record(request, response)
        return response


async def export(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if settings.protect_metrics:
        auth.require_key(settings, request.query, request.headers, "/metrics")
    return web.Response(
        body=request.app[METRICS].render().encode("utf-8"),
        headers={"Content-Type": metrics.CONTENT_TYPE, "Cache-Control": "no-store"},
    )

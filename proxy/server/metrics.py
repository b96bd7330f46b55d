"""GET /metrics (Prometheus text format), and the count of each answered request.

The counters live in the app's ``proxy.metrics.Metrics``; ``middleware.front`` makes it
current for each request and calls ``record_answer``; this module serves it. /metrics is
open by default, like /healthz: it shows counts, never URLs or keys. With
FEEDSCRUB_PROTECT_METRICS it needs the access key (``key=`` or ``Authorization: Bearer``,
which Prometheus sends with ``authorization: credentials:``).
"""

from __future__ import annotations

from aiohttp import hdrs, web

from proxy import metrics
from proxy.server import auth
from proxy.server.keys import METRICS, SETTINGS

UNMATCHED = "unmatched"  # the route label of requests no route matched (404/405)
_MEDIA = ("image/", "audio/", "video/")


UNMATCHED_NAME = "unmatched"  # the name of the catch-all route (middleware.unmatched)


def route_label(request: web.Request) -> str:
    """The route pattern a request matched, never its path: "/feeds/{name}" keeps the label
    set small. (``middleware.guarded`` knows it for each route beforehand.)"""
    resource = request.match_info.route.resource
    if resource is None or resource.name == UNMATCHED_NAME:
        return UNMATCHED
    return resource.canonical


def record_answer(
    request: web.Request, response: web.StreamResponse, counts: metrics.Metrics, route: str
) -> None:
    """Count one answered request of ``route`` (its label) in ``counts``
    (``middleware.front`` calls it with the final answer and the app's counts, without the
    context variable's lookup)."""
    status = response.status
    counts.record_request(route, status)
    if status in (200, 206) and request.method != "HEAD":
        # Only the image proxy answers with media. A streamed answer announces its length
        # (aiohttp's body_length would count the headers too); one of unknown size, sent
        # chunked, is not counted. The header is read first: parsing content_type on every
        # feed answer cost more than the count.
        header = response.headers.get(hdrs.CONTENT_TYPE, "")
        if not header.lstrip().lower().startswith(_MEDIA):
            return
        if not response.content_type.startswith(_MEDIA):
            return
        if isinstance(response, web.Response) and isinstance(response.body, bytes):
            counts.add_image_bytes(len(response.body))
        elif response.content_length is not None:
            counts.add_image_bytes(response.content_length)


async def export(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if settings.protect_metrics:
        auth.require_key(settings, request.query, request.headers, "/metrics")
    return web.Response(
        body=request.app[METRICS].render().encode("utf-8"),
        headers={"Content-Type": metrics.CONTENT_TYPE, "Cache-Control": "no-store"},
    )

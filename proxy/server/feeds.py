"""GET /feed?url=… and /feeds/{name}[.rss|.atom|.json]: validate input, call the pipeline, set
caching headers."""

from __future__ import annotations

from aiohttp import web

from proxy.errors import BadRequest, Forbidden
from proxy.models import Rendered
from proxy.server import auth
from proxy.server.http import http_date, not_modified, public_base, vary
from proxy.server.keys import PIPELINE, SETTINGS


async def by_url(request: web.Request) -> web.StreamResponse:
    if not request.app[SETTINGS].adhoc:
        raise Forbidden(
            "ad-hoc /feed is turned off on this instance (FEEDSCRUB_ADHOC=false); "
            "the named feeds are listed at /"
        )
    url = request.query.get("url", "").strip()
    # Before anything else: a request without the key learns nothing about the URL.
    auth.require_feed_access(request.app[SETTINGS], request.query, request.headers, url)
    if not url:
        raise BadRequest("missing url parameter: use /feed?url=<feed URL>")
    pipeline = request.app[PIPELINE]
    job = pipeline.job(
        url,
        fmt=request.query.get("format"),
        public_base=public_base(request),
        limit=_limit(request.query.get("limit")),
        fulltext=request.query.get("fulltext", "").lower() in ("1", "true", "yes", "on"),
        opencc=request.query.get("opencc"),
    )
    return respond(request, await pipeline.serve(job))


async def by_name(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    fmt = request.query.get("format")
    for suffix in (".rss", ".atom", ".json"):
        if name.endswith(suffix):
            name, fmt = name.removesuffix(suffix), suffix[1:]
    # Before the lookup, so that without the key an unknown name looks like a known one.
    auth.require_named_access(request.app[SETTINGS], request.query, request.headers, name)
    pipeline = request.app[PIPELINE]
    job = pipeline.named_job(name, fmt=fmt, public_base=public_base(request))
    return respond(request, await pipeline.serve(job))


_MAX_LIMIT_DIGITS = 9  # a billion items is past any feed; int() of 5,000 digits raises


def _limit(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    # ASCII digits only: str.isdigit() takes "²" and "①", which int() then refuses.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > _MAX_LIMIT_DIGITS or int(raw) <= 0:
        raise BadRequest(
            f"limit must be a whole number from 1 to 999999999, not {raw[:20]!r}"
            + ("…" if len(raw) > 20 else "")
        )
    return int(raw)


def respond(request: web.Request, rendered: Rendered) -> web.StreamResponse:
    # The feed's own ttl when it has one; readers need not come back sooner than 5 minutes.
    ttl = rendered.fresh_for or request.app[SETTINGS].ttl
    headers = {
        "ETag": rendered.etag,
        "Last-Modified": http_date(rendered.last_modified),
        "Cache-Control": f"public, max-age={min(ttl, 300)}",
        "Vary": vary(request),
        "Age": str(rendered.age),
        "X-Content-Type-Options": "nosniff",
    }
    if rendered.stale:
        # RFC 9211: we went to the upstream, it failed, and this is the stale copy.
        reason = (rendered.stale_reason or "upstream failed").replace('"', "'")
        headers["Cache-Status"] = f'feedscrub; fwd=stale; detail="{reason}"'
        headers["Warning"] = '110 feedscrub "Response is Stale"'
    elif rendered.fetched:
        headers["Cache-Status"] = "feedscrub; fwd=miss; stored"
    elif rendered.revalidating:
        # RFC 9211: a negative ttl says by how much this copy is past its freshness.
        past = min(rendered.ttl or 0, 0)
        headers["Cache-Status"] = f'feedscrub; hit; ttl={past}; detail="revalidating"'
    elif rendered.ttl is not None:
        headers["Cache-Status"] = f"feedscrub; hit; ttl={rendered.ttl}"
    else:
        headers["Cache-Status"] = "feedscrub; hit"
    if not_modified(request, rendered.etag, rendered.last_modified):
        return web.Response(status=304, headers=headers)
    body = rendered.body
    if rendered.gzip_body and "gzip" in request.headers.get("Accept-Encoding", ""):
        body = rendered.gzip_body
        headers["Content-Encoding"] = "gzip"
    headers["Content-Type"] = rendered.content_type
    return web.Response(body=body, headers=headers)

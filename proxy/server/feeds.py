"""GET /feed?url=… and /feeds/{name}[.rss|.atom|.json]: validate input, call the pipeline, set
caching headers."""

from __future__ import annotations

import weakref

from aiohttp import web
from aiohttp.hdrs import ACCEPT_ENCODING, AUTHORIZATION, IF_MODIFIED_SINCE, IF_NONE_MATCH
from multidict import CIMultiDict, istr

from proxy.config import Settings
from proxy.errors import BadRequest, Forbidden
from proxy.models import Rendered
from proxy.pipeline.service import Pipeline
from proxy.server import auth
from proxy.server.http import http_date, not_modified, public_base, vary_of
from proxy.server.keys import JOBS, PIPELINE, SETTINGS, Heads, Jobs, Remembered


async def by_url(request: web.Request) -> web.StreamResponse:
    app = request.app
    settings = app[SETTINGS]
    if not settings.adhoc:
        raise Forbidden(
            "ad-hoc /feed is turned off on this instance (FEEDSCRUB_ADHOC=false); "
            "the named feeds are listed at /"
        )
    if settings.access_key:
        # Before anything else: a request without the key learns nothing about the URL.
        query = request.query
        url = query.get("url", "").strip()
        auth.require_feed_access(settings, query, request.headers, url)
    pipeline = app[PIPELINE]
    base = public_base(request, settings)
    seen = _remembered(app[JOBS], pipeline, request.raw_path, base)
    if seen is None:
        query = request.query
        url = query.get("url", "").strip()
        if not url:
            raise BadRequest("missing url parameter: use /feed?url=<feed URL>")
        job = pipeline.job(
            url,
            fmt=query.get("format"),
            public_base=base,
            limit=_limit(query.get("limit")),
            fulltext=query.get("fulltext", "").lower() in ("1", "true", "yes", "on"),
            opencc=query.get("opencc"),
        )
        seen = Remembered(pipeline.feeds, job)
        app[JOBS].set((request.raw_path, base), seen)
    if settings.access_key and AUTHORIZATION not in request.headers:
        seen.by_query = True  # the key or sig= in this path's query passed
    # The hot copy first, without the coroutine of Pipeline.serve (which looks there too).
    rendered = pipeline.freshness.hot(seen.job) or await pipeline.serve(seen.job)
    return answer(request, rendered, seen, settings)


async def by_name(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    fmt = request.query.get("format")
    for suffix in (".rss", ".atom", ".json"):
        if name.endswith(suffix):
            name, fmt = name.removesuffix(suffix), suffix[1:]
    app = request.app
    settings = app[SETTINGS]
    # Before the lookup, so that without the key an unknown name looks like a known one.
    auth.require_named_access(settings, request.query, request.headers, name)
    pipeline = app[PIPELINE]
    base = public_base(request, settings)
    seen = _remembered(app[JOBS], pipeline, request.raw_path, base)
    if seen is None:
        seen = Remembered(pipeline.feeds, pipeline.named_job(name, fmt=fmt, public_base=base))
        app[JOBS].set((request.raw_path, base), seen)
    if settings.protect_named and settings.access_key and AUTHORIZATION not in request.headers:
        seen.by_query = True  # the key or sig= in this path's query passed
    # The hot copy first, without the coroutine of Pipeline.serve (which looks there too).
    rendered = pipeline.freshness.hot(seen.job) or await pipeline.serve(seen.job)
    return answer(request, rendered, seen, settings)


def answer(
    request: web.Request, rendered: Rendered, seen: Remembered, settings: Settings
) -> web.Response:
    """``respond`` with the headers kept in ``seen`` while ``rendered`` is what it last
    served (a hot copy is one object for a second: its headers are built once)."""
    made = seen.heads
    if made is None or seen.rendered is None or seen.rendered() is not rendered:
        made = heads(rendered, settings)
        seen.rendered, seen.heads = weakref.ref(rendered), made
    return respond(request, rendered, settings, made)


def _remembered(jobs: Jobs, pipeline: Pipeline, raw_path: str, base: str) -> Remembered | None:
    """The job an earlier request with the same path, query and public base got, while the
    feeds config it was made with is still the pipeline's (a reload makes new jobs).

    Readers poll the same links over and over: remembering their jobs saves parsing and
    checking the query, the URL checks and building the job on every cached request. Only
    requests that made a job are remembered; refusals are judged afresh each time, and
    the access key is checked before this, on every request."""
    found = jobs.get((raw_path, base))
    if found is None or found.feeds is not pipeline.feeds:
        return None
    return found


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


def respond(
    request: web.Request,
    rendered: Rendered,
    settings: Settings | None = None,
    made: Heads | None = None,
) -> web.Response:
    """The answer to ``request``: a 304, the gzip body or the identity body, with the
    headers of ``rendered`` (``made``: built by ``heads`` already)."""
    made = made or heads(rendered, settings or request.app[SETTINGS])
    asked = request.headers
    # Most polls carry no validator: two lookups (istr names, no case-folding) instead of
    # not_modified's call.
    if (IF_NONE_MATCH in asked or IF_MODIFIED_SINCE in asked) and not_modified(
        request, rendered.etag, rendered.last_modified
    ):
        return web.Response(status=304, headers=made.not_modified)
    if rendered.gzip_body and "gzip" in asked.get(ACCEPT_ENCODING, ""):
        return web.Response(body=rendered.gzip_body, headers=made.gzip)
    return web.Response(body=rendered.body, headers=made.identity)


# Header names as multidict's istr, spelt as we send them: aiohttp copies every answer's
# headers into a case-insensitive multidict, and a plain str name is case-folded there on
# every request (measured: ~7k instructions of a cached request's ~360k).
_ETAG, _LAST_MODIFIED, _CACHE_CONTROL = istr("ETag"), istr("Last-Modified"), istr("Cache-Control")
_VARY, _AGE, _NOSNIFF = istr("Vary"), istr("Age"), istr("X-Content-Type-Options")
_CACHE_STATUS, _WARNING = istr("Cache-Status"), istr("Warning")
_CONTENT_ENCODING, _CONTENT_TYPE = istr("Content-Encoding"), istr("Content-Type")


def heads(rendered: Rendered, settings: Settings) -> Heads:
    """The headers answers with ``rendered`` carry (nothing in them depends on the request:
    Vary names what the output depends on)."""
    # The feed's own ttl when it has one; readers need not come back sooner than 5 minutes.
    ttl = rendered.fresh_for or settings.ttl
    headers: dict[str, str] = {
        _ETAG: rendered.etag,
        _LAST_MODIFIED: http_date(rendered.last_modified),
        _CACHE_CONTROL: f"public, max-age={min(ttl, 300)}",
        _VARY: vary_of(settings),
        _AGE: str(rendered.age),
        _NOSNIFF: "nosniff",
    }
    if rendered.stale:
        # RFC 9211: we went to the upstream, it failed, and this is the stale copy.
        reason = (rendered.stale_reason or "upstream failed").replace('"', "'")
        headers[_CACHE_STATUS] = f'feedscrub; fwd=stale; detail="{reason}"'
        headers[_WARNING] = '110 feedscrub "Response is Stale"'
    elif rendered.fetched:
        headers[_CACHE_STATUS] = "feedscrub; fwd=miss; stored"
    elif rendered.revalidating:
        # RFC 9211: a negative ttl says by how much this copy is past its freshness.
        past = min(rendered.ttl or 0, 0)
        headers[_CACHE_STATUS] = f'feedscrub; hit; ttl={past}; detail="revalidating"'
    elif rendered.ttl is not None:
        headers[_CACHE_STATUS] = f"feedscrub; hit; ttl={rendered.ttl}"
    else:
        headers[_CACHE_STATUS] = "feedscrub; hit"
    # As multidicts: aiohttp copies the headers of each answer into one, and a copy of a
    # multidict skips hashing and folding each name again (~220 ns of a cached request).
    return Heads(
        not_modified=CIMultiDict(headers),
        identity=CIMultiDict({**headers, _CONTENT_TYPE: rendered.content_type}),
        gzip=CIMultiDict(
            {**headers, _CONTENT_ENCODING: "gzip", _CONTENT_TYPE: rendered.content_type}
        ),
    )

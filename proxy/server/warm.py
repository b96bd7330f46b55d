"""The short path of a cached feed request (issue 15.4): a hot hit answered in a few steps.

Readers poll the same links over and over, and most polls find the output hot in memory.
``middleware.front`` asks ``Warm.answer`` first for /feed and /feeds/{name} (where this
instance's settings let it; with an access key, for paths whose key= or sig= passed before
and requests without an Authorization header, see Remembered.by_query): it answers a request
whose job an earlier request made (``feeds`` remembers it) and whose output is hot, with the
headers built once per hot copy (``feeds.heads``), and returns None for anything else, which
then takes the whole way (``feeds.by_url`` / ``feeds.by_name``). The answer is the one the
whole way gives, byte for byte (tests/server/test_warm_short.py compares them); what the
short path leaves out is the work that cannot change it on a hot hit: the app's lookups,
the query, the metrics context, and counting the request and the hit apart.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from aiohttp.hdrs import AUTHORIZATION
from aiohttp.typedefs import Handler

from proxy.config import Settings
from proxy.pipeline.service import Pipeline
from proxy.server import feeds
from proxy.server.keys import Jobs

Short = Callable[[web.Request, bool], "web.Response | None"]
"""(A request, whether its route checks an access key) → its answer from a hot copy, or
None when it must take the whole way."""


class Warm:
    """The short path of one app. ``pipeline`` is the app's once it has started (before,
    every request takes the whole way)."""

    def __init__(self, settings: Settings, jobs: Jobs) -> None:
        self.settings = settings
        self.jobs = jobs
        self.pipeline: Pipeline | None = None
        # What public_base() gives with FEEDSCRUB_PUBLIC_URL set ("" without: from each
        # request's scheme and Host).
        self._public = settings.public_url.rstrip("/")
        # The handlers whose cached answers this may give, and whether they check an access
        # key: then only for a path whose query passed the check before (Remembered.by_query)
        # and a request without an Authorization header (which the check would read first).
        self._handlers: dict[Handler, tuple[bool, bool]] = {
            feeds.by_url: (settings.adhoc, bool(settings.access_key)),
            feeds.by_name: (True, bool(settings.protect_named and settings.access_key)),
        }

    def short(self, handler: Handler) -> tuple[Short, bool] | None:
        """(``answer``, whether the route checks a key) when ``handler``'s hot hits may take
        the short path, else None."""
        allowed, keyed = self._handlers.get(handler, (False, False))
        return (self.answer, keyed) if allowed else None

    def answer(self, request: web.Request, keyed: bool) -> web.Response | None:
        """The answer from the hot copy of a request seen before, or None."""
        pipeline = self.pipeline
        if pipeline is None or (keyed and AUTHORIZATION in request.headers):
            return None
        # feeds.public_base and feeds._remembered, inline.
        base = self._public or f"{request.scheme}://{request.host}"
        seen = self.jobs.get((request.raw_path, base))
        if seen is None or seen.feeds is not pipeline.feeds or (keyed and not seen.by_query):
            return None
        rendered = pipeline.freshness.peek(seen.job)
        if rendered is None:
            return None
        return feeds.answer(request, rendered, seen, self.settings)

"""The aiohttp app factory: route table, error middleware, and the resources the app owns.

One ClientSession (behind the address guard), one cache and one signing key per app, opened
and closed in ``cleanup_ctx`` so there is a single place where they live and die.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import abc, web

from proxy import fetch, reload
from proxy.config import Settings
from proxy.images.proxy import ImageProxy
from proxy.images.signing import load_keys
from proxy.metrics import Metrics
from proxy.pipeline.service import Pipeline
from proxy.server import auth, links
from proxy.server.keys import (
    CACHE,
    IMAGES,
    JOBS,
    JOBS_KEPT,
    JOBS_MAX_AGE,
    METRICS,
    PIPELINE,
    SETTINGS,
    Jobs,
)
from proxy.server.middleware import UNMATCHED_ROUTE, front, guarded
from proxy.server.routes import METRICS_ROUTES, ROUTES
from proxy.server.warm import Warm
from proxy.store import open_store

logger = logging.getLogger(__name__)

__all__ = ["create_app", "CACHE", "IMAGES", "METRICS", "PIPELINE", "SETTINGS"]


def create_app(
    settings: Settings,
    *,
    resolver: abc.AbstractResolver | None = None,
    address_policy: fetch.AddressPolicy | None = None,
) -> web.Application:
    """Build the web application.

    Parameters:
        settings: the loaded, validated settings.
        resolver: a DNS resolver for upstream requests (tests inject a fake one).
        address_policy: which connected-to IPs are allowed (tests treat 127.0.0.2 as public).
    """
    # Opened here, not lazily, so a bad config, cache dir or key file stops startup with
    # the reason, before the port is bound.
    settings.validate()  # the same checks as load() and check-config, for Settings built by hand
    for warning in settings.warnings():
        logger.warning("config: %s", warning)
    _redact_access_log()
    feeds = reload.load_feeds(settings.config or None)
    keys = load_keys(settings.secret, settings.previous_secrets, settings.cache_dir)
    cache = open_store(settings.cache_dir, settings.cache_url)
    if not settings.secret:
        # Replicas on one shared store sign with one key: the first one's, kept there.
        keys = dataclasses.replace(keys, current=cache.shared_key(keys.current))
    counts = Metrics()  # this app's own counts
    # No middleware: every route's handler is wrapped instead (middleware.front: counts every
    # answer, turns errors into answers, checks the Host), the catch-all route last.
    app = web.Application(
        # aiohttp's keep-alive timer runs from the moment a connection opens and is not reset
        # by a partial request: it is the header read timeout as well (slow clients, 9.8).
        handler_args={"keepalive_timeout": settings.header_timeout},
    )
    app[SETTINGS] = settings
    app[CACHE] = cache
    app[METRICS] = counts
    app[JOBS] = Jobs(JOBS_KEPT, JOBS_MAX_AGE, time.monotonic)
    warm = Warm(settings, app[JOBS])  # the short path of hot hits, once the pipeline is up
    wrap = front(settings, counts, warm)
    app.router.add_routes(guarded(ROUTES, wrap))
    if settings.metrics:
        app.router.add_routes(guarded(METRICS_ROUTES, wrap))
    app.router.add_routes(guarded([UNMATCHED_ROUTE], wrap))

    async def resources(app: web.Application) -> AsyncIterator[None]:
        session = fetch.new_session(settings, resolver=resolver, address_policy=address_policy)
        pipeline = Pipeline(
            settings, session, cache, keys.current, feeds, self_path=links.self_path(settings)
        )
        images = ImageProxy(settings, session, cache, keys)
        app[PIPELINE] = pipeline
        warm.pipeline = pipeline
        app[IMAGES] = images
        watcher = (
            asyncio.create_task(reload.watch(settings.config, pipeline.reload))
            if settings.config
            else None
        )
        yield
        warm.pipeline = None
        await pipeline.close()
        await images.aclose()
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await session.close()
        await cache.close()

    app.cleanup_ctx.append(resources)
    return app


def _redact_access_log() -> None:
    # aiohttp's access log writes the request line, query string included: key= and sig=
    # would land in the log. Idempotent, as tests build many apps in one process.
    log = logging.getLogger("aiohttp.access")
    if not any(isinstance(f, auth.RedactSecrets) for f in log.filters):
        log.addFilter(auth.RedactSecrets())

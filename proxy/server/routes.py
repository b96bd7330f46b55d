"""The whole route table, in one list."""

from __future__ import annotations

from aiohttp import web

from proxy.server import feeds, health, images, index, metrics, opml, preview

ROUTES = [
    web.get("/", index.page),
    web.get("/feed", feeds.by_url),
    web.get("/feeds/{name}", feeds.by_name),
    web.get("/opml", opml.export),
    web.get("/preview", preview.by_url),
    web.get("/preview/feeds/{name}", preview.by_name),
    web.get(preview.CSS_PATH, preview.stylesheet),
    web.get("/img/{signature}/{encoded}", images.proxy),
    web.get("/healthz", health.live),
    web.get("/readyz", health.ready),
]

# Added by create_app only when enabled (FEEDSCRUB_METRICS, on by default).
METRICS_ROUTES = [web.get("/metrics", metrics.export)]

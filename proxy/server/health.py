"""Liveness (/healthz: the process answers) and readiness (/readyz: the cache answers)."""

from __future__ import annotations

from aiohttp import web

from proxy.server.keys import CACHE


async def live(request: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def ready(request: web.Request) -> web.Response:
    try:
        degraded = await request.app[CACHE].ping()
    except Exception as exc:
        return web.Response(status=503, text=f"not ready: cache does not answer: {exc}\n")
    if degraded:
        # Still 200: the replica serves (from memory, fetching directly). A load balancer
        # that took every replica out because the shared cache is down would make it an outage.
        return web.Response(text=f"ready, degraded: {degraded}\n")
    return web.Response(text="ready\n")

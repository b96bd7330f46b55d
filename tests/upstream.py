"""A scriptable upstream on 127.0.0.1 for tests: real aiohttp server, real bytes.

Each path is a Route (status, headers, body, optional delay or custom handler). The server
counts hits per path and records request headers, so tests assert on what the proxy sent.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

DATA = Path(__file__).parent / "data"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Answer If-None-Match / If-Modified-Since with 304 using a body-derived ETag.
    validators: bool = False
    handler: Handler | None = None


@dataclass
class RecordedRequest:
    path: str
    headers: CIMultiDictProxy[str]


class Upstream:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[RecordedRequest] = []
        self.base_url = ""
        self.app = web.Application()
        self.app.router.add_route("*", "/{tail:.*}", self._dispatch)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def route(self, path: str, body: bytes = b"", **options: object) -> str:
        """Serve ``body`` at ``path``; returns the absolute URL."""
        self.routes[path] = Route(body=body, **options)  # type: ignore[arg-type]
        return self.url(path)

    def serve_file(self, path: str, file: str | Path, **options: object) -> str:
        source = Path(file)
        if not source.is_absolute():
            source = DATA / source
        return self.route(path, source.read_bytes(), **options)

    def last_request(self, path: str) -> RecordedRequest:
        return [r for r in self.requests if r.path == path][-1]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs if request.query_string else request.path
        route = self.routes.get(path) or self.routes.get(request.path)
        self.hits[request.path] += 1
        self.requests.append(RecordedRequest(request.path, request.headers))
        if route is None:
            return web.Response(status=404, text="no such test route")
        if route.delay:
            await asyncio.sleep(route.delay)
        if route.handler is not None:
            return await route.handler(request)
        headers: CIMultiDict[str] = CIMultiDict(route.headers)
        if route.content_type:
            headers["Content-Type"] = route.content_type
        if route.validators:
            etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
            headers["ETag"] = etag
            headers["Last-Modified"] = "Sun, 18 Jun 2023 23:50:00 GMT"
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers=headers)
        return web.Response(status=route.status, body=route.body, headers=headers)

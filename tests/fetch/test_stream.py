"""stream: open_stream reads a body in pieces within its limit, after the one redirect loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from proxy import fetch
from proxy.config import Settings
from proxy.errors import BodyTooLarge, UpstreamStatus
from tests.helpers import DATA
from tests.upstream import Upstream

KEY = b"k" * 32
PNG = (DATA / "images" / "red.png").read_bytes()


# --- the streaming fetch --------------------------------------------------------------------


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[Any]:
    client = fetch.new_session(settings)
    yield client
    await client.close()


async def test_open_stream_reads_in_pieces_and_follows_redirects(
    upstream: Upstream, settings: Settings, session: Any
) -> None:
    target = upstream.route("/img.png", PNG + bytes(200_000), content_type="image/png")

    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(target)

    start = upstream.route("/moved", handler=moved)
    async with fetch.open_stream(session, start, limits=fetch.Limits.of(settings)) as stream:
        assert stream.url == target and stream.status == 200
        assert stream.content_length == len(PNG) + 200_000
        first = await stream.read(16)
        assert first == PNG[:16]
        total = len(first)
        while chunk := await stream.read():
            assert len(chunk) <= 64 * 1024
            total += len(chunk)
    assert total == len(PNG) + 200_000


async def test_open_stream_limits(upstream: Upstream, settings: Settings, session: Any) -> None:
    announced = upstream.route("/announced.png", bytes(5000), content_type="image/png")
    with pytest.raises(BodyTooLarge, match="announces 5000 bytes"):
        async with fetch.open_stream(
            session, announced, limits=fetch.Limits.of(settings).replace(max_bytes=4000)
        ):
            pass

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        await response.prepare(request)
        for _ in range(10):
            await response.write(bytes(1000))
        return response

    unannounced = upstream.route("/chunked.png", handler=chunked)
    with pytest.raises(BodyTooLarge, match="exceeds 4000 bytes"):
        async with fetch.open_stream(
            session, unannounced, limits=fetch.Limits.of(settings).replace(max_bytes=4000)
        ) as s:
            while await s.read(1000):
                pass
    refused = upstream.route("/403.png", b"no", status=403, content_type="text/plain")
    with pytest.raises(UpstreamStatus) as info:
        async with fetch.open_stream(session, refused, limits=fetch.Limits.of(settings)):
            pass
    assert info.value.upstream_status == 403

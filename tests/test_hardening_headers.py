"""Issue 9.10: stale but marked (RFC 9211 ttl), and Vary: Host when links come from Host."""

from __future__ import annotations

import re
from typing import Any

from pytest_aiohttp import AiohttpClient

from proxy.server import create_app
from tests.helpers import move_clock, seed_feed
from tests.upstream import Upstream


async def test_revalidating_copy_says_how_stale_it_is(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await aiohttp_client(create_app(make_settings(ttl=60, stale_while_revalidate=300)))
    first = await client.get("/feed", params={"url": url})
    assert first.status == 200
    fresh = await client.get("/feed", params={"url": url})
    match = re.fullmatch(r"feedscrub; hit; ttl=(\d+)", fresh.headers["Cache-Status"])
    assert match and 0 < int(match.group(1)) <= 60
    move_clock(client, 100)
    stale = await client.get("/feed", params={"url": url})
    assert stale.status == 200
    assert stale.headers["Cache-Status"] == 'feedscrub; hit; ttl=-40; detail="revalidating"'


async def test_links_from_the_host_header_vary_on_host(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await aiohttp_client(create_app(make_settings(public_url="")))
    bodies = []
    for host in ("a.test", "b.test"):
        response = await client.get("/feed", params={"url": url}, headers={"Host": host})
        assert response.status == 200
        assert "Host" in [v.strip() for v in response.headers["Vary"].split(",")]
        bodies.append(await response.read())
    assert b"http://a.test/" in bodies[0] and b"http://b.test/" in bodies[1]
    opml = await client.get("/opml", headers={"Host": "a.test"})
    assert opml.status == 200 and "Host" in opml.headers["Vary"]


async def test_a_public_url_needs_no_vary_on_host(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await aiohttp_client(create_app(make_settings(public_url="http://proxy.test")))
    response = await client.get("/feed", params={"url": url}, headers={"Host": "a.test"})
    assert response.status == 200
    assert response.headers["Vary"] == "Accept-Encoding"

"""Issue 9.1 end to end: the two items that froze the server, served by a local upstream, are
cleaned in under a second each while /healthz keeps answering within 100 ms."""

from __future__ import annotations

import asyncio
import html
import time
from typing import Any

from pytest_aiohttp import AiohttpClient

from proxy.server import create_app
from tests.helpers import read_feed
from tests.upstream import Upstream

# The reported items: a size style with 2,500 spaces (46 s), and Medium's footer wording
# repeated 8,000 times in one paragraph (13.7 s).
SIZE_ITEM = '<p>Text.</p><img src="a.png" style="width:1' + " " * 2500 + 'x">'
MEDIUM_ITEM = (
    "<p><a>A</a> was originally published in " + "b was originally published in " * 8000 + "</p>"
)


def rss(description: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        "<link>https://example.org/</link><description>d</description><item><title>i</title>"
        "<link>https://example.org/1</link><guid>1</guid>"
        f"<description>{html.escape(description)}</description></item></channel></rss>"
    ).encode()


async def test_redos_items_are_cleaned_quickly_and_healthz_keeps_answering(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    urls = [
        upstream.route("/size.xml", rss(SIZE_ITEM)),
        upstream.route("/medium.xml", rss(MEDIUM_ITEM)),
    ]
    health: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            started = time.perf_counter()
            response = await client.get("/healthz")
            assert response.status == 200
            health.append(time.perf_counter() - started)
            await asyncio.sleep(0.02)

    prober = asyncio.create_task(probe())
    try:
        for url in urls:
            started = time.perf_counter()
            response = await client.get("/feed", params={"url": url})
            body = await response.read()
            seconds = time.perf_counter() - started
            assert response.status == 200, body
            assert seconds < 1.0, f"{url} took {seconds:.2f} s"
            [entry] = read_feed(body).entries
            assert entry.title == "i"
    finally:
        done.set()
        await prober
    assert len(health) >= 2
    assert max(health) < 0.1, f"/healthz took up to {max(health) * 1000:.0f} ms"

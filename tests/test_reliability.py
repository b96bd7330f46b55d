"""Failing upstreams: the good copy is served marked stale, never overwritten; with nothing
cached, one clear error. Shapes and sizes that must stay bounded."""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientTimeout, web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy.server import CACHE, PIPELINE, create_app
from tests.helpers import big_feed, move_clock, read_feed, seed_feed
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, make_settings: Any) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        changes.setdefault("stale_while_revalidate", 0)
        return await aiohttp_client(create_app(make_settings(**changes)))

    return build


async def _reset_mid_body(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    response.content_length = 100_000
    await response.prepare(request)
    await response.write(seed_feed()[:500])
    assert request.transport is not None
    request.transport.close()
    return response


async def _redirect_loop(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/loop.xml")


FAILURES: dict[str, dict[str, Any]] = {
    "500": {"body": b"oops", "status": 500, "content_type": "text/plain"},
    "502": {"body": b"bad gateway", "status": 502, "content_type": "text/plain"},
    "503": {"body": b"later", "status": 503, "content_type": "text/plain"},
    "timeout": {"body": seed_feed(), "delay": 2.0},
    "reset-mid-body": {"handler": _reset_mid_body},
    "truncated-xml": {"body": seed_feed()[: len(seed_feed()) // 2]},
    "html-instead": {
        "body": b"<!doctype html><html><body>login</body></html>",
        "content_type": "text/html",
    },
    "undecodable": {"body": bytes(range(128, 256)) * 40, "content_type": "application/rss+xml"},
    "redirect-loop": {"handler": _redirect_loop},
}


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_good_copy_survives_every_failure(
    upstream: Upstream, make_client: MakeClient, failure: str
) -> None:
    url = upstream.route("/loop.xml", seed_feed())
    client = await make_client(ttl=60, fetch_timeout=0.5)
    response = await client.get("/feed", params={"url": url})
    good = await response.read()
    upstream.route("/loop.xml", **FAILURES[failure])
    move_clock(client, 120)
    response = await client.get("/feed", params={"url": url})
    assert response.status == 200
    assert await response.read() == good
    assert "fwd=stale" in response.headers["Cache-Status"]
    stored = await client.server.app[CACHE].get_feed(url)
    assert stored is not None and stored.body == seed_feed()


@pytest.mark.parametrize(
    ("failure", "status"),
    [
        ("500", 502),
        ("timeout", 504),
        ("reset-mid-body", 502),
        ("truncated-xml", 502),
        ("html-instead", 502),
        ("undecodable", 502),
        ("redirect-loop", 502),
    ],
)
async def test_nothing_cached_gives_one_clear_error(
    upstream: Upstream, make_client: MakeClient, failure: str, status: int
) -> None:
    url = upstream.route("/loop.xml", **FAILURES[failure])
    client = await make_client(fetch_timeout=0.5)
    response = await client.get("/feed", params={"url": url})
    assert response.status == status
    text = await response.text()
    assert text.count("\n") == 1 and "Traceback" not in text and len(text) < 600


async def test_huge_bodies_refused_with_and_without_length(
    upstream: Upstream, make_client: MakeClient
) -> None:
    chunk = b"<!-- " + b"x" * 65_000 + b" -->"

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        for _ in range(800):  # 50 MB, chunked, no Content-Length
            await response.write(chunk)
        return response

    upstream.route("/chunked.xml", handler=endless)
    upstream.route("/announced.xml", b"x" * (11 * 1024 * 1024))
    bomb = gzip.compress(b"<rss>" + b" " * (60 * 1024 * 1024), compresslevel=9)
    upstream.route("/bomb.xml", bomb, headers={"Content-Encoding": "gzip"})
    client = await make_client()
    for path in ("/chunked.xml", "/announced.xml", "/bomb.xml"):
        response = await client.get("/feed", params={"url": upstream.url(path)})
        assert response.status == 502, path
        assert "bytes" in await response.text()


async def test_feed_with_100000_items_is_served_and_loop_stays_responsive(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/big.xml", big_feed(100_000))
    client = await make_client(max_body_bytes=32 * 1024 * 1024)
    request = asyncio.ensure_future(
        client.get("/feed", params={"url": url}, timeout=ClientTimeout(total=300))
    )
    # While the big feed is parsed and cleaned off the loop, /healthz answers quickly.
    await asyncio.sleep(0.3)
    worst = 0.0
    while not request.done():
        started = time.monotonic()
        assert (await client.get("/healthz")).status == 200
        worst = max(worst, time.monotonic() - started)
        await asyncio.sleep(0.2)
    response = await request
    assert response.status == 200
    feed = read_feed(await response.read())
    assert len(feed.entries) == 100_000
    assert worst < 1.0, f"/healthz took {worst:.2f}s while a big feed was processed"


async def test_deeply_nested_and_huge_items_are_bounded(
    upstream: Upstream, make_client: MakeClient
) -> None:
    deep = "<div>" * 10_000 + "deep text" + "</div>" * 10_000
    huge = "<p>" + "长文本" * (5 * 1024 * 1024 // 9) + "</p>"
    from xml.sax.saxutils import escape

    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x/</link>'
        "<description>d</description>"
        f"<item><title>deep</title><guid>1</guid><description>{escape(deep)}</description></item>"
        f"<item><title>huge</title><guid>2</guid><description>{escape(huge)}</description></item>"
        "<item><title>plain</title><guid>3</guid><description>&lt;p&gt;ok&lt;/p&gt;</description>"
        "</item></channel></rss>"
    ).encode()
    url = upstream.route("/shapes.xml", body)
    client = await make_client(max_body_bytes=32 * 1024 * 1024)
    response = await client.get("/feed", params={"url": url})
    assert response.status == 200
    feed = read_feed(await response.read())
    assert [e.title for e in feed.entries] == ["deep", "huge", "plain"]
    assert feed.entries[2].description == "<p>ok</p>"


async def test_hundred_slow_upstreams_end_at_their_timeout(
    upstream: Upstream, make_client: MakeClient
) -> None:
    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        for _ in range(100):
            await response.write(b" ")
            await asyncio.sleep(0.1)
        return response

    async def silent(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(30)
        return web.Response()

    for i in range(50):
        upstream.route(f"/drip{i}.xml", handler=drip)
        upstream.route(f"/silent{i}.xml", handler=silent)
    client = await make_client(fetch_timeout=1.0, per_host_connections=200)
    started = time.monotonic()
    paths = [f"/drip{i}.xml" for i in range(50)] + [f"/silent{i}.xml" for i in range(50)]
    responses = await asyncio.gather(
        *(client.get("/feed", params={"url": upstream.url(p)}) for p in paths)
    )
    elapsed = time.monotonic() - started
    assert [r.status for r in responses] == [504] * 100
    assert elapsed < 10, elapsed
    connector = client.server.app[PIPELINE].session.connector
    assert connector is not None
    await asyncio.sleep(0.1)
    assert not connector._acquired, "connections left open after timeouts"  # noqa: SLF001


async def test_restart_keeps_image_links_and_a_warm_cache(
    aiohttp_client: AiohttpClient, make_settings: Any, upstream: Upstream
) -> None:
    from tests.helpers import DATA, img_paths

    png = (DATA / "images" / "red.png").read_bytes()
    upstream.route("/seed.jpg", png, content_type="image/png")
    url = upstream.route("/rfi.xml", seed_feed(image_base=upstream.base_url))
    settings = make_settings(secret="")  # the key is generated and kept in the cache dir
    first = await aiohttp_client(create_app(settings))
    body = await (await first.get("/feed", params={"url": url})).read()
    path = img_paths(read_feed(body).entries[0].description)[0]
    await first.close()
    second = await aiohttp_client(create_app(settings))
    again = await second.get("/feed", params={"url": url})
    assert await again.read() == body
    image = await second.get(path)
    assert image.status == 200 and await image.read() == png
    assert upstream.hits["/rfi.xml"] == 1 and upstream.hits["/seed.jpg"] == 1


async def test_key_rotation_keeps_old_image_links_for_the_grace_period(
    aiohttp_client: AiohttpClient, make_settings: Any, upstream: Upstream
) -> None:
    from proxy.images import signing
    from tests.helpers import DATA, img_paths

    png = (DATA / "images" / "red.png").read_bytes()
    upstream.route("/seed.jpg", png, content_type="image/png")
    url = upstream.route("/rfi.xml", seed_feed(image_base=upstream.base_url))
    settings = make_settings(secret="")
    first = await aiohttp_client(create_app(settings))
    old_path = img_paths(
        read_feed(await (await first.get("/feed", params={"url": url})).read())
        .entries[0]
        .description
    )[0]
    await first.close()
    signing.rotate_secret(settings.cache_dir, grace_seconds=3600)
    assert (Path(settings.cache_dir) / "secret.previous").stat().st_mode & 0o777 == 0o600
    second = await aiohttp_client(create_app(settings))
    assert (await second.get(old_path)).status == 200  # in its grace period
    new_path = img_paths(
        read_feed(await (await second.get("/feed", params={"url": url})).read())
        .entries[0]
        .description
    )[0]
    assert new_path != old_path  # new links are signed with the new key
    assert (await second.get(new_path)).status == 200
    await second.close()
    # After the grace period the old link is refused.
    previous = Path(settings.cache_dir) / "secret.previous"
    key = previous.read_text().split()[1]
    previous.write_text(f"{int(time.time()) - 1} {key}\n")
    third = await aiohttp_client(create_app(settings))
    assert (await third.get(old_path)).status == 403
    assert (await third.get(new_path)).status == 200


async def test_one_log_line_per_upstream_fetch_and_per_error(
    upstream: Upstream, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    good = upstream.route("/rfi.xml", seed_feed())
    bad = upstream.route("/bad.xml", b"nope", status=500, content_type="text/plain")
    client = await make_client()
    with caplog.at_level(logging.INFO, logger="proxy"):
        await client.get("/feed", params={"url": good})
        await client.get("/feed", params={"url": good})  # cached: no fetch line
        await client.get("/feed", params={"url": bad})
    fetches = [r.getMessage() for r in caplog.records if r.getMessage().startswith("fetch feed_url=")]
    assert len(fetches) == 2, fetches
    assert fetches[0].startswith(f"fetch feed_url={good} status=200 ")
    assert "elapsed_ms=" in fetches[0] and "items=2" in fetches[0]
    assert fetches[1].startswith(f"fetch feed_url={bad} status=502 error=")
    assert all("\n" not in line for line in fetches)

"""Full text through the server: ad-hoc &fulltext=1 and named feeds with fulltext = true."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy.server import PIPELINE, create_app
from tests.helpers import DATA, read_feed
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


def teaser_feed(base: str, paths: list[str]) -> bytes:
    items = "".join(
        f"<item><title>Story {i}</title><link>{base}{path}</link><guid>g{i}</guid>"
        f"<description>Teaser {i}: read more on the site.</description></item>"
        for i, path in enumerate(paths)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Teasers</title>'
        f"<link>{base}/</link><description>d</description>{items}</channel></rss>"
    ).encode()


def serve_story(upstream: Upstream) -> str:
    """One teaser feed whose item links to a real article page; returns the feed's URL."""
    article = (DATA / "articles" / "article.html").read_bytes()
    upstream.route("/story.html", article, content_type="text/html; charset=utf-8")
    return upstream.route("/teasers.xml", teaser_feed(upstream.base_url, ["/story.html"]))


def _body(entry: Any) -> str:
    """The item's content (content:encoded), else its description."""
    contents = entry.get("content") or [{"value": entry.get("description", "")}]
    return str(contents[0]["value"])


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, make_settings: Any) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(make_settings(**changes)))

    return build


async def test_adhoc_fulltext_replaces_content_and_keeps_summary(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = serve_story(upstream)
    client = await make_client()
    response = await client.get("/feed", params={"url": url, "fulltext": "1", "format": "atom"})
    assert response.status == 200
    entry = read_feed(await response.read()).entries[0]
    content = entry.content[0].value
    assert "MARKER-LEAD" in content
    assert "<script" not in content and "main-nav" not in content
    assert entry.summary.startswith("Teaser 0")
    assert "/img/" in content  # the article's images go through the proxy too
    # Without the flag the same feed is not full text.
    plain = read_feed(await (await client.get("/feed", params={"url": url})).read())
    assert "MARKER-LEAD" not in plain.entries[0].description


async def test_named_feed_fulltext_partial_then_complete(
    upstream: Upstream, make_client: MakeClient, tmp_path: Path
) -> None:
    article = (DATA / "articles" / "article.html").read_bytes()
    upstream.route("/fast.html", article, content_type="text/html")
    upstream.route("/slow.html", article, content_type="text/html", delay=0.8)
    url = upstream.route(
        "/teasers.xml", teaser_feed(upstream.base_url, ["/fast.html", "/slow.html"])
    )
    config = tmp_path / "feeds.toml"
    config.write_text(f'[[feeds]]\nname = "t"\nurl = "{url}"\nfulltext = true\n')
    client = await make_client(config=str(config), fulltext_budget=0.3)
    first = read_feed(await (await client.get("/feeds/t")).read())
    # Never truncated: both items are there; the slow one still has its teaser.
    assert [e.id for e in first.entries] == ["g0", "g1"]
    assert "MARKER-LEAD" in _body(first.entries[0])
    assert "MARKER-LEAD" not in _body(first.entries[1])
    pipeline = client.server.app[PIPELINE]
    while pipeline.fulltext.running:
        await asyncio.sleep(0.05)
    second = read_feed(await (await client.get("/feeds/t")).read())
    assert all("MARKER-LEAD" in _body(e) for e in second.entries)
    assert second.entries[1].description.startswith("Teaser 1")  # the summary stays
    third = await client.get("/feeds/t")
    assert upstream.hits["/slow.html"] == 1 and upstream.hits["/fast.html"] == 1
    assert third.status == 200

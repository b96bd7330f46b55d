"""Issue 9.4: amplification. Full text fetches a bounded number of articles per request, builds
run a few at a time, and limit=, format= or another Host never re-clean a cached feed."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

import proxy.pipeline.process
from proxy import clean
from proxy.builds import BuildSlots, default_slots
from proxy.clean import staged
from proxy.server import PIPELINE, create_app
from tests.helpers import DATA, read_feed
from tests.upstream import Upstream


def dated_feed(base: str, items: int, *, images: bool = False) -> bytes:
    parts = []
    for i in range(items):
        # Distinct dates, not in item order: the newest are spread through the feed.
        when = datetime(2024, 1, 1 + (i * 7) % 28, (i // 60) % 24, i % 60, tzinfo=UTC)
        image = f'<img src="{base}/img{i}.png">' if images else ""
        parts.append(
            f"<item><title>Story {i}</title><link>{base}/story{i}.html</link><guid>g{i}</guid>"
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
            f"<description>&lt;p&gt;Teaser {i}.{image}&lt;/p&gt;</description></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Many</title>'
        f"<link>{base}/</link><description>d</description>{''.join(parts)}</channel></rss>"
    ).encode()


async def test_fulltext_fetches_at_most_the_cap_newest_first(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    article = (DATA / "articles" / "article.html").read_bytes()
    items = 40
    for i in range(items):
        upstream.route(f"/story{i}.html", article, content_type="text/html; charset=utf-8")
    url = upstream.route("/many.xml", dated_feed(upstream.base_url, items))
    client = await aiohttp_client(create_app(make_settings(fulltext_max_articles=5)))
    response = await client.get("/feed", params={"url": url, "fulltext": "1"})
    assert response.status == 200
    fetched = {path for path in upstream.hits if path.startswith("/story")}
    assert len(fetched) == 5
    served = read_feed(await response.read())
    assert len(served.entries) == items  # nothing is missing
    entries = served.entries
    newest = sorted(range(items), key=lambda i: entries[i].published_parsed)[-5:]
    assert fetched == {f"/story{i}.html" for i in newest}
    for i, entry in enumerate(entries):
        text = str((entry.get("content") or [{"value": entry.description}])[0]["value"])
        if i in newest:
            assert "MARKER-LEAD" in text
        else:
            assert text == f"<p>Teaser {i}.</p>", text  # the feed's own content


async def test_new_limit_format_or_host_does_not_clean_again(
    upstream: Upstream,
    aiohttp_client: AiohttpClient,
    make_settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cleaned: list[int] = []
    real = clean.clean_items

    def counting(htmls: list[str], *args: Any, **kwargs: Any) -> Any:
        cleaned.append(len(htmls))
        return real(htmls, *args, **kwargs)

    monkeypatch.setattr(clean, "clean_items", counting)
    # The server cleans through the item cache, in steps (proxy/clean/staged.py).
    finish = staged.Staged.finish

    def counting_steps(self: staged.Staged, indices: Any, *args: Any, **kwargs: Any) -> Any:
        cleaned.append(len(indices))
        return finish(self, indices, *args, **kwargs)

    monkeypatch.setattr(staged.Staged, "finish", counting_steps)
    url = upstream.route("/many.xml", dated_feed(upstream.base_url, 300, images=True))
    client = await aiohttp_client(create_app(make_settings(public_url="")))
    bodies = {}
    for params, host in (
        ({}, "a.test"),
        ({"limit": "5"}, "a.test"),
        ({"limit": "10"}, "a.test"),
        ({"format": "atom"}, "a.test"),
        ({"limit": "7", "format": "atom"}, "b.test:8080"),
    ):
        response = await client.get("/feed", params={"url": url, **params}, headers={"Host": host})
        assert response.status == 200
        bodies[(params.get("limit"), params.get("format"), host)] = read_feed(await response.read())
    assert sum(cleaned) == 300  # every item cleaned once, for all five outputs
    assert len(bodies[("5", None, "a.test")].entries) == 5
    assert len(bodies[("10", None, "a.test")].entries) == 10
    other = bodies[("7", "atom", "b.test:8080")]
    assert len(other.entries) == 7
    html = other.entries[0].content[0].value
    assert "http://b.test:8080/img/" in html and "a.test" not in html
    assert "feedscrub.invalid" not in html
    # The newest are kept, as before: limit= picks by date.
    full = bodies[(None, None, "a.test")]
    newest = sorted(full.entries, key=lambda e: e.published_parsed)[-5:]
    assert {e.id for e in bodies[("5", None, "a.test")].entries} == {e.id for e in newest}


async def test_builds_run_at_most_max_builds_at_once(
    upstream: Upstream,
    aiohttp_client: AiohttpClient,
    make_settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    running = 0
    peak = 0
    lock = threading.Lock()
    real = proxy.pipeline.process.transform

    def slow_transform(*args: Any, **kwargs: Any) -> Any:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        try:
            time.sleep(0.3)  # long enough for the six requests to overlap without a cap
            return real(*args, **kwargs)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(proxy.pipeline.process, "transform", slow_transform)
    urls = [upstream.route(f"/f{i}.xml", dated_feed(upstream.base_url, 20)) for i in range(6)]
    client = await aiohttp_client(create_app(make_settings(max_builds=2)))
    responses = await asyncio.gather(*(client.get("/feed", params={"url": u}) for u in urls))
    assert [r.status for r in responses] == [200] * 6
    assert peak == 2  # two at once, the other four queued (not refused)
    assert client.server.app[PIPELINE].builds.peak <= 2  # type: ignore[attr-defined]


def test_default_build_slots_are_two_per_cpu() -> None:
    import os

    assert default_slots() == 2 * len(os.sched_getaffinity(0))
    assert BuildSlots(0).slots == default_slots()
    assert BuildSlots(3).slots == 3

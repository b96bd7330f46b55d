"""Full-text benchmark: a 100-item feed whose items all need their article fetched.

    python bench/fulltext.py                       # 100 items, 200 ms per article page
    python bench/fulltext.py --items 50 --latency 0.1

Article pages are served by an aiohttp server on 127.0.0.1 that waits ``--latency`` seconds
before each answer (a distant, slow site). Two feeds are measured with the default settings
(budget 10 s, 8 fetches overall, 2 per host):

- one host: every article on the same site (the usual feed), so the per-host limit of 2 rules;
- 20 hosts: an aggregator (names resolved to 127.0.0.1), so the overall limit of 8 rules.

For each: the time until ``fill`` answers (the reader's wait, at most the budget) and how many
items that answer has; the time until every item is filled (background fetches done); a
second ``fill`` served from the cache; and the same pages fetched and extracted one after the
other, the baseline whose ratio to "all filled" shows the concurrency. The event loop's
worst stall while filling is printed too: extraction runs in threads, so it stays small.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proxy import fetch  # noqa: E402
from proxy.config import Settings  # noqa: E402
from proxy.fulltext.decode import decode_html  # noqa: E402
from proxy.fulltext.extract import extract  # noqa: E402
from proxy.fulltext.filler import FullText  # noqa: E402
from proxy.models import Entry, Feed  # noqa: E402
from proxy.store import DiskStore  # noqa: E402

ARTICLE = (ROOT / "tests" / "data" / "articles" / "article.html").read_text(encoding="utf-8")


class LocalResolver(AbstractResolver):
    """Every name resolves to 127.0.0.1 (the bench's one server)."""

    def __init__(self, port: int) -> None:
        self.port = port

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port or self.port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        pass


async def start_server(latency: float) -> tuple[web.AppRunner, int]:
    async def article(request: web.Request) -> web.Response:
        await asyncio.sleep(latency)
        n = request.match_info["n"]
        # Each page differs, so nothing downstream can share work between them.
        body = ARTICLE.replace("MARKER-LEAD", f"MARKER-LEAD article {n}")
        return web.Response(text=body, content_type="text/html", charset="utf-8")

    app = web.Application()
    app.router.add_get("/a/{n}.html", article)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, listener, backlog=1024)
    await site.start()
    return runner, int(listener.getsockname()[1])


def make_feed(items: int, port: int, hosts: int) -> Feed:
    entries = tuple(
        Entry(
            guid=f"bench-{i}",
            guid_is_permalink=False,
            title=f"item {i}",
            link=f"http://site{i % hosts}.bench.test:{port}/a/{i}.html",
            summary=f"summary {i}",
            content=f"<p>feed content {i}</p>",
        )
        for i in range(items)
    )
    return Feed(
        kind="rss",
        source_url="http://bench.test/feed",
        title="bench",
        link="http://bench.test/",
        description="d",
        entries=entries,
    )


class LoopLag:
    """The longest the event loop was late to wake a 10 ms ticker."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            self.worst = max(self.worst, time.perf_counter() - started - 0.01)

    def __enter__(self) -> LoopLag:
        self._task = asyncio.ensure_future(self._tick())
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._task is not None:
            self._task.cancel()


async def scenario(port: int, items: int, hosts: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as cache_dir:
        settings = Settings(cache_dir=cache_dir, allow_private=True).validate()
        cache = DiskStore(cache_dir)
        session = fetch.new_session(settings, resolver=LocalResolver(port))
        engine = FullText(settings, session, cache)
        feed = make_feed(items, port, hosts)
        try:
            with LoopLag() as lag:
                started = time.perf_counter()
                first = await engine.fill(feed)  # the default budget
                answered = time.perf_counter() - started
                while engine.running:
                    await asyncio.sleep(0.005)
                complete = time.perf_counter() - started
            started = time.perf_counter()
            cached = await engine.fill(feed)
            from_cache = time.perf_counter() - started
            assert len(cached.filled) == items, (len(cached.filled), items)

            # Baseline: the same work (fetch, decode, extract) one page after the other.
            started = time.perf_counter()
            for entry in feed.entries:
                assert entry.link is not None
                result = await fetch.fetch(
                    session, entry.link, limits=fetch.Limits.of(settings), accept="text/html"
                )
                text = decode_html(result.body, result.content_type)
                assert await asyncio.to_thread(extract, text, result.url, site=None, selector=None)
            sequential = time.perf_counter() - started
        finally:
            await engine.close()
            await session.close()
            await cache.close()
    return {
        "answered": answered,
        "filled_at_answer": len(first.filled),
        "complete": complete,
        "from_cache": from_cache,
        "sequential": sequential,
        "loop_lag": lag.worst,
    }


async def main(items: int, latency: float) -> None:
    runner, port = await start_server(latency)
    defaults = Settings()
    print(
        f"full text: {items} items, {latency * 1000:.0f} ms per article page, "
        f"budget {defaults.fulltext_budget:g} s, {defaults.fulltext_concurrency} fetches overall, "
        f"{defaults.fulltext_per_host} per host"
    )
    try:
        for label, hosts in (("one host", 1), ("20 hosts", 20)):
            r = await scenario(port, items, hosts)
            print(f"\n{label}:")
            print(
                f"  first response (fill, default budget)  {r['answered']:6.2f} s   "
                f"{r['filled_at_answer']:.0f}/{items} items filled"
            )
            print(f"  every item filled (background done)    {r['complete']:6.2f} s")
            print(f"  second request, all from the cache     {r['from_cache'] * 1000:6.0f} ms")
            print(f"  same pages fetched one by one          {r['sequential']:6.2f} s")
            speedup = r["sequential"] / r["complete"]
            print(f"  speed-up over one by one               {speedup:6.1f}×")
            print(f"  worst event-loop stall while filling   {r['loop_lag'] * 1000:6.0f} ms")
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per article page")
    args = parser.parse_args()
    asyncio.run(main(args.items, args.latency))

"""feedscrub benchmarks: ratios against a baseline measured in the same run.

    python bench/run.py            # all three
    python bench/run.py --only a   # one of a, b, c

(a) cleaning + rendering cost per item (500 seed-like items) ÷ the floor of parsing and
    serialising the same item HTML with lxml.                         target ≤ 3×
(b) cached /feed requests per second at 50 concurrent connections ÷ a bare aiohttp handler
    returning the same bytes.                                         target ≥ 0.7
(c) peak RSS of the server process while it serves a 5,000-item feed. target ≤ 200 MB

Everything runs on 127.0.0.1: the upstream and the servers are started here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from lxml import html as lxml_html

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proxy import parse, rewrite  # noqa: E402
from proxy.models import FetchResult  # noqa: E402
from proxy.pipeline.process import build_output  # noqa: E402

SEED = (ROOT / "tests" / "data" / "seed" / "feedx-rfi-item.html").read_text(encoding="utf-8")


def short_seed() -> str:
    """The seed item with only its first two article paragraphs, all of its junk kept."""
    paragraphs = SEED.split("<p><span>")
    return "<p><span>".join(paragraphs[:3]) + "<p><span>" + paragraphs[-1].split("</p>", 1)[1]


def seed_like_feed(items: int, html: str = SEED) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>bench</title><link>https://bench.test/</link><description>d</description>"
    ]
    for i in range(items):
        # Vary the text so no cache or interning makes later items cheaper.
        item_html = html.replace("布林肯", f"布林肯{i}")
        parts.append(
            f"<item><title>item {i}</title><link>https://bench.test/{i}</link>"
            f'<guid isPermaLink="false">bench-{i}</guid>'
            f"<pubDate>Sun, 18 Jun 2023 23:50:00 GMT</pubDate>"
            f"<description><![CDATA[{item_html}]]></description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def _best(run: callable, repeat: int) -> float:  # type: ignore[valid-type]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def bench_a(items: int = 500, repeat: int = 5) -> dict[str, float]:
    body = seed_like_feed(items)
    feed = parse.parse(
        FetchResult(url="https://bench.test/feed", status=200, body=body, content_type="")
    )
    htmls = [e.summary or "" for e in feed.entries]
    policy = rewrite.ImagePolicy(mode="proxy", public_base="https://p.test", key=b"k" * 32)
    when = datetime.now(UTC)

    def floor() -> None:
        for html in htmls:
            root = lxml_html.fragment_fromstring(html, create_parent="div")
            lxml_html.tostring(root, encoding="unicode")

    def ours() -> None:
        build_output(feed, "rss", policy=policy, self_url="https://p.test/feed", fallback_date=when)

    floor_s = _best(floor, repeat)
    ours_s = _best(ours, repeat)
    return {
        "items": items,
        "floor_us_per_item": floor_s / items * 1e6,
        "feedscrub_us_per_item": ours_s / items * 1e6,
        "ratio": ours_s / floor_s,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _wait_up(url: str, deadline: float = 30) -> None:
    end = time.monotonic() + deadline
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < end:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never came up")


async def _load(url: str, concurrency: int, seconds: float) -> float:
    """Requests per second with `concurrency` connections hammering `url` for `seconds`."""
    done = 0
    end = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    # identity: both servers send the same uncompressed bytes, so the ratio compares
    # serving paths, not compression.
    headers = {"Accept-Encoding": "identity"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < end:
                async with session.get(url) as response:
                    await response.read()
                    assert response.status == 200, response.status
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.monotonic() - started)


# One fixed body on every path: the upstream for (b) and (c), and (b)'s bare baseline, which
# serves the bytes feedscrub served.
STATIC_SERVER = """
import sys
from aiohttp import web
body = open(sys.argv[2], 'rb').read()
async def handler(request):
    return web.Response(body=body, content_type='application/rss+xml', charset='utf-8')
app = web.Application()
app.router.add_get('/{tail:.*}', handler)
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)
"""


def _start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _feedscrub(port: int, cache: str, **extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FEEDSCRUB_HOST": "127.0.0.1",
        "FEEDSCRUB_PORT": str(port),
        "FEEDSCRUB_CACHE_DIR": cache,
        "FEEDSCRUB_ALLOW_PRIVATE": "true",
        "FEEDSCRUB_LOG_LEVEL": "WARNING",
        "FEEDSCRUB_TTL": "3600",
        **extra,
    }
    return _start([sys.executable, "-m", "proxy", "serve"], env)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def bench_b(seconds: float = 8.0, concurrency: int = 50) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        feed_file = Path(tmp) / "feed.xml"
        feed_file.write_bytes(seed_like_feed(20))
        up_port, proxy_port, bare_port = free_port(), free_port(), free_port()
        upstream = _start([sys.executable, "-c", STATIC_SERVER, str(up_port), str(feed_file)])
        proxy = _feedscrub(proxy_port, str(Path(tmp) / "cache"))
        try:
            await _wait_up(f"http://127.0.0.1:{up_port}/feed.xml")
            await _wait_up(f"http://127.0.0.1:{proxy_port}/healthz")
            feed_url = f"http://127.0.0.1:{proxy_port}/feed?url=http://127.0.0.1:{up_port}/feed.xml"
            async with aiohttp.ClientSession() as session, session.get(feed_url) as response:
                served = await response.read()
                assert response.status == 200, served[:200]
            served_file = Path(tmp) / "served.xml"
            served_file.write_bytes(served)
            bare = _start([sys.executable, "-c", STATIC_SERVER, str(bare_port), str(served_file)])
            try:
                await _wait_up(f"http://127.0.0.1:{bare_port}/x")
                # Alternate the two, best of three each: the machine is shared and noisy.
                bare_runs, ours_runs = [], []
                for _ in range(3):
                    bare_runs.append(
                        await _load(f"http://127.0.0.1:{bare_port}/x", concurrency, seconds / 3)
                    )
                    ours_runs.append(await _load(feed_url, concurrency, seconds / 3))
                bare_rps, ours_rps = max(bare_runs), max(ours_runs)
            finally:
                bare.terminate()
                bare.wait()
        finally:
            proxy.terminate()
            upstream.terminate()
            proxy.wait()
            upstream.wait()
    return {
        "concurrency": concurrency,
        "bytes": len(served),
        "bare_rps": bare_rps,
        "feedscrub_rps": ours_rps,
        "ratio": ours_rps / bare_rps,
    }


async def bench_c(items: int = 5000) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        feed_file = Path(tmp) / "feed.xml"
        # Short seed-like items (2 paragraphs + all of the seed's junk, ~3 KB): 5,000 of the
        # full 8 KB seed would be 41 MB. Even so the feed is ~15 MB, over the default 10 MB
        # body limit, which this run raises to 32 MB.
        feed_file.write_bytes(seed_like_feed(items, short_seed()))
        upstream_mb = feed_file.stat().st_size / 1e6
        up_port, proxy_port = free_port(), free_port()
        upstream = _start([sys.executable, "-c", STATIC_SERVER, str(up_port), str(feed_file)])
        proxy = _feedscrub(
            proxy_port, str(Path(tmp) / "cache"), FEEDSCRUB_MAX_BODY_BYTES=str(32 * 1024 * 1024)
        )
        try:
            await _wait_up(f"http://127.0.0.1:{up_port}/feed.xml")
            await _wait_up(f"http://127.0.0.1:{proxy_port}/healthz")
            idle = peak_rss_mb(proxy.pid)
            feed_url = f"http://127.0.0.1:{proxy_port}/feed?url=http://127.0.0.1:{up_port}/feed.xml"
            started = time.monotonic()
            timeout = aiohttp.ClientTimeout(total=600)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                for fmt in ("rss", "atom"):
                    async with session.get(feed_url + f"&format={fmt}") as response:
                        body = await response.read()
                        assert response.status == 200, body[:200]
            elapsed = time.monotonic() - started
            peak = peak_rss_mb(proxy.pid)
        finally:
            proxy.terminate()
            upstream.terminate()
            proxy.wait()
            upstream.wait()
    return {
        "items": items,
        "upstream_mb": upstream_mb,
        "idle_rss_mb": idle,
        "peak_rss_mb": peak,
        "seconds_for_both_formats": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("a", "b", "c"))
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    if args.only in (None, "a"):
        a = bench_a()
        print(
            f"(a) clean+render {a['feedscrub_us_per_item']:.0f} µs/item vs lxml parse+serialise "
            f"{a['floor_us_per_item']:.0f} µs/item over {a['items']} items: "
            f"ratio {a['ratio']:.2f}× (target ≤ 3×)"
        )
    if args.only in (None, "b"):
        b = asyncio.run(bench_b())
        print(
            f"(b) cached /feed {b['feedscrub_rps']:.0f} req/s "
            f"vs bare aiohttp {b['bare_rps']:.0f} req/s "
            f"at {b['concurrency']} connections ({b['bytes']} bytes): "
            f"ratio {b['ratio']:.2f} (target ≥ 0.7)"
        )
    if args.only in (None, "c"):
        c = asyncio.run(bench_c())
        print(
            f"(c) {c['items']}-item feed ({c['upstream_mb']:.0f} MB upstream): "
            f"server peak RSS {c['peak_rss_mb']:.0f} MB (idle {c['idle_rss_mb']:.0f} MB; "
            f"both formats in {c['seconds_for_both_formats']:.1f} s) "
            f"(target ≤ 200 MB)"
        )


if __name__ == "__main__":
    main()

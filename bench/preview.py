"""The preview page's load time for a 100-item feed, against serving the same feed.

    python bench/preview.py [--items 100] [--rounds 5]

Starts a static upstream and `feedscrub serve` on 127.0.0.1 (free ports), warms the cache
with one /feed request, then measures, best of --rounds each:

  (a) GET /preview?url=… over HTTP (cached body: parse, filters, clean with marking, page)
  (b) the baseline: a cold /feed build of the same body in this process (parse, filters,
      clean, render: what a cache miss costs serving), so (a) ÷ (b) is the preview's price
  (c) the page in headless Chromium (Debian's /usr/bin/chromium), navigation start to the
      load event (images come through the proxy), when Chromium is installed
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import STATIC_SERVER, feedscrub, free_port, seed_like_feed, start, wait_up  # noqa: E402

from proxy import parse, rewrite  # noqa: E402
from proxy.models import FetchResult  # noqa: E402
from proxy.pipeline.process import build_output  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


def cold_build(body: bytes) -> float:
    started = time.perf_counter()
    feed = parse.parse(
        FetchResult(url="http://up.test/feed.xml", status=200, body=body, content_type="")
    )
    policy = rewrite.ImagePolicy(mode="proxy", public_base="http://p.test", key=b"k" * 32)
    build_output(
        feed, "rss", policy=policy, self_url="http://p.test/feed", fallback_date=datetime.now(UTC)
    )
    return time.perf_counter() - started


def browser_load(url: str, rounds: int) -> list[float]:
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    )
    try:
        times = []
        for _ in range(rounds):
            driver.get(url)
            ms = driver.execute_script(
                "const t = performance.getEntriesByType('navigation')[0];"
                "return t.loadEventEnd - t.startTime;"
            )
            times.append(float(ms) / 1000)
        return times
    finally:
        driver.quit()


async def main(items: int, rounds: int) -> None:
    body = seed_like_feed(items)
    with tempfile.TemporaryDirectory() as tmp:
        feed_file = Path(tmp) / "feed.xml"
        feed_file.write_bytes(body)
        up_port, proxy_port = free_port(), free_port()
        upstream = start([sys.executable, "-c", STATIC_SERVER, str(up_port), str(feed_file)])
        proxy = feedscrub(proxy_port, str(Path(tmp) / "cache"))
        try:
            await wait_up(f"http://127.0.0.1:{up_port}/feed.xml")
            await wait_up(f"http://127.0.0.1:{proxy_port}/healthz")
            upstream_url = f"http://127.0.0.1:{up_port}/feed.xml"
            base = f"http://127.0.0.1:{proxy_port}"
            preview = f"{base}/preview?url={quote(upstream_url, safe='')}"
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{base}/feed?url={quote(upstream_url, safe='')}") as r:
                    assert r.status == 200, await r.text()
                page_times, size = [], 0
                for _ in range(rounds):
                    started = time.perf_counter()
                    async with session.get(preview) as r:
                        page = await r.read()
                        assert r.status == 200, page[:300]
                    page_times.append(time.perf_counter() - started)
                    size = len(page)
            build_times = [cold_build(body) for _ in range(rounds)]
            load_times: list[float] = []
            if CHROMIUM.exists() and CHROMEDRIVER.exists():
                load_times = await asyncio.to_thread(browser_load, preview, rounds)
        finally:
            proxy.terminate()
            upstream.terminate()
            proxy.wait()
            upstream.wait()
    page_s, build_s = min(page_times), min(build_times)
    print(f"feed: {items} seed-like items, {len(body):,} bytes; page {size:,} bytes")
    print(
        f"(a) GET /preview (cached body)   best {page_s * 1000:7.1f} ms  "
        f"median {statistics.median(page_times) * 1000:7.1f} ms"
    )
    print(f"(b) cold /feed build (baseline)  best {build_s * 1000:7.1f} ms")
    print(f"    ratio (a)/(b)                {page_s / build_s:7.2f}x")
    if load_times:
        print(
            f"(c) Chromium load event          best {min(load_times) * 1000:7.1f} ms  "
            f"median {statistics.median(load_times) * 1000:7.1f} ms"
        )
    else:
        print("(c) skipped: /usr/bin/chromium or /usr/bin/chromedriver missing")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.items, args.rounds))

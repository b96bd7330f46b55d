"""Memory after many distinct dead feed URLs (issue 9.3): 60,000 URLs that answer 404.

    python bench/memory_404.py            # 60,000 URLs, 50 at a time
    python bench/memory_404.py --urls 20000

A fresh feedscrub server asks a local upstream that answers 404 to everything. The server's
RSS is read after the first 10,000 URLs (the baseline: the negative cache holds 10,000 at
most, so it is full by then) and after all of them; a bounded server stops growing there.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import feedscrub, free_port, start, wait_up  # noqa: E402

NOT_FOUND_SERVER = """
import sys
from aiohttp import web
async def handler(request):
    return web.Response(status=404, text='gone')
app = web.Application()
app.router.add_get('/{tail:.*}', handler)
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def ask(base: str, upstream: str, first: int, count: int, concurrency: int) -> None:
    queue = iter(range(first, first + count))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for i in queue:
                url = f"{upstream}/dead/{i}/feed.xml?token={i:08d}"
                async with session.get(base, params={"url": url}) as response:
                    await response.read()
                    assert response.status == 502, response.status

        await asyncio.gather(*(worker() for _ in range(concurrency)))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--urls", type=int, default=60_000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    baseline_urls = min(10_000, args.urls)
    with tempfile.TemporaryDirectory() as tmp:
        up_port, proxy_port = free_port(), free_port()
        upstream = start([sys.executable, "-c", NOT_FOUND_SERVER, str(up_port)])
        proxy = feedscrub(proxy_port, str(Path(tmp) / "cache"), FEEDSCRUB_NEGATIVE_TTL="3600")
        try:
            await wait_up(f"http://127.0.0.1:{proxy_port}/healthz")
            base = f"http://127.0.0.1:{proxy_port}/feed"
            up = f"http://127.0.0.1:{up_port}"
            idle = rss_mb(proxy.pid)
            started = time.monotonic()
            await ask(base, up, 0, baseline_urls, args.concurrency)
            after_baseline = rss_mb(proxy.pid)
            await ask(base, up, baseline_urls, args.urls - baseline_urls, args.concurrency)
            after_all = rss_mb(proxy.pid)
            elapsed = time.monotonic() - started
        finally:
            proxy.terminate()
            upstream.terminate()
            proxy.wait()
            upstream.wait()
    print(f"idle RSS {idle:.0f} MB")
    print(f"after {baseline_urls:,} distinct 404 URLs: {after_baseline:.0f} MB")
    print(
        f"after {args.urls:,} distinct 404 URLs: {after_all:.0f} MB "
        f"(+{after_all - after_baseline:.0f} MB over the baseline, "
        f"+{after_all - idle:.0f} MB over idle; {elapsed:.0f} s)"
    )


if __name__ == "__main__":
    asyncio.run(main())

"""A cached 100,000-item feed asked with a new limit=, format= or Host (issue 9.4): each
against the first build of the same feed, in the same run.

    python bench/relimit.py            # 100,000 items
    python bench/relimit.py --items 20000

The first request fetches, parses, cleans and renders; the later ones find the cleaned items
kept and only cut and render them (before, each one cleaned every item again: 14.7 s).
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

from harness import STATIC_SERVER, feedscrub, free_port, start, wait_up  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.helpers import big_feed  # noqa: E402 (the feed the reliability test uses)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        feed_file = Path(tmp) / "feed.xml"
        feed_file.write_bytes(big_feed(args.items))
        up_port, proxy_port = free_port(), free_port()
        upstream = start([sys.executable, "-c", STATIC_SERVER, str(up_port), str(feed_file)])
        proxy = feedscrub(
            proxy_port,
            str(Path(tmp) / "cache"),
            FEEDSCRUB_MAX_BODY_BYTES=str(64 * 1024 * 1024),
            FEEDSCRUB_PUBLIC_URL="",
        )
        try:
            await wait_up(f"http://127.0.0.1:{up_port}/x.xml")
            await wait_up(f"http://127.0.0.1:{proxy_port}/healthz")
            url = f"http://127.0.0.1:{proxy_port}/feed"
            feed = f"http://127.0.0.1:{up_port}/big.xml"
            timeout = aiohttp.ClientTimeout(total=1800)
            async with aiohttp.ClientSession(timeout=timeout) as session:

                async def timed(params: dict[str, str], host: str = "a.test") -> float:
                    started = time.monotonic()
                    async with session.get(
                        url, params={"url": feed, **params}, headers={"Host": host}
                    ) as response:
                        await response.read()
                        assert response.status == 200, response.status
                    return time.monotonic() - started

                first = await timed({})
                print(f"{args.items:,} items, first request (fetch, clean, render): {first:.1f} s")
                for label, params, host in (
                    ("limit=10", {"limit": "10"}, "a.test"),
                    ("limit=500", {"limit": "500"}, "a.test"),
                    ("format=atom", {"format": "atom"}, "a.test"),
                    ("another Host", {}, "b.test"),
                ):
                    seconds = await timed(params, host)
                    print(f"  {label:<13} {seconds:6.2f} s  ({seconds / first:.2f}× the first)")
        finally:
            proxy.terminate()
            upstream.terminate()
            proxy.wait()
            upstream.wait()


if __name__ == "__main__":
    asyncio.run(main())

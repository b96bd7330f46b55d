"""Peak memory of concurrent big builds (issue 9.4): six distinct 9 MB feeds asked at once.

    python bench/builds.py              # one alone, six uncapped, six at the default cap
    python bench/builds.py --mb 9 --feeds 6

Each run starts a fresh feedscrub server (its own cache) and reports the server's peak RSS
(VmHWM). The baseline, in the same run, is one 9 MB build alone and six with the cap lifted
(FEEDSCRUB_MAX_BUILDS=6); the target is ≤ 1 GB for six at once at the default cap.
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

from harness import (
    STATIC_SERVER,
    feedscrub,
    free_port,
    peak_rss_mb,
    seed_like_feed,
    short_seed,
    start,
    wait_up,
)  # noqa: E402


def feed_of(mb: float) -> bytes:
    per_item = len(seed_like_feed(10, short_seed())) / 10
    return seed_like_feed(int(mb * 1e6 / per_item), short_seed())


async def one_run(feed_file: Path, feeds: int, **env: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        up_port, proxy_port = free_port(), free_port()
        upstream = start([sys.executable, "-c", STATIC_SERVER, str(up_port), str(feed_file)])
        proxy = feedscrub(proxy_port, str(Path(tmp) / "cache"), **env)
        try:
            await wait_up(f"http://127.0.0.1:{up_port}/x.xml")
            await wait_up(f"http://127.0.0.1:{proxy_port}/healthz")
            idle = peak_rss_mb(proxy.pid)
            base = f"http://127.0.0.1:{proxy_port}/feed?url=http://127.0.0.1:{up_port}"
            timeout = aiohttp.ClientTimeout(total=1800)
            started = time.monotonic()
            async with aiohttp.ClientSession(timeout=timeout) as session:

                async def get(i: int) -> int:
                    async with session.get(f"{base}/feed{i}.xml") as response:
                        await response.read()
                        return response.status

                statuses = await asyncio.gather(*(get(i) for i in range(feeds)))
            elapsed = time.monotonic() - started
            assert statuses == [200] * feeds, statuses
            peak = peak_rss_mb(proxy.pid)
        finally:
            proxy.terminate()
            upstream.terminate()
            proxy.wait()
            upstream.wait()
    return {"idle_mb": idle, "peak_mb": peak, "seconds": elapsed}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=9.0)
    parser.add_argument("--feeds", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        feed_file = Path(tmp) / "feed.xml"
        feed_file.write_bytes(feed_of(args.mb))
        size = feed_file.stat().st_size / 1e6
        print(f"feed: {size:.1f} MB; {args.feeds} distinct URLs asked at once")
        alone = await one_run(feed_file, 1)
        print(f"one build alone:        peak {alone['peak_mb']:.0f} MB ({alone['seconds']:.0f} s)")
        uncapped = await one_run(feed_file, args.feeds, FEEDSCRUB_MAX_BUILDS=str(args.feeds))
        print(
            f"{args.feeds} at once, uncapped:  peak {uncapped['peak_mb']:.0f} MB "
            f"({uncapped['seconds']:.0f} s)"
        )
        capped = await one_run(feed_file, args.feeds)
        print(
            f"{args.feeds} at once, default:   peak {capped['peak_mb']:.0f} MB "
            f"({capped['seconds']:.0f} s); {capped['peak_mb'] / uncapped['peak_mb']:.2f}× "
            f"uncapped, target ≤ 1024 MB"
        )


if __name__ == "__main__":
    asyncio.run(main())

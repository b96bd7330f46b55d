"""Bounded load test: 500 concurrent connections for 30 s over 50 feeds, failing upstreams mixed in.

    python bench/load.py                       # 3 rounds of 30 s, 500 connections
    python bench/load.py --seconds 10 --rounds 2 --connections 200

Loopback only, fixed count and time: an upstream server (50 feeds; 10 of them start failing
with 500 after their first good answer, 3 never work) and a feedscrub server, both started
here as subprocesses; then a client keeps N connections busy for the given time. A short TTL
(5 s) makes feedscrub revalidate during the run, so the failing upstreams are really asked.

Prints per round: requests/s, latency p50/p99, status counts by feed kind, and the server's
RSS after the round. Pass criteria (printed, not asserted): zero 5xx for feeds that have a
cached copy, and no RSS growth from round 2 on.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import feedscrub, free_port, seed_like_feed, short_seed, start, wait_up  # noqa: E402

UPSTREAM = """
import sys
from aiohttp import web
body = open(sys.argv[2], 'rb').read()
seen = set()
async def handler(request):
    n = int(request.match_info['n'])
    if n >= 47:                       # never worked: nothing cached, errors expected
        return web.Response(status=503, text='down')
    if n >= 37 and n in seen:         # worked once, then fails: stale copies expected
        return web.Response(status=500, text='broken')
    seen.add(n)
    return web.Response(body=body, content_type='application/rss+xml')
app = web.Application()
app.router.add_get('/feed{n}.xml', handler)
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)
"""


def kind(n: int) -> str:
    return "never-worked" if n >= 47 else "fails-after-first" if n >= 37 else "healthy"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def round_(base: str, up: str, connections: int, seconds: float) -> dict[str, object]:
    statuses: dict[str, Counter[int]] = {
        k: Counter() for k in ("healthy", "fails-after-first", "never-worked")
    }
    latencies: list[float] = []
    end = time.monotonic() + seconds
    rng = random.Random(1)
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def worker() -> None:
            while time.monotonic() < end:
                n = rng.randrange(50)
                started = time.monotonic()
                try:
                    async with session.get(
                        f"{base}/feed", params={"url": f"{up}/feed{n}.xml"}
                    ) as r:
                        await r.read()
                        statuses[kind(n)][r.status] += 1
                except aiohttp.ClientError:
                    statuses[kind(n)][0] += 1
                latencies.append(time.monotonic() - started)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "statuses": {k: dict(v) for k, v in statuses.items()},
    }


async def main(connections: int, seconds: float, rounds: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 8192)), hard))
    with tempfile.TemporaryDirectory() as tmp:
        feed_file = Path(tmp) / "feed.xml"
        feed_file.write_bytes(seed_like_feed(30, short_seed()))
        up_port, proxy_port = free_port(), free_port()
        upstream = start([sys.executable, "-c", UPSTREAM, str(up_port), str(feed_file)])
        proxy = feedscrub(
            proxy_port,
            str(Path(tmp) / "cache"),
            FEEDSCRUB_TTL="5",
            FEEDSCRUB_STALE_WHILE_REVALIDATE="0",
        )
        try:
            up = f"http://127.0.0.1:{up_port}"
            base = f"http://127.0.0.1:{proxy_port}"
            await wait_up(f"{up}/feed0.xml")
            await wait_up(f"{base}/healthz")
            async with aiohttp.ClientSession() as session:  # warm: one good copy of each
                for n in range(50):
                    async with session.get(
                        f"{base}/feed", params={"url": f"{up}/feed{n}.xml"}
                    ) as r:
                        await r.read()
            print(
                f"machine: {os.cpu_count()} cores; {connections} connections, {seconds:.0f} s "
                f"x {rounds} rounds; server RSS after warm-up {rss_mb(proxy.pid):.0f} MB"
            )
            memory = []
            for i in range(rounds):
                result = await round_(base, up, connections, seconds)
                memory.append(rss_mb(proxy.pid))
                cached_5xx = sum(
                    count
                    for k in ("healthy", "fails-after-first")
                    for status, count in result["statuses"][k].items()  # type: ignore[index]
                    if status >= 500 or status == 0
                )
                print(
                    f"round {i + 1}: {result['rps']:.0f} req/s, p50 {result['p50_ms']:.0f} ms, "
                    f"p99 {result['p99_ms']:.0f} ms, 5xx on cached feeds: {cached_5xx}, "
                    f"statuses {result['statuses']}, server RSS {memory[-1]:.0f} MB"
                )
            growth = memory[-1] - memory[1] if len(memory) > 1 else 0.0
            print(f"RSS growth from round 2 to round {rounds}: {growth:+.1f} MB")
        finally:
            proxy.terminate()
            upstream.terminate()
            proxy.wait()
            upstream.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.connections, args.seconds, args.rounds))

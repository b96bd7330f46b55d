"""Issue 15's targets 4 and 5, measured: cached serving against a bare aiohttp handler, peak
memory of a big build and the event loop's longest wait during one (``run.py`` prints
them). Each function starts and stops its own servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (  # noqa: E402
    Servers,
    bare_server,
    cpu_ns,
    free_port,
    get_ok,
    median,
    peak_rss_mb,
    seed_like_feed,
    short_seed,
    stop,
    wait_up,
)


async def _load_cpu(url: str, pid: int, concurrency: int, requests: int) -> tuple[float, float]:
    """(server CPU s per request, requests per second) for ``requests`` requests to ``url``
    over ``concurrency`` connections."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    # identity: both servers send the same uncompressed bytes, so the ratio compares
    # serving paths, not compression.
    headers = {"Accept-Encoding": "identity"}
    left = requests
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                async with session.get(url) as response:
                    await response.read()
                    assert response.status == 200, response.status

        cpu, started = cpu_ns(pid), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
        return (cpu_ns(pid) - cpu) / 1e9 / requests, requests / wall


# Headers aiohttp writes itself on both sides (the bare handler's Date and Server are its own).
_OWN_HEADERS = frozenset({"date", "server", "content-length"})


async def bench_4(rounds: int = 5, requests: int = 3000, concurrency: int = 50) -> dict[str, float]:
    """Like with like: the bare handler answers the same request (path and query) with the
    same bytes and the same response headers (captured from feedscrub's own answer), both
    uncompressed (``_load_cpu``), in alternating rounds."""
    with tempfile.TemporaryDirectory() as tmp:
        async with Servers(Path(tmp), seed_like_feed(20)) as servers:
            feed_url = servers.feed_url()
            async with (
                aiohttp.ClientSession() as session,
                session.get(feed_url, headers={"Accept-Encoding": "identity"}) as response,
            ):
                served = await response.read()
                assert response.status == 200, response.status
                head = {
                    name: value
                    for name, value in response.headers.items()
                    if name.lower() not in _OWN_HEADERS
                }
            served_file, head_file = Path(tmp) / "served.xml", Path(tmp) / "headers.json"
            served_file.write_bytes(served)
            head_file.write_text(json.dumps(head))
            bare_port = free_port()
            bare = bare_server(bare_port, served_file, head_file)
            bare_url = f"http://127.0.0.1:{bare_port}" + feed_url.split(str(servers.port), 1)[1]
            try:
                await wait_up(bare_url)
                # Warm both (connections, first-use costs), then alternate rounds.
                await _load_cpu(bare_url, bare.pid, concurrency, 500)
                await _load_cpu(feed_url, servers.proxy.pid, concurrency, 500)
                ratios, bare_cpu, ours_cpu, bare_rps, ours_rps = [], [], [], [], []
                for _ in range(rounds):
                    b_cpu, b_rps = await _load_cpu(bare_url, bare.pid, concurrency, requests)
                    o_cpu, o_rps = await _load_cpu(
                        feed_url, servers.proxy.pid, concurrency, requests
                    )
                    ratios.append(b_cpu / o_cpu)
                    bare_cpu.append(b_cpu)
                    ours_cpu.append(o_cpu)
                    bare_rps.append(b_rps)
                    ours_rps.append(o_rps)
            finally:
                stop(bare)
    return {
        "bytes": len(served),
        "headers": len(head),
        "concurrency": concurrency,
        "bare_us": median(bare_cpu) * 1e6,
        "ours_us": median(ours_cpu) * 1e6,
        "ratio": median(ratios),
        "rps_ratio": median(ours_rps) / median(bare_rps),
    }


async def _probe(url: str, stop_when: asyncio.Event, period: float = 0.005) -> list[float]:
    """Wall seconds of each /healthz answer, asked every ``period`` until ``stop_when``."""
    waits = []
    async with aiohttp.ClientSession() as session:
        while not stop_when.is_set():
            started = time.perf_counter()
            async with session.get(url) as response:
                await response.read()
            waits.append(time.perf_counter() - started)
            await asyncio.sleep(period)
    return waits


async def bench_5_loop(items: int = 5000) -> dict[str, float]:
    """The longest /healthz wait while a 5,000-item feed is built (and, as the older (c),
    the peak RSS of building it in both formats)."""
    with tempfile.TemporaryDirectory() as tmp:
        body = seed_like_feed(items, short_seed())
        env = {"FEEDSCRUB_MAX_BODY_BYTES": str(64 * 1024 * 1024)}
        async with Servers(Path(tmp), body, **env) as servers:
            health = f"http://127.0.0.1:{servers.port}/healthz"
            idle_stop = asyncio.Event()
            idle_task = asyncio.create_task(_probe(health, idle_stop))
            await asyncio.sleep(2)
            idle_stop.set()
            idle = await idle_task
            done = asyncio.Event()
            prober = asyncio.create_task(_probe(health, done))
            timeout = aiohttp.ClientTimeout(total=900)
            started = time.perf_counter()
            async with aiohttp.ClientSession(timeout=timeout) as session:
                await get_ok(session, servers.feed_url() + "&format=rss")
                build_s = time.perf_counter() - started
                await get_ok(session, servers.feed_url() + "&format=atom")
            done.set()
            waits = await prober
            peak = peak_rss_mb(servers.proxy.pid)
    waits.sort()
    return {
        "items": items,
        "mb": len(body) / 1e6,
        "max_wait_ms": waits[-1] * 1e3,
        "p99_wait_ms": waits[int(len(waits) * 0.99)] * 1e3,
        "idle_max_ms": max(idle) * 1e3,
        "probes": len(waits),
        "build_s": build_s,
        "peak_mb": peak,
    }


async def bench_5_rss(items: int = 20000) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        body = seed_like_feed(items)
        raw_mb = len(body) / 2**20
        env = {"FEEDSCRUB_MAX_BODY_BYTES": str(len(body) + 2**20)}
        async with Servers(Path(tmp), body, **env) as servers:
            del body
            idle = peak_rss_mb(servers.proxy.pid)
            timeout = aiohttp.ClientTimeout(total=1800)
            started = time.perf_counter()
            async with aiohttp.ClientSession(timeout=timeout) as session:
                await get_ok(session, servers.feed_url())
            elapsed = time.perf_counter() - started
            peak = peak_rss_mb(servers.proxy.pid)
    budget = 2 * raw_mb + 80
    return {
        "items": items,
        "raw_mb": raw_mb,
        "idle_mb": idle,
        "peak_mb": peak,
        "budget_mb": budget,
        "ratio": peak / budget,
        "seconds": elapsed,
    }

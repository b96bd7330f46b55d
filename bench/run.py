"""feedscrub benchmarks: every target of issue 15 as measured/target, in one run.

    python bench/run.py                   # 1-5 (2 against morss when bench/.peers/morss exists)
    python bench/run.py --compare-morss   # install morss as a peer first if need be
    python bench/run.py --only 3          # one of 1 2 3 4 5 (or the older a b c)
    python bench/run.py --repeat 3        # repeats per median (default 5)

1. Cold, all-in: server CPU for the first request of a 500-item seed-like feed, per item,
   ÷ the floor (lxml parse of the feed + lxml.html parse and serialise of each item).  ≤ 3×
   Context: the same with every rule pack off.
2. Cold first response (wall) of a 100-item seed-like feed through the server ÷ morss's,
   interleaved, same bytes from the same local upstream.                              ≤ 1×
   Context: the same with every rule pack off (what the pipeline costs besides cleaning).
3. Refresh: server CPU to rebuild after 1 of 100 items changed upstream ÷ a cold build.  ≤ 5 %
   Context: the same request when nothing changed, and the build alone in process.
4. Warm: bare aiohttp handler CPU per request ÷ feedscrub's for cached requests of the same
   bytes, interleaved rounds at 50 connections.                                       ≥ 0.9×
5. Memory and the event loop: peak RSS at 20,000 items ÷ (2 × the raw body + 80 MB), ≤ 1;
   the longest /healthz wait while a 5,000-item build runs.                           ≤ 50 ms
(a) the older in-process clean+render ratio, printed as context with 1.

Server CPU is read from /proc (every thread, ns), so the client's own work is not counted.
Everything runs on 127.0.0.1: the upstream and the servers are started here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
from lxml import etree
from lxml import html as lxml_html

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (  # noqa: E402
    NOISE,
    ROOT,
    SEED,
    bare_server,
    cpu_ns,
    feedscrub,
    free_port,
    median,
    peak_rss_mb,
    seed_like_feed,
    short_seed,
    static_server,
    stop,
    wait_up,
)

sys.path.insert(0, str(ROOT))
from proxy import parse, rewrite  # noqa: E402
from proxy.models import FetchResult  # noqa: E402
from proxy.pipeline.process import build_output  # noqa: E402

Row = tuple[str, str]  # (label, "measured / target" text)


def _times(run: Callable[[], object], repeat: int) -> list[float]:
    """CPU seconds of this process per run."""
    out = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        out.append(time.process_time() - started)
    return out


def floor_per_item(body: bytes, repeat: int) -> float:
    """The floor of issue 15, µs per item: lxml parse of the feed + lxml.html parse and
    serialise of each item's HTML (taken from the parsed tree, as a same-format path would)."""
    items = len(etree.fromstring(body).findall("channel/item"))

    def floor() -> None:
        root = etree.fromstring(body)
        for description in root.iterfind("channel/item/description"):
            fragment = lxml_html.fragment_fromstring(description.text or "", create_parent="div")
            lxml_html.tostring(fragment, encoding="unicode")

    return median(_times(floor, repeat)) / items * 1e6


def bench_a(items: int = 500, repeat: int = 5) -> dict[str, float]:
    """(a) in process: clean + rewrite + sanitise + render (no parse, no gzip) per item ÷
    lxml parsing and serialising the same item HTML."""
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
        build_output(
            feed,
            "rss",
            policy=policy,
            self_url="https://p.test/feed",
            fallback_date=when,
            body=body,
        )

    floor_s, ours_s = median(_times(floor, repeat)), median(_times(ours, repeat))
    return {
        "floor_us_per_item": floor_s / items * 1e6,
        "feedscrub_us_per_item": ours_s / items * 1e6,
        "ratio": ours_s / floor_s,
    }


class Servers:
    """A local upstream serving ``feed.xml`` (rewritten to change it) and a feedscrub server."""

    def __init__(self, tmp: Path, body: bytes, **env: str) -> None:
        self.feed_file = tmp / "feed.xml"
        self.feed_file.write_bytes(body)
        self.up_port, self.port = free_port(), free_port()
        self.upstream = static_server(self.up_port, self.feed_file)
        self.proxy = feedscrub(self.port, str(tmp / "cache"), **env)

    async def __aenter__(self) -> Servers:
        await wait_up(f"http://127.0.0.1:{self.up_port}/feed.xml")
        await wait_up(f"http://127.0.0.1:{self.port}/healthz")
        return self

    async def __aexit__(self, *exc: object) -> None:
        stop(self.proxy, self.upstream)

    def upstream_url(self, tag: str = "") -> str:
        return f"http://127.0.0.1:{self.up_port}/feed.xml" + (f"?run={tag}" if tag else "")

    def feed_url(self, tag: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/feed?url={self.upstream_url(tag)}"

    def change(self, body: bytes) -> None:
        # Write then rename: the upstream never serves half a file.
        part = self.feed_file.with_suffix(".part")
        part.write_bytes(body)
        part.replace(self.feed_file)


async def _get(session: aiohttp.ClientSession, url: str) -> bytes:
    async with session.get(url) as response:
        body = await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status} {body[:200]!r}")
        return body


async def _cpu_of_request(
    session: aiohttp.ClientSession, pid: int, url: str
) -> tuple[float, float, bytes]:
    """(server CPU s, wall s, body) of one request."""
    cpu, wall = cpu_ns(pid), time.perf_counter()
    body = await _get(session, url)
    return (cpu_ns(pid) - cpu) / 1e9, time.perf_counter() - wall, body


# Every rule pack off (the packs list empty): what the pipeline costs besides the rules, so
# targets 1 and 2 can be read against the floor and a peer that clean nothing (context).
RULES_OFF = "[defaults]\nrules = []\n"


async def _cold_cpus(
    tmp: Path, body: bytes, repeat: int, **env: str
) -> tuple[list[float], list[float]]:
    """Server CPU and wall seconds of ``repeat`` cold requests (new upstream URLs)."""
    async with Servers(tmp, body, **env) as servers, aiohttp.ClientSession() as session:
        # One cold build first: imports and compiled patterns load on first use.
        await _get(session, servers.feed_url("warmup"))
        cpus, walls = [], []
        for run in range(repeat):
            cpu, wall, _ = await _cpu_of_request(
                session, servers.proxy.pid, servers.feed_url(str(run))
            )
            cpus.append(cpu)
            walls.append(wall)
    return cpus, walls


async def bench_1(items: int = 500, repeat: int = 5) -> dict[str, float]:
    body = seed_like_feed(items)
    with tempfile.TemporaryDirectory() as tmp:
        cpus, walls = await _cold_cpus(Path(tmp), body, repeat)
        rules_off = Path(tmp) / "rules-off.toml"
        rules_off.write_text(RULES_OFF, encoding="utf-8")
        (Path(tmp) / "off").mkdir()
        off, _ = await _cold_cpus(Path(tmp) / "off", body, repeat, FEEDSCRUB_CONFIG=str(rules_off))
    ours = median(cpus) / items * 1e6
    floor = floor_per_item(body, repeat)
    return {
        "items": items,
        "floor_us": floor,
        "ours_us": ours,
        "ratio": ours / floor,
        "wall_ms": median(walls) * 1e3,
        "rules_off_us": median(off) / items * 1e6,
    }


async def bench_2(
    items: int = 100, repeat: int = 5, morss: bool = False, html: str = SEED
) -> dict[str, float]:
    import peer_morss

    with tempfile.TemporaryDirectory() as tmp:
        rules_off = Path(tmp) / "rules-off.toml"
        rules_off.write_text(RULES_OFF, encoding="utf-8")
        # Item links on the local upstream (404s), so a peer that fetches articles stays local.
        up_port = free_port()
        body = seed_like_feed(items, html, link=f"http://127.0.0.1:{up_port}/a/")
        feed_file = Path(tmp) / "feed.xml"
        feed_file.write_bytes(body)
        port = free_port()
        upstream = static_server(up_port, feed_file)
        proxy = feedscrub(port, str(Path(tmp) / "cache"))
        off_port = free_port()
        proxy_off = feedscrub(
            off_port, str(Path(tmp) / "cache-off"), FEEDSCRUB_CONFIG=str(rules_off)
        )
        peer_port = free_port()
        peer = peer_morss.serve(peer_port) if morss else None
        try:
            await wait_up(f"http://127.0.0.1:{up_port}/feed.xml")
            await wait_up(f"http://127.0.0.1:{port}/healthz")
            await wait_up(f"http://127.0.0.1:{off_port}/healthz")
            if peer is not None:
                await wait_up(f"http://127.0.0.1:{peer_port}/")
            ours_walls, off_walls, peer_walls = [], [], []
            peer_items = ours_items = 0
            async with aiohttp.ClientSession() as session:

                async def timed(url: str) -> tuple[float, bytes]:
                    started = time.perf_counter()
                    got = await _get(session, url)
                    return time.perf_counter() - started, got

                for run in range(repeat + 1):  # run 0 warms both up and is not counted
                    upstream_url = f"http://127.0.0.1:{up_port}/feed.xml?run={run}"
                    wall, got = await timed(f"http://127.0.0.1:{port}/feed?url={upstream_url}")
                    ours_items = got.count(b"<item>") + got.count(b"<item ")
                    if run:
                        ours_walls.append(wall)
                    wall, _ = await timed(f"http://127.0.0.1:{off_port}/feed?url={upstream_url}")
                    if run:
                        off_walls.append(wall)
                    if peer is not None:
                        wall, got = await timed(peer_morss.url(peer_port, upstream_url))
                        peer_items = got.count(b"<item>") + got.count(b"<item ")
                        if run:
                            peer_walls.append(wall)
        finally:
            stop(*(p for p in (proxy, proxy_off, upstream, peer) if p is not None))
    result = {
        "items": items,
        "kb": len(body) / 1024,
        "ours_ms": median(ours_walls) * 1e3,
        "ours_items": ours_items,
        "rules_off_ms": median(off_walls) * 1e3,
    }
    if peer_walls:
        result.update(
            peer_ms=median(peer_walls) * 1e3,
            peer_items=peer_items,
            ratio=median(ours_walls) / median(peer_walls),
            rules_off_ratio=median(off_walls) / median(peer_walls),
        )
    return result


async def bench_3(items: int = 100, repeat: int = 5) -> dict[str, float]:
    ttl = 1
    with tempfile.TemporaryDirectory() as tmp:
        env = {"FEEDSCRUB_TTL": str(ttl), "FEEDSCRUB_STALE_WHILE_REVALIDATE": "0"}
        async with Servers(Path(tmp), seed_like_feed(items), **env) as servers:
            pid = servers.proxy.pid
            async with aiohttp.ClientSession() as session:
                await _get(session, servers.feed_url("warmup"))
                colds = []
                for run in range(repeat):
                    cpu, _, _ = await _cpu_of_request(session, pid, servers.feed_url(str(run)))
                    colds.append(cpu)
                url = servers.feed_url()
                await _get(session, url)
                refreshes, unchanged = [], []
                for version in range(1, repeat + 1):
                    # The same upstream bytes again (nothing changed): the fixed cost of a
                    # refresh (fetch, parse to compare, keys).
                    await asyncio.sleep(ttl + 0.2)
                    cpu, _, _ = await _cpu_of_request(session, pid, url)
                    unchanged.append(cpu)
                    # One item (a different one each time) changed upstream.
                    changed = (version * 37) % items
                    servers.change(seed_like_feed(items, changed=changed, version=version))
                    await asyncio.sleep(ttl + 0.2)
                    cpu, _, got = await _cpu_of_request(session, pid, url)
                    marker = f"item {changed}v{version}".encode()
                    if marker not in got:
                        raise RuntimeError("the refresh did not serve the changed item")
                    refreshes.append(cpu)
    return {
        "items": items,
        "cold_ms": median(colds) * 1e3,
        "refresh_ms": median(refreshes) * 1e3,
        "unchanged_ms": median(unchanged) * 1e3,
        "ratio": median(refreshes) / median(colds),
    }


async def bench_3_builds(repeat: int = 5) -> dict[str, float]:
    """Target 3's context: the build alone (the build thread's three steps: spliced parse and
    the body's hash, clean with the item cache, spliced render with gzip and ETag), in this
    process, without the fetch, the store or the serving around it."""
    import refresh_build_instructions

    await refresh_build_instructions._builds(1)  # imports and compiled patterns, once
    colds, refreshes = [], []
    for _ in range(repeat):
        timings: list[float] = []
        await refresh_build_instructions._builds(repeat, timings)  # a new app: cold caches
        colds.append(timings[0])
        refreshes += timings[1:]
    return {
        "cold_ms": median(colds) * 1e3,
        "refresh_ms": median(refreshes) * 1e3,
        "ratio": median(refreshes) / median(colds),
    }


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
                await _get(session, servers.feed_url() + "&format=rss")
                build_s = time.perf_counter() - started
                await _get(session, servers.feed_url() + "&format=atom")
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
                await _get(session, servers.feed_url())
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


def _ok(good: bool) -> str:
    return "meets" if good else "MISSES"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=("1", "2", "3", "4", "5", "a", "b", "c"))
    parser.add_argument("--repeat", type=int, default=5, help="runs per median (default 5)")
    parser.add_argument(
        "--compare-morss",
        action="store_true",
        help="install morss into bench/.peers/morss if need be and run 2 against it",
    )
    parser.add_argument("--rss-items", type=int, default=20000, help="items for 5's RSS")
    args = parser.parse_args()
    only = {"b": "4", "c": "5"}.get(args.only or "", args.only)
    repeat = args.repeat
    print(
        f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(NOISE)
    if only in (None, "1", "a"):
        a = bench_a(repeat=repeat)
        print(
            f"(a) in process, clean+rewrite+sanitise+render {a['feedscrub_us_per_item']:.0f} "
            f"µs/item vs lxml fragment parse+serialise {a['floor_us_per_item']:.0f}: "
            f"{a['ratio']:.2f}× (context)"
        )
    if only in (None, "1"):
        r = asyncio.run(bench_1(repeat=repeat))
        print(
            f"1. cold all-in {r['ratio']:.2f}× / ≤ 3× the floor [{_ok(r['ratio'] <= 3)}]: "
            f"server CPU {r['ours_us']:.0f} µs/item vs floor {r['floor_us']:.0f} µs/item "
            f"({r['items']} items; first response {r['wall_ms']:.0f} ms)"
        )
        print(
            f"   context: every rule pack off, {r['rules_off_us']:.0f} µs/item, "
            f"{r['rules_off_us'] / r['floor_us']:.2f}× the floor (the seed's junk then goes "
            f"through the sanitiser, the rewrite and the output instead)"
        )
    if only in (None, "2"):
        import peer_morss

        morss = peer_morss.installed()
        if args.compare_morss and not morss:
            peer_morss.install()
            morss = True
        r = asyncio.run(bench_2(repeat=repeat, morss=morss))
        if "ratio" in r:
            print(
                f"2. cold first response {r['ratio']:.2f}× / ≤ 1× morss "
                f"[{_ok(r['ratio'] <= 1)}]: feedscrub {r['ours_ms']:.0f} ms "
                f"({r['ours_items']} items) vs morss {r['peer_ms']:.0f} ms "
                f"({r['peer_items']} items), {r['items']}-item feed of {r['kb']:.0f} KB "
                f"(morss reads at most 500 KiB of a body, crawler.SizeLimitHandler)"
            )
            print(
                f"   context: every rule pack off, feedscrub {r['rules_off_ms']:.0f} ms, "
                f"{r['rules_off_ratio']:.2f}× morss (what the cleaning costs on top)"
            )
            # Short items keep the feed under morss's 500 KiB: both serve every item.
            r = asyncio.run(bench_2(repeat=repeat, morss=morss, html=short_seed()))
            print(
                f"   same with short items ({r['kb']:.0f} KB): {r['ratio']:.2f}× "
                f"[{_ok(r['ratio'] <= 1)}]: feedscrub {r['ours_ms']:.0f} ms "
                f"({r['ours_items']} items) vs morss {r['peer_ms']:.0f} ms "
                f"({r['peer_items']} items)"
            )
        else:
            print(
                f"2. cold first response: feedscrub {r['ours_ms']:.0f} ms for {r['items']} "
                f"items ({r['rules_off_ms']:.0f} ms with every rule pack off); morss not "
                f"installed (run with --compare-morss for the ratio)"
            )
    if only in (None, "3"):
        r = asyncio.run(bench_3(repeat=repeat))
        print(
            f"3. refresh, 1 of {r['items']} items changed: {r['ratio'] * 100:.0f} % / ≤ 5 % "
            f"of a cold build [{_ok(r['ratio'] <= 0.05)}]: server CPU {r['refresh_ms']:.0f} ms "
            f"vs cold {r['cold_ms']:.0f} ms (nothing changed: {r['unchanged_ms']:.1f} ms, "
            f"{r['unchanged_ms'] / r['cold_ms'] * 100:.1f} % of a cold build)"
        )
        b = asyncio.run(bench_3_builds(repeat=repeat))
        print(
            f"   context: the build alone, in process (parse, clean, render; no fetch, store "
            f"or serving): {b['ratio'] * 100:.1f} %, {b['refresh_ms']:.1f} ms vs cold "
            f"{b['cold_ms']:.0f} ms"
        )
    if only in (None, "4"):
        r = asyncio.run(bench_4(rounds=repeat))
        print(
            f"4. warm {r['ratio']:.2f}× / ≥ 0.9× a bare aiohttp handler "
            f"[{_ok(r['ratio'] >= 0.9)}]: server CPU {r['ours_us']:.0f} µs/request vs bare "
            f"{r['bare_us']:.0f} µs ({r['bytes']} bytes and the same {r['headers']} headers, "
            f"{r['concurrency']} connections; "
            f"req/s ratio {r['rps_ratio']:.2f}, the older (b))"
        )
    if only in (None, "5"):
        r = asyncio.run(bench_5_rss(items=args.rss_items))
        print(
            f"5. peak RSS {r['ratio']:.2f} / ≤ 1 of (2 × raw + 80 MB) [{_ok(r['ratio'] <= 1)}]: "
            f"{r['peak_mb']:.0f} MB vs {r['budget_mb']:.0f} MB for {r['items']} items, "
            f"{r['raw_mb']:.0f} MB raw ({r['peak_mb'] / r['raw_mb']:.1f}× raw; idle "
            f"{r['idle_mb']:.0f} MB; built in {r['seconds']:.0f} s)"
        )
        r = asyncio.run(bench_5_loop())
        print(
            f"5. longest event-loop wait {r['max_wait_ms']:.0f} ms / ≤ 50 ms during a "
            f"{r['items']}-item build [{_ok(r['max_wait_ms'] <= 50)}]: /healthz every 5 ms, "
            f"{r['probes']} probes, p99 {r['p99_wait_ms']:.0f} ms, idle max "
            f"{r['idle_max_ms']:.0f} ms; build {r['build_s']:.1f} s; peak RSS both formats "
            f"{r['peak_mb']:.0f} MB ({r['mb']:.0f} MB feed, the older (c))"
        )


if __name__ == "__main__":
    main()

"""Issue 15's targets 1-3, measured: cold builds against the floor, the cold first response
against morss, and refreshes against a cold build (``run.py`` prints them). Each function
starts and stops its own servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
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
    ROOT,
    SEED,
    Servers,
    cpu_ns,
    feedscrub,
    free_port,
    get_ok,
    median,
    seed_like_feed,
    static_server,
    stop,
    wait_up,
)

sys.path.insert(0, str(ROOT))
from proxy import parse, rewrite  # noqa: E402
from proxy.models import FetchResult  # noqa: E402
from proxy.pipeline.process import build_output  # noqa: E402


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


async def _cpu_of_request(
    session: aiohttp.ClientSession, pid: int, url: str
) -> tuple[float, float, bytes]:
    """(server CPU s, wall s, body) of one request."""
    cpu, wall = cpu_ns(pid), time.perf_counter()
    body = await get_ok(session, url)
    return (cpu_ns(pid) - cpu) / 1e9, time.perf_counter() - wall, body


# Every rule pack off (the packs list empty): what the pipeline costs besides the rules, so
# targets 1 and 2 can be read against the floor and a peer that clean nothing (context).
RULES_OFF = "[defaults]\nrules = []\n"


def rules_off_config(tmp: Path) -> str:
    """The path of a config file in ``tmp`` that turns every rule pack off (RULES_OFF)."""
    path = tmp / "rules-off.toml"
    path.write_text(RULES_OFF, encoding="utf-8")
    return str(path)


async def _colds(
    session: aiohttp.ClientSession, servers: Servers, repeat: int
) -> tuple[list[float], list[float]]:
    """Server CPU and wall seconds of ``repeat`` cold requests (new upstream URLs), after
    one not counted: imports and compiled patterns load on first use."""
    await get_ok(session, servers.feed_url("warmup"))
    cpus, walls = [], []
    for run in range(repeat):
        cpu, wall, _ = await _cpu_of_request(session, servers.proxy.pid, servers.feed_url(str(run)))
        cpus.append(cpu)
        walls.append(wall)
    return cpus, walls


async def _cold_cpus(
    tmp: Path, body: bytes, repeat: int, **env: str
) -> tuple[list[float], list[float]]:
    """``_colds`` on a server of its own, started in ``tmp`` with ``env``."""
    async with Servers(tmp, body, **env) as servers, aiohttp.ClientSession() as session:
        return await _colds(session, servers, repeat)


async def bench_1(items: int = 500, repeat: int = 5) -> dict[str, float]:
    body = seed_like_feed(items)
    with tempfile.TemporaryDirectory() as tmp:
        cpus, walls = await _cold_cpus(Path(tmp), body, repeat)
        (Path(tmp) / "off").mkdir()
        config = rules_off_config(Path(tmp))
        off, _ = await _cold_cpus(Path(tmp) / "off", body, repeat, FEEDSCRUB_CONFIG=config)
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
            off_port, str(Path(tmp) / "cache-off"), FEEDSCRUB_CONFIG=rules_off_config(Path(tmp))
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
                    got = await get_ok(session, url)
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
                colds, _ = await _colds(session, servers, repeat)
                url = servers.feed_url()
                await get_ok(session, url)
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

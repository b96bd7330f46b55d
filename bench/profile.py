"""The cold path of the server, per stage, in µs per item (issue 15's profile, reproducible).

    python bench/profile.py                  # 500 seed-like items, 3 cold requests, medians
    python bench/profile.py --items 100 --runs 5
    python bench/profile.py --cprofile 30    # also cProfile's top 30 functions (own time)
    python bench/profile.py --corpus         # the 39 real corpus feeds instead, summed
    python bench/profile.py --feed FILE      # one upstream file
    python bench/profile.py --warm 2000      # also cProfile 2,000 cached requests
    python bench/profile.py --lag 5000       # event-loop stalls during a 5,000-item build
    python bench/profile.py --py-spy out.svg # py-spy flame graph (bench/.peers/tools)
    python bench/profile.py --items 100 --refresh  # refreshes instead: one item changed each

The real app (proxy.server.create_app) runs in this process on 127.0.0.1 with a diskcache
in a temporary directory; the upstream is a separate process serving the feed's bytes. Each
run asks a new upstream URL, so every run is a cold build: fetch, parse, filter, clean (per
pack), rewrite, sanitise, output, gzip, cache writes. Stages are timed by wrapping the
functions that do them (CPU time of the calling thread, each stage's own time: time spent in
a stage nested inside another counts once, for the inner one); "other" is the rest of the
process's CPU over the request (aiohttp on both sides, freshness, threads).

A "what-if" section follows: upper bounds of some of issue 15's ideas on the same bytes
(feedparser against lxml alone, gzip levels, the cost of packs that removed nothing, what a
cleaned-item cache alone would leave of a refresh).

The wrappers cost about a microsecond per call (a few thousand calls per 100 items), so the
per-stage figures are slightly high; the total is the process CPU of the request.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named profile.py: the standard library's profile (which cProfile imports)
# must be found before it, so this directory goes on the path only after.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse  # noqa: E402
import asyncio  # noqa: E402
import cProfile  # noqa: E402
import functools  # noqa: E402
import gc  # noqa: E402
import inspect  # noqa: E402
import logging  # noqa: E402
import pstats  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

sys.path.insert(0, str(_HERE))
from harness import (  # noqa: E402
    NOISE,
    ROOT,
    free_port,
    in_process_settings,
    median,
    seed_like_feed,
    static_server,
    stop,
    wait_up,
)

sys.path.insert(0, str(ROOT))
import feedparser  # noqa: E402

import proxy.clean  # noqa: E402
import proxy.clean.boilerplate  # noqa: E402
import proxy.clean.staged  # noqa: E402
import proxy.clean.tree  # noqa: E402
import proxy.fetch  # noqa: E402
import proxy.memory  # noqa: E402
import proxy.output  # noqa: E402
import proxy.parse  # noqa: E402
import proxy.pipeline.itemcache  # noqa: E402
import proxy.pipeline.process  # noqa: E402
import proxy.pipeline.service  # noqa: E402
import proxy.pipeline.splice  # noqa: E402
import proxy.rewrite  # noqa: E402
import proxy.sanitize  # noqa: E402
import proxy.store.disk  # noqa: E402
import proxy.store.packed  # noqa: E402
import proxy.store.records  # noqa: E402
import proxy.xmldoc  # noqa: E402
import proxy.xmlfeed  # noqa: E402
from proxy.server import create_app  # noqa: E402

CORPUS = Path("/work/shared/corpus/real")
_local = threading.local()
_lock = threading.Lock()
# (stage, wall start, wall end) of every timed call while --lag records (list.append is
# atomic under the GIL, so the build threads may share it).
INTERVALS: list[tuple[str, float, float]] | None = None
# Calls shorter than this are not put in INTERVALS: rss_stages.py raises it, since a record
# per rule and item (~1.5 million on a 20,000-item build, ~180 MB) weighed on the very RSS
# it samples.
INTERVAL_MIN_SECONDS = 0.0
SPENT: dict[str, float] = defaultdict(float)  # stage → own CPU seconds (all threads)
CALLS: dict[str, int] = defaultdict(int)


def _enter() -> list[list[float]]:
    stack: list[list[float]] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


def _account(stage: str, started: float, children: float) -> float:
    elapsed = time.thread_time() - started
    with _lock:
        SPENT[stage] += elapsed - children
        CALLS[stage] += 1
    return elapsed


def timed(stage: str | Callable[..., str], function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` timed as ``stage`` (or stage(*args) for a name that depends on them)."""

    def name_of(args: tuple[Any, ...]) -> str:
        return stage if isinstance(stage, str) else stage(*args)

    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            # Awaits suspend it: only this thread's CPU while it runs counts (the loop does
            # little else during a benchmark request).
            stack = _enter()
            frame = [time.thread_time(), 0.0]
            stack.append(frame)
            try:
                return await function(*args, **kwargs)
            finally:
                stack.remove(frame)
                elapsed = _account(name_of(args), frame[0], frame[1])
                if stack:
                    stack[-1][1] += elapsed

        return async_wrapper

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stack = _enter()
        frame = [time.thread_time(), 0.0]
        stack.append(frame)
        wall = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            stack.pop()
            name = name_of(args)
            elapsed = _account(name, frame[0], frame[1])
            if stack:
                stack[-1][1] += elapsed
            if INTERVALS is not None:
                ended = time.perf_counter()
                if ended - wall >= INTERVAL_MIN_SECONDS:
                    INTERVALS.append((name, wall, ended))

    return wrapper


_PATCHED: list[tuple[Any, str, Any]] = []  # (owner, attribute, original), to undo


def patch(owner: Any, name: str, stage: str | Callable[..., str]) -> None:
    """Wrap owner.name, and every proxy module's global that is the same function (``from x
    import f`` copies)."""
    original = getattr(owner, name, None)
    if original is None:  # the product moved on: say which stage to re-point
        raise SystemExit(f"profile: {owner.__name__}.{name} is gone; update install_timers()")
    wrapped = timed(stage, original)
    setattr(owner, name, wrapped)
    _PATCHED.append((owner, name, original))
    for module_name, module in list(sys.modules.items()):
        if module_name.startswith("proxy") and module is not None:
            for attr, value in list(vars(module).items()):
                if value is original:
                    setattr(module, attr, wrapped)
                    _PATCHED.append((module, attr, original))


def uninstall_timers() -> None:
    while _PATCHED:
        owner, name, original = _PATCHED.pop()
        setattr(owner, name, original)


def install_timers() -> None:
    patch(proxy.fetch, "fetch", "fetch")
    patch(proxy.parse, "parse", "parse: ours around feedparser")
    patch(feedparser, "parse", "parse: feedparser")
    patch(proxy.xmlfeed, "read", "parse: fast path (xmlfeed, the tree replayed)")
    # The whole document through lxml (lossless output): in parse, and again in output.
    patch(proxy.xmldoc, "load", "lxml document load (xmldoc.load)")
    patch(proxy.pipeline.process, "select", "filter")
    patch(proxy.pipeline.process, "transform", "transform: the rest")
    patch(proxy.clean, "clean_items", "clean: the rest (records, hints)")
    # The server cleans through the item cache, in steps (clean/staged.py): its bookkeeping
    # and the auto pack's steps are stages of their own, not "transform: the rest".
    patch(proxy.pipeline.itemcache.ItemCache, "clean", "clean: the rest (records, hints)")
    patch(proxy.clean.boilerplate, "analyse", "clean: pack auto")
    patch(proxy.clean.boilerplate, "apply", "clean: pack auto")
    patch(proxy.clean, "apply_replacements", "clean: replacements")
    patch(proxy.clean.tree, "parse_fragment", "clean: fragment parse")
    patch(proxy.clean.tree, "parse_source", "clean: fragment parse")
    patch(proxy.clean.tree, "serialise", "clean: serialise")
    patch(proxy.clean, "_run_item_rule", lambda rule, *_: f"clean: pack {rule.pack}")
    patch(proxy.clean, "_run_feed_rule", lambda rule, *_: f"clean: pack {rule.pack}")
    patch(proxy.rewrite, "rewrite_tree", "rewrite: item HTML")
    patch(proxy.rewrite, "rewrite_attachments", "rewrite: enclosures, media")
    patch(proxy.sanitize, "sanitize_html", "sanitise (nh3 and checks)")
    patch(proxy.sanitize, "drop_non_xml_chars", "sanitise (nh3 and checks)")
    patch(proxy.output, "build_output", "output (in place / convert)")
    patch(proxy.pipeline.process, "rebase", "output: rebase, cut")
    patch(proxy.pipeline.process, "compress", "gzip")
    patch(proxy.memory, "release_after", "memory: release (malloc_trim)")
    patch(proxy.store.disk, "_safe_set", "cache writes")
    patch(proxy.store.disk, "_safe_set_pieces", "cache writes")
    patch(proxy.store.disk, "_safe_get", "cache reads")
    patch(proxy.store.disk, "_safe_read", "cache reads")
    patch(proxy.store.packed, "feed", "cache writes")  # compressing the body to write it
    patch(proxy.pipeline.service.Pipeline, "_clean_key", "keys (hash of the body)")
    # What a refresh is made of besides the changed items' own work (issue 15.3).
    patch(proxy.pipeline.service.Pipeline, "_parse_new", "refresh: hash of a new body")
    patch(proxy.store.records, "etag_of", "output: ETag (hash of the output)")
    patch(proxy.store.records, "encode_memory", "memory of the feed rules (JSON)")
    patch(proxy.store.records, "decode_memory", "memory of the feed rules (JSON)")
    patch(proxy.clean.staged.Staged, "decide", "clean: the feed rule's decision")
    patch(proxy.pipeline.itemcache.ItemCache, "finish_all", "transform: finished entries")
    patch(proxy.pipeline.splice.Splicer, "parse", "splice: parse (skeleton, keep)")
    patch(proxy.pipeline.splice.Splicer, "render", "splice: render (skeleton, assemble)")
    patch(proxy.pipeline.splice, "scan", "splice: scan (item byte ranges)")


def _move_clock(app: web.Application, seconds: float) -> None:
    from proxy.server import PIPELINE

    pipeline = app[PIPELINE]
    base = getattr(pipeline, "_bench_clock", None) or pipeline.clock
    pipeline._bench_clock = base  # type: ignore[attr-defined]
    pipeline.clock = lambda: base() + seconds


async def _inline(function: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


async def profile(
    bodies: list[tuple[str, bytes, int]],
    runs: int,
    profiler: cProfile.Profile | None,
    warm: int = 0,
    refresh: Callable[[int], bytes] | None = None,
) -> tuple[dict[str, float], float, bytes]:
    """Stage → own CPU µs per item, the total µs per item, and the last served body. Each
    run asks every body once, cold; medians over runs. refresh: each run asks the same URL
    again past its TTL, the upstream serving refresh(run) (one item changed)."""
    with tempfile.TemporaryDirectory() as tmp:
        feed_file = Path(tmp) / "feed.xml"
        feed_file.write_bytes(bodies[0][1])
        up_port = free_port()
        upstream = static_server(up_port, feed_file)
        settings = in_process_settings(tmp)
        if refresh is not None:  # the refresh in the request, not in the background
            settings = settings.replace(stale_while_revalidate=0)
        app = create_app(settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", settings.port)
        await site.start()
        served = b""
        late = 0.0  # refresh: how far the app's clock was moved (past the TTL each run)
        try:
            await wait_up(f"http://127.0.0.1:{up_port}/feed.xml")
            base = f"http://127.0.0.1:{settings.port}/feed?url=http://127.0.0.1:{up_port}/feed.xml"
            per_run: list[dict[str, float]] = []
            per_calls: list[dict[str, float]] = []
            totals: list[float] = []
            items = sum(count for _, _, count in bodies)
            async with aiohttp.ClientSession() as session:
                # Once first, not counted: imports and compiled patterns load on first use.
                async with session.get(f"{base}?run=warmup") as response:
                    await response.read()
                for run in range(runs):
                    spent: dict[str, float] = defaultdict(float)
                    calls: dict[str, float] = defaultdict(float)
                    total = 0.0
                    for k, (_, body, _) in enumerate(bodies):
                        tag = f"?run={run}-{k}"
                        if refresh is not None:
                            body, tag = refresh(run + 1), "?run=warmup"
                            late += settings.ttl + 1
                            _move_clock(app, late)
                        if len(bodies) > 1 or refresh is not None:
                            part = feed_file.with_suffix(".part")
                            part.write_bytes(body)
                            part.replace(feed_file)
                        SPENT.clear()
                        CALLS.clear()
                        if profiler is not None:
                            profiler.enable()
                        started = time.process_time()
                        async with session.get(f"{base}{tag}") as response:
                            served = await response.read()
                            assert response.status == 200, (bodies[k][0], response.status)
                        total += time.process_time() - started
                        if profiler is not None:
                            profiler.disable()
                        for stage, seconds in SPENT.items():
                            spent[stage] += seconds
                            calls[stage] += CALLS[stage]
                    per_run.append(spent)
                    per_calls.append(calls)
                    totals.append(total)
                if warm:
                    await _warm(session, f"{base}?run={runs - 1}-{len(bodies) - 1}", warm)
        finally:
            await runner.cleanup()
            stop(upstream)
    stages = sorted({s for r in per_run for s in r})
    figures = {s: median([r.get(s, 0.0) for r in per_run]) / items * 1e6 for s in stages}
    total_us = median(totals) / items * 1e6
    figures["other (aiohttp both sides, freshness, threads)"] = total_us - sum(figures.values())
    # Calls per request, so a stage that runs twice shows it.
    CALLS.clear()
    for stage in stages:
        CALLS[stage] = round(median([r.get(stage, 0) for r in per_calls]) / len(bodies))
    return figures, total_us, served


async def lag(items: int) -> None:
    """The event loop's longest stalls while one cold build of ``items`` short seed-like
    items runs in this process, and the stages running meanwhile (issue 15 target 5)."""
    global INTERVALS
    from harness import short_seed

    with tempfile.TemporaryDirectory() as tmp:
        feed_file = Path(tmp) / "feed.xml"
        feed_file.write_bytes(seed_like_feed(items, short_seed()))
        up_port = free_port()
        upstream = static_server(up_port, feed_file)
        settings = in_process_settings(tmp)
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", settings.port).start()
        stalls: list[tuple[float, float]] = []  # (wall start, wall end) of loop stalls
        # Cyclic collector passes: (wall start, wall end, generation). A pass holds the GIL
        # from start to end, in whichever thread allocated: every thread waits for it.
        passes: list[tuple[float, float, int]] = []
        began = [0.0]

        def collected(phase: str, info: dict[str, int]) -> None:
            if phase == "start":
                began[0] = time.perf_counter()
            else:
                passes.append((began[0], time.perf_counter(), info["generation"]))

        done = asyncio.Event()

        async def monitor() -> None:
            while not done.is_set():
                before = time.perf_counter()
                await asyncio.sleep(0.001)
                after = time.perf_counter()
                if after - before > 0.011:  # 10 ms late or more
                    stalls.append((before, after))

        try:
            await wait_up(f"http://127.0.0.1:{up_port}/feed.xml")
            base = f"http://127.0.0.1:{settings.port}/feed?url=http://127.0.0.1:{up_port}/feed.xml"
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=900)) as session:
                async with session.get(f"{base}?warmup=1") as response:
                    await response.read()
                INTERVALS = []
                gc.callbacks.append(collected)
                watcher = asyncio.create_task(monitor())
                started = time.perf_counter()
                async with session.get(base) as response:
                    await response.read()
                    assert response.status == 200, response.status
                build = time.perf_counter() - started
                done.set()
                await watcher
        finally:
            recorded, INTERVALS = INTERVALS or [], None
            if collected in gc.callbacks:
                gc.callbacks.remove(collected)
            await runner.cleanup()
            stop(upstream)
    stalls.sort(key=lambda gap: gap[0] - gap[1])
    print(f"event loop during a cold {items}-item build ({build:.1f} s), in process:")
    print(NOISE)
    print(f"  stalls of 10 ms or more: {len(stalls)}; the longest:")
    for before, after in stalls[:8]:
        # The innermost timed calls that cover most of the stall ran in it.
        covering = [
            (end - start, name)
            for name, start, end in recorded
            if min(end, after) - max(start, before) > 0.5 * (after - before)
        ]
        names = ", ".join(name for _, name in sorted(covering)[:3]) or "(no timed stage)"
        collecting = [
            f"gen{generation} collection {(end - start) * 1e3:.0f} ms"
            for start, end, generation in passes
            if min(end, after) - max(start, before) > 0.5 * (after - before)
        ]
        names = ", ".join(collecting + [names])
        print(f"  {(after - before) * 1e3:6.0f} ms  inside: {names}")
    longest = sorted(passes, key=lambda p: p[0] - p[1])[:3]
    print(
        f"  cyclic collector: {len(passes)} passes during the build, "
        f"{sum(1 for p in passes if p[2] == 2)} full; the longest: "
        + ", ".join(f"gen{g} {(end - start) * 1e3:.0f} ms" for start, end, g in longest)
    )


async def _warm(session: aiohttp.ClientSession, url: str, requests: int) -> None:
    """cProfile of ``requests`` cached requests (the server's side and this client's: both
    run on this loop), top functions by own time."""
    profiler = cProfile.Profile()
    headers = {"Accept-Encoding": "identity"}
    started = time.process_time()
    profiler.enable()
    for _ in range(requests):
        async with session.get(url, headers=headers) as response:
            await response.read()
    profiler.disable()
    spent = (time.process_time() - started) / requests * 1e6
    print(f"\nwarm: {requests} cached requests, {spent:.0f} µs of CPU each (client included,")
    print("under cProfile); top 25 by own time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def _median_us(run: Callable[[], object], items: int, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        run()
        times.append(time.process_time() - started)
    return median(times) / items * 1e6


def ideas(body: bytes, items: int, served: bytes, figures: dict[str, float]) -> list[str]:
    """Upper bounds for some of issue 15's ideas, measured on the same bytes (untimed code)."""
    from lxml import etree

    from proxy.models import FetchResult

    lines = []
    fp = _median_us(
        lambda: feedparser.parse(body, sanitize_html=False, resolve_relative_uris=False), items
    )
    lx = _median_us(lambda: etree.fromstring(body, etree.XMLParser(huge_tree=True)), items)
    lines.append(
        f"parse: feedparser {fp:.0f} µs/item vs lxml alone {lx:.0f}: a same-format path "
        f"that never runs feedparser saves at most {fp - lx:.0f} µs/item"
    )
    import gzip
    import zlib

    g6 = _median_us(lambda: gzip.compress(served, compresslevel=6, mtime=0), items)
    g1 = _median_us(lambda: gzip.compress(served, compresslevel=1, mtime=0), items)

    def deflate1() -> None:
        packer = zlib.compressobj(1, zlib.DEFLATED, 31)
        packer.compress(served)
        packer.flush()

    z1 = _median_us(deflate1, items)
    lines.append(
        f"gzip of the {len(served) // 1024} KB served: level 6 {g6:.0f} µs/item, level 1 "
        f"{g1:.0f}, zlib level 1 {z1:.0f} (lazily, on the first gzip request: 0 on the miss path)"
    )
    feed = proxy.parse.parse(FetchResult(url="", status=200, body=body, content_type=""))
    htmls = [e.summary or e.content or "" for e in feed.entries]
    hit_packs: set[str] = set()
    for cleaned in proxy.clean.clean_items(htmls):
        hit_packs.update(rule.split(".", 1)[0] for rule in cleaned.hits())
    idle = {
        s: us
        for s, us in figures.items()
        if s.startswith("clean: pack ") and s.removeprefix("clean: pack ") not in hit_packs
    }
    lines.append(
        f"prefilters: packs that removed nothing from any item of this feed cost "
        f"{sum(idle.values()):.0f} µs/item ({', '.join(sorted(p[12:] for p in idle))}); "
        f"the packs that did: {', '.join(sorted(hit_packs)) or 'none'}"
    )
    per_item = sum(
        us
        for s, us in figures.items()
        if s.startswith(("clean", "rewrite", "sanitise", "transform"))
    )
    total = sum(figures.values())
    whole = total - per_item
    lines.append(
        f"refresh: per-item work (clean, rewrite, sanitise) {per_item:.0f} µs/item, whole-feed "
        f"work (fetch, parse, output, gzip, cache, other) {whole:.0f}: a cleaned-item cache "
        f"alone leaves a 1-of-100 refresh at ≈ {(whole + per_item / 100) / total * 100:.0f} % "
        f"of a cold build (target 5 %)"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=500, help="seed-like items (default)")
    parser.add_argument("--feed", type=Path, help="profile this upstream file instead")
    parser.add_argument(
        "--corpus",
        action="store_true",
        help="profile every feed of /work/shared/corpus/real (summed, per item)",
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--cprofile", type=int, metavar="N", default=0, help="print cProfile's top N functions"
    )
    parser.add_argument(
        "--warm", type=int, metavar="N", default=0, help="also cProfile N cached requests"
    )
    parser.add_argument(
        "--lag", type=int, metavar="ITEMS", default=0, help="event-loop stalls during a build"
    )
    parser.add_argument(
        "--no-trim",
        action="store_true",
        help="what-if: no malloc_trim (proxy.memory.release_after does nothing)",
    )
    parser.add_argument("--no-ideas", action="store_true", help="skip the what-if figures")
    parser.add_argument(
        "--refresh",
        action="store_true",
        help="refreshes of one seed-like feed, one item changed each run (not cold builds)",
    )
    parser.add_argument(
        "--same",
        action="store_true",
        help="with --refresh: the upstream sends the same bytes again (a refresh's fixed cost)",
    )
    parser.add_argument("--py-spy", metavar="SVG", help="record a py-spy flame graph to SVG")
    args = parser.parse_args()
    if args.py_spy:
        spy = shutil.which("py-spy") or str(ROOT / "bench" / ".peers" / "tools" / "bin" / "py-spy")
        command = [spy, "record", "-o", args.py_spy, "--threads", "--", sys.executable, __file__]
        command += [a for a in sys.argv[1:] if a not in ("--py-spy", args.py_spy)]
        raise SystemExit(subprocess.call(command))
    from proxy.errors import ProxyError
    from proxy.models import FetchResult

    # The product's warnings about odd corpus feeds are not this script's output.
    logging.getLogger("proxy").setLevel(logging.ERROR)

    if args.corpus:
        # XML only: the local upstream labels every body application/rss+xml.
        files = sorted(CORPUS.glob("*.xml"))
        named = [(f.name, f.read_bytes()) for f in files]
        what = f"{len(files)} corpus feeds"
    elif args.feed:
        named = [(args.feed.name, args.feed.read_bytes())]
        what = args.feed.name
    else:
        named = [("seed", seed_like_feed(args.items))]
        what = f"{args.items} seed-like items"
    bodies = []
    for name, body in named:
        try:
            feed = proxy.parse.parse(FetchResult(url="", status=200, body=body, content_type=""))
        except ProxyError:
            continue
        if feed.entries:
            bodies.append((name, body, len(feed.entries)))
    items = sum(count for _, _, count in bodies)
    if args.no_trim:
        proxy.memory.release_after = lambda body_size: None
    install_timers()
    if args.lag:
        asyncio.run(lag(args.lag))
        return
    refresh = None
    if args.refresh:
        count = args.items

        def refresh(version: int) -> bytes:
            if args.same:
                return seed_like_feed(count)
            return seed_like_feed(count, changed=(version * 37) % count, version=version)

        what += ", refreshed, the same bytes" if args.same else ", refreshed with one item changed"
    figures, total, served = asyncio.run(
        profile(bodies, args.runs, None, args.warm, refresh=refresh)
    )
    path = "refresh" if args.refresh else "cold path"
    print(f"{path}, {what} ({items} items), median of {args.runs} runs (µs per item)")
    print(NOISE)
    print("  µs/item  share  calls/request  stage")
    for stage, us in sorted(figures.items(), key=lambda kv: -kv[1]):
        calls = f"{CALLS[stage]:>7}" if stage in CALLS else "       "
        print(f"  {us:7.0f}  {us / total * 100:5.1f} %  {calls}  {stage}")
    print(f"  {total:7.0f}  100.0 %           total (process CPU of the request)")
    uninstall_timers()
    if args.cprofile:
        # A pass of its own, without the stage timers; cProfile sees one thread, so the
        # build threads' work runs inline on the loop for it.
        profiler = cProfile.Profile()
        to_thread = asyncio.to_thread
        asyncio.to_thread = _inline  # type: ignore[assignment]
        asyncio.run(profile(bodies, args.runs, profiler, refresh=refresh))
        asyncio.to_thread = to_thread
        print(f"\ncProfile, {args.runs} runs, top {args.cprofile} by own time:")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.cprofile)
    if not args.no_ideas and len(bodies) == 1:
        print("\nwhat-if, on the same bytes (upper bounds, not measurements of changed code):")
        for line in ideas(bodies[0][1], items, served, figures):
            print(f"  - {line}")


if __name__ == "__main__":
    main()

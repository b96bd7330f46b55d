"""Peak RSS per stage of one cold build of the real app, in process (issue 15 target 5).

    python bench/rss_stages.py              # 20,000 seed-like items (bench/run.py --only 5's feed)
    python bench/rss_stages.py --items 5000
    python bench/rss_stages.py --untrimmed   # build steps not trimmed after (memory.release_grown)

A thread samples this process's RSS every 5 ms while the build runs; each sample is given
to the innermost stage (of those lasting 20 ms or more) running at that moment
(bench/profile.py's timers), so the table says at which stage memory peaked and how much
each stage added on top of what came in.
Absolute figures include the benchmark's own copy of the feed (the upstream is another
process, but the client here reads the response whole).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from harness import (  # noqa: E402
    ROOT,
    free_port,
    in_process_settings,
    seed_like_feed,
    static_server,
    stop,
    wait_up,
)

sys.path.insert(0, str(ROOT))
import importlib.util  # noqa: E402

# bench/profile.py by path: its name is the standard library's profile (cProfile imports it).
_spec = importlib.util.spec_from_file_location("bench_profile", _HERE / "profile.py")
assert _spec is not None and _spec.loader is not None
stages: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(stages)

from proxy.server import create_app  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


async def build(items: int) -> tuple[list[tuple[float, float]], float, float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        feed_file = Path(tmp) / "feed.xml"
        feed_file.write_bytes(seed_like_feed(20))  # warm-up: imports, compiled patterns
        body = seed_like_feed(items)
        size = len(body)
        up_port = free_port()
        upstream = static_server(up_port, feed_file)
        settings = in_process_settings(tmp, max_body_bytes=size + 2**20)
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", settings.port).start()
        samples: list[tuple[float, float]] = []
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                samples.append((time.perf_counter(), rss_mb()))
                time.sleep(0.005)

        try:
            await wait_up(f"http://127.0.0.1:{up_port}/feed.xml")
            base = f"http://127.0.0.1:{settings.port}/feed?url=http://127.0.0.1:{up_port}/feed.xml"
            timeout = aiohttp.ClientTimeout(total=1800)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(f"{base}?warmup=1") as response:
                    await response.read()
                part = feed_file.with_suffix(".part")
                part.write_bytes(body)
                part.replace(feed_file)
                del body
                idle = rss_mb()
                stages.INTERVALS = []
                sampler = threading.Thread(target=sample)
                sampler.start()
                async with session.get(base) as response:
                    served = len(await response.read())
                done.set()
                sampler.join()
        finally:
            await runner.cleanup()
            stop(upstream)
    print(f"served {served / 2**20:.0f} MB")
    return samples, idle, size / 2**20, items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument(
        "--untrimmed", action="store_true", help="no trim after build steps (the change before)"
    )
    args = parser.parse_args()
    if args.untrimmed:
        import proxy.memory

        proxy.memory.GROWN_BYTES = 1 << 62
    stages.install_timers()
    stages.INTERVAL_MIN_SECONDS = 0.02  # the table's unit: shorter calls fall to their stage
    samples, idle, raw, items = asyncio.run(build(args.items))
    # Calls of 20 ms or more: per-item calls fall to the stage around them (and the lookup
    # below stays small).
    recorded = [(n, a, b) for n, a, b in stages.INTERVALS or [] if b - a >= 0.02]
    peak: dict[str, float] = defaultdict(float)
    first: dict[str, float] = {}
    for at, mb in samples:
        inside = [(end - start, name) for name, start, end in recorded if start <= at <= end]
        name = min(inside)[1] if inside else "(between stages)"
        peak[name] = max(peak[name], mb)
        first.setdefault(name, mb)
    top = max(mb for _, mb in samples)
    print(
        f"{items} items, raw body {raw:.0f} MB, idle {idle:.0f} MB, peak {top:.0f} MB; "
        f"budget 2 x raw + 80 = {2 * raw + 80:.0f} MB"
    )
    print("  peak MB  first MB  innermost stage (in order of first sample)")
    order = []
    for at, _ in samples:
        inside = [(end - start, name) for name, start, end in recorded if start <= at <= end]
        name = min(inside)[1] if inside else "(between stages)"
        if name not in order:
            order.append(name)
    for name in order:
        print(f"  {peak[name]:7.0f}  {first[name]:8.0f}  {name}")


if __name__ == "__main__":
    main()

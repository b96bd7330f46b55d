"""Instructions of a refresh where 1 of 100 items changed, against a cold build (issue 15.3),
under callgrind: deterministic where CPU time on a shared machine is not. User space only:
the kernel's share (writing files, sockets) is not counted, so a change that writes less to
disk shows less here than in ``run.py`` 3.

    python bench/refresh_instructions.py                  # this tree
    python bench/refresh_instructions.py --tree /tmp/old  # and another checkout, for before/after

Each server runs under callgrind (valgrind) with a 1 s TTL and no stale-while-revalidate:
a warm-up build and refresh, then cold builds of new URLs and refreshes of one URL whose
upstream changed one item (a different one each time), counters zeroed before and dumped
after each request. Medians; about a minute per tree.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (  # noqa: E402
    ROOT,
    add_tree_option,
    callgrind_total,
    free_port,
    median,
    seed_like_feed,
    static_server,
    stop,
    wait_up,
)

ITEMS = 100
TTL = 1


async def _counted(session: aiohttp.ClientSession, pid: int, url: str, out: Path) -> int:
    """User-space instructions the server spent on one request."""
    subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)
    async with session.get(url) as response:
        body = await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status} {body[:200]!r}")
    before = set(out.glob(f"cg.*.{pid}*"))
    subprocess.run(["callgrind_control", "-d", str(pid)], check=True, capture_output=True)
    for _ in range(100):
        dumps = set(out.glob(f"cg.*.{pid}*")) - before
        if dumps:
            break
        await asyncio.sleep(0.1)
    newest = max(dumps or out.glob(f"cg.*.{pid}*"), key=os.path.getmtime)
    await asyncio.sleep(0.2)  # let the dump finish writing
    return callgrind_total(newest)


async def _tree(tree: Path, tmp: Path, index: int, runs: int) -> tuple[float, float]:
    feed = tmp / f"feed{index}.xml"
    feed.write_bytes(seed_like_feed(ITEMS))
    up, port = free_port(), free_port()
    upstream = static_server(up, feed)
    env = {
        **os.environ,
        "FEEDSCRUB_HOST": "127.0.0.1",
        "FEEDSCRUB_PORT": str(port),
        "FEEDSCRUB_CACHE_DIR": str(tmp / f"cache{index}"),
        "FEEDSCRUB_ALLOW_PRIVATE": "true",
        "FEEDSCRUB_LOG_LEVEL": "WARNING",
        "FEEDSCRUB_TTL": str(TTL),
        "FEEDSCRUB_STALE_WHILE_REVALIDATE": "0",
    }
    argv = [sys.executable, "-m", "proxy", "serve"]
    dump = tmp / f"cg.{index}"
    server = subprocess.Popen(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}.%p", *argv],
        cwd=tree,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/feed?url=http://127.0.0.1:{up}/feed.xml"

    def change(version: int) -> None:
        part = feed.with_suffix(".part")
        changed = (version * 37) % ITEMS
        part.write_bytes(seed_like_feed(ITEMS, changed=changed, version=version))
        part.replace(feed)

    try:
        await wait_up(f"http://127.0.0.1:{up}/feed.xml")
        await wait_up(f"http://127.0.0.1:{port}/healthz", deadline=300)
        timeout = aiohttp.ClientTimeout(total=600)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            # The upstream URL names the run (cold builds: a URL not seen before).
            for warm in (f"{base}?run=warmup", base):  # imports, patterns; the URL refreshed
                async with session.get(warm) as response:
                    await response.read()
            colds, refreshes = [], []
            for run in range(runs):
                colds.append(await _counted(session, server.pid, f"{base}?run={run}", tmp))
            for version in range(1, runs + 2):
                change(version)
                await asyncio.sleep(TTL + 0.3)
                counted = await _counted(session, server.pid, base, tmp)
                if version > 1:  # the first refresh of the URL warms what refreshes use
                    refreshes.append(counted)
    finally:
        server.terminate()
        server.wait(60)
        stop(upstream)
    return median(colds), median(refreshes)


async def main(trees: list[Path], runs: int) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        figures = [await _tree(tree, tmp, i, runs) for i, tree in enumerate(trees)]
    for tree, (cold, refresh) in zip(trees, figures, strict=True):
        print(
            f"{refresh / 1e6:8.1f} M instructions/refresh (1 of {ITEMS} changed), cold "
            f"{cold / 1e6:8.1f} M: {refresh / cold * 100:5.1f} %  {tree}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_tree_option(parser)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main([ROOT, *args.tree], args.runs))

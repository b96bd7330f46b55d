"""Instructions of a refresh's build work alone (issue 15.3), under callgrind: the build
thread's three steps of a refresh where 1 of 100 seed-like items changed (``_parse_new``: the
spliced parse and the body's hash; ``_clean_build``: the item cache and the changed item's
cleaning; ``_render``: the spliced render, gzip and ETag), in this process, without the
server, the upstream, the store or the event loop. Deterministic and quick to start where
``refresh_instructions.py`` needs a whole server to come up under valgrind (on a loaded
machine it may not within its 5 minutes).

    python bench/refresh_build_instructions.py                  # this tree
    python bench/refresh_build_instructions.py --tree /tmp/old  # and another checkout

Each tree runs twice under callgrind: a cold build and ``--warm`` refreshes, then that many
plus ``--runs`` more; the difference over ``--runs`` is one refresh's build, so startup and
the cold build cancel out. valgrind has no SHA extensions: the two sha256 of a refresh (the
body, the ETag) count ~30 M instructions here, a few times their share on the real CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import ROOT, add_tree_option, callgrind_total  # noqa: E402

ITEMS = 100
URL = "http://127.0.0.1:1/feed.xml"


async def _builds(refreshes: int, timings: list[float] | None = None) -> None:
    """A cold build, then ``refreshes`` refreshes of one changed item each (in-process).
    timings: gets the thread CPU seconds of each build's three steps (the cold one first)."""
    import time

    from aiohttp import web
    from harness import in_process_settings, seed_like_feed

    from proxy.models import FetchResult
    from proxy.server import PIPELINE, create_app
    from proxy.store import StoredFeed

    with tempfile.TemporaryDirectory() as tmp:
        runner = web.AppRunner(create_app(in_process_settings(tmp)))
        await runner.setup()
        pipeline = runner.app[PIPELINE]
        job = pipeline.job(URL, fmt=None, public_base="https://feeds.example.org")
        learnt: dict[str, object] = {}
        bodies = [seed_like_feed(ITEMS)]
        bodies += [
            seed_like_feed(ITEMS, changed=(v * 37) % ITEMS, version=v)
            for v in range(1, refreshes + 1)
        ]
        for at, body in enumerate(bodies):
            started = time.thread_time()
            result, feed = pipeline._parse_new(URL, FetchResult(URL, 200, body, ""))
            stored = StoredFeed(
                url=URL,
                final_url=URL,
                body=body,
                content_type="",
                kind=feed.kind,
                etag=None,
                last_modified=None,
                fetched_at=1000.0 + at,
                checked_at=1000.0 + at,
                digest=result.digest,
            )
            cleaned = pipeline._clean_build(feed, stored, job, False, learnt)
            pipeline._render(cleaned, stored, job, stored.kind)
            if timings is not None:
                timings.append(time.thread_time() - started)
        await runner.cleanup()


def _counted(tree: Path, refreshes: int, out: Path) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(tree)}
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", str(refreshes)]
    subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv],
        cwd=tree,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return callgrind_total(out)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_tree_option(parser)
    parser.add_argument("--warm", type=int, default=3, help="refreshes not counted")
    parser.add_argument("--runs", type=int, default=10, help="refreshes counted")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        asyncio.run(_builds(args.child))
        return
    with tempfile.TemporaryDirectory() as name:
        for index, tree in enumerate([ROOT, *args.tree]):
            counts = [
                _counted(tree, n, Path(name) / f"cg.{index}.{n}")
                for n in (args.warm, args.warm + args.runs)
            ]
            per_refresh = (counts[1] - counts[0]) / args.runs
            print(f"{per_refresh / 1e6:8.1f} M instructions per refresh build  {tree}")


if __name__ == "__main__":
    main()

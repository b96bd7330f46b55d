"""Instructions per cached request (issue 15.4) under callgrind: feedscrub against the bare
handler of ``run.py`` 4, with the same bytes and headers. Deterministic, unlike CPU time on a
shared machine, so a change of a few µs shows; user-space only (the kernel's share of sending
80 KB, the same on both sides, is not counted, so the ratio is stricter than run.py's).

    python bench/warm_instructions.py                    # this tree
    python bench/warm_instructions.py --tree /tmp/old    # and another checkout, for before/after

Needs valgrind (Debian: valgrind). Each server runs under callgrind: about a minute apiece.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import (  # noqa: E402
    BARE_SERVER,
    ROOT,
    add_tree_option,
    callgrind_total,
    free_port,
    seed_like_feed,
    static_server,
    stop,
    wait_up,
)
from targets_serving import _OWN_HEADERS, _load_cpu  # noqa: E402


async def _instructions(
    argv: list[str], cwd: Path | None, env: dict[str, str], url: str, requests: int, out: Path
) -> float:
    """Instructions per request of ``requests`` requests at 50 connections, after a warm-up."""
    dump = out / f"cg.{len(list(out.iterdir()))}"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={dump}.%p", *argv]
    server = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        await wait_up(url, deadline=300)
        await _load_cpu(url, server.pid, 10, 200)
        subprocess.run(
            ["callgrind_control", "-z", str(server.pid)], check=True, capture_output=True
        )
        await _load_cpu(url, server.pid, 50, requests)
        subprocess.run(
            ["callgrind_control", "-d", str(server.pid)], check=True, capture_output=True
        )
        await asyncio.sleep(1)
        newest = max(out.glob(f"{dump.name}.{server.pid}*"), key=os.path.getmtime)
        return callgrind_total(newest) / requests
    finally:
        server.terminate()
        server.wait(60)


async def main(
    trees: list[Path], requests: int, keep: Path | None = None, log_level: str = "WARNING"
) -> None:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        dumps = tmp
        if keep is not None:  # the callgrind dumps, for callgrind_annotate
            keep.mkdir(parents=True, exist_ok=True)
            dumps = keep
        (tmp / "feed.xml").write_bytes(seed_like_feed(20))
        up = free_port()
        upstream = static_server(up, tmp / "feed.xml")
        path = f"/feed?url=http://127.0.0.1:{up}/feed.xml"
        figures: dict[str, float] = {}
        try:
            await wait_up(f"http://127.0.0.1:{up}/feed.xml")
            for i, tree in enumerate(trees):
                port = free_port()
                env = {
                    **os.environ,
                    "FEEDSCRUB_HOST": "127.0.0.1",
                    "FEEDSCRUB_PORT": str(port),
                    "FEEDSCRUB_CACHE_DIR": str(tmp / f"cache{i}"),
                    "FEEDSCRUB_ALLOW_PRIVATE": "true",
                    "FEEDSCRUB_LOG_LEVEL": log_level,
                    "FEEDSCRUB_TTL": "3600",
                }
                url = f"http://127.0.0.1:{port}{path}"
                argv = [sys.executable, "-m", "proxy", "serve"]
                figures[str(tree)] = await _instructions(argv, tree, env, url, requests, dumps)
                if i == 0:  # the answer the bare handler repeats: a fresh server's hit
                    served = subprocess.Popen(argv, cwd=tree, env=env, stderr=subprocess.DEVNULL)
                    try:
                        await wait_up(url)
                        identity = {"Accept-Encoding": "identity"}
                        async with (
                            aiohttp.ClientSession() as session,
                            session.get(url, headers=identity) as response,
                        ):
                            (tmp / "body").write_bytes(await response.read())
                            head = {
                                k: v
                                for k, v in response.headers.items()
                                if k.lower() not in _OWN_HEADERS
                            }
                            (tmp / "headers.json").write_text(json.dumps(head))
                    finally:
                        stop(served)
            port = free_port()
            bare = [
                sys.executable,
                "-c",
                BARE_SERVER,
                str(port),
                str(tmp / "body"),
                str(tmp / "headers.json"),
            ]
            figures["bare"] = await _instructions(
                bare, None, dict(os.environ), f"http://127.0.0.1:{port}{path}", requests, dumps
            )
        finally:
            stop(upstream)
    for what, count in figures.items():
        ratio = f"  bare ÷ this {figures['bare'] / count:.3f}" if what != "bare" else ""
        print(f"{count:10.0f} instructions/request  {what}{ratio}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_tree_option(parser)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the callgrind dumps in this directory (cg.N.PID: N counts the servers run, "
        "the bare handler last), for callgrind_annotate",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        help="feedscrub's FEEDSCRUB_LOG_LEVEL (INFO, the default of a real instance, writes an "
        "access line per request, to /dev/null here; the bare handler never logs)",
    )
    args = parser.parse_args()
    asyncio.run(main([ROOT, *args.tree], args.requests, args.keep, args.log_level))

"""What the benchmark scripts share: seed-like feeds, local servers, and CPU/RSS readings of
another process. Everything listens on 127.0.0.1; each script starts and stops its own."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
SEED = (ROOT / "tests" / "data" / "seed" / "feedx-rfi-item.html").read_text(encoding="utf-8")

NOISE = (
    "(shared machine: other sessions share these cores, so absolute times move run to run; "
    "read the ratios, each measured against its baseline in the same run, medians of repeats)"
)


def short_seed() -> str:
    """The seed item with only its first two article paragraphs, all of its junk kept."""
    paragraphs = SEED.split("<p><span>")
    return "<p><span>".join(paragraphs[:3]) + "<p><span>" + paragraphs[-1].split("</p>", 1)[1]


def seed_like_feed(
    items: int, html: str = SEED, *, changed: int | None = None, version: int = 0, link: str = ""
) -> bytes:
    """An RSS feed of ``items`` copies of the seed item (feedx.net's RFI feed, the feed that
    started the project), each with its own text so no cache or interning makes later items
    cheaper. changed/version: item ``changed`` carries ``version`` in its title and text (a
    refresh where one item changed upstream). link: the items' link base (default
    https://bench.test/, which no benchmark fetches)."""
    base = link or "https://bench.test/"
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>bench</title><link>{base}</link><description>d</description>"
    ]
    for i in range(items):
        mark = f"{i}v{version}" if i == changed else str(i)
        item_html = html.replace("布林肯", f"布林肯{mark}")
        parts.append(
            f"<item><title>item {mark}</title><link>{base}{i}</link>"
            f'<guid isPermaLink="false">bench-{i}</guid>'
            f"<pubDate>Sun, 18 Jun 2023 23:50:00 GMT</pubDate>"
            f"<description><![CDATA[{item_html}]]></description></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode("utf-8")


def median(values: list[float]) -> float:
    return statistics.median(values)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Serves the bytes of the file named on its command line, read again on every request (a
# benchmark rewrites the file to change the upstream), on every path.
STATIC_SERVER = """
import sys
from aiohttp import web
path = sys.argv[2]
cached = [None, None]
def body():
    import os
    stamp = os.stat(path).st_mtime_ns
    if cached[0] != stamp:
        cached[0], cached[1] = stamp, open(path, 'rb').read()
    return cached[1]
async def handler(request):
    return web.Response(body=body(), content_type='application/rss+xml', charset='utf-8')
async def article(request):
    return web.Response(status=404, text='no article here')
app = web.Application()
app.router.add_get('/a/{tail:.*}', article)
app.router.add_get('/{tail:.*}', handler)
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)
"""

# A bare aiohttp handler returning fixed bytes: the warm baseline (no file check per request).
# With a third argument, a JSON file of response headers, it sends those too: the same
# response head as the server it stands beside, not a shorter one.
BARE_SERVER = """
import json, sys
from aiohttp import web
body = open(sys.argv[2], 'rb').read()
headers = json.load(open(sys.argv[3])) if len(sys.argv) > 3 else None
async def handler(request):
    if headers is not None:
        return web.Response(body=body, headers=headers)
    return web.Response(body=body, content_type='application/rss+xml', charset='utf-8')
app = web.Application()
app.router.add_get('/{tail:.*}', handler)
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)
"""


def start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(*processes: subprocess.Popen[bytes]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def static_server(port: int, path: Path) -> subprocess.Popen[bytes]:
    return start([sys.executable, "-c", STATIC_SERVER, str(port), str(path)])


def bare_server(port: int, path: Path, headers: Path | None = None) -> subprocess.Popen[bytes]:
    """The bare handler serving ``path``'s bytes (and the headers in ``headers``, JSON)."""
    extra = [str(headers)] if headers is not None else []
    return start([sys.executable, "-c", BARE_SERVER, str(port), str(path), *extra])


def feedscrub(port: int, cache: str, **extra: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FEEDSCRUB_HOST": "127.0.0.1",
        "FEEDSCRUB_PORT": str(port),
        "FEEDSCRUB_CACHE_DIR": cache,
        "FEEDSCRUB_ALLOW_PRIVATE": "true",
        "FEEDSCRUB_LOG_LEVEL": "WARNING",
        "FEEDSCRUB_TTL": "3600",
        **extra,
    }
    return start([sys.executable, "-m", "proxy", "serve"], env)


def in_process_settings(tmp: str, *, max_body_bytes: int = 256 * 1024 * 1024) -> Any:
    """Settings for the app run inside a bench process: 127.0.0.1 on a free port, the cache in
    ``tmp``, the local upstream allowed, an hour's TTL (every request of a run is cold)."""
    from proxy.config import Settings  # the caller has put the repository on sys.path

    return Settings(
        host="127.0.0.1",
        port=free_port(),
        cache_dir=str(Path(tmp) / "cache"),
        allow_private=True,
        ttl=3600,
        max_body_bytes=max_body_bytes,
    )


def add_tree_option(parser: argparse.ArgumentParser) -> None:
    """--tree, for the *_instructions.py benchmarks: other checkouts measured after this one."""
    parser.add_argument(
        "--tree",
        type=Path,
        action="append",
        default=[],
        help="another checkout holding proxy/ (repeatable)",
    )


def callgrind_total(dump: Path) -> int:
    """The instructions a callgrind dump counted: its `summary:` line, or `totals:` in a dump
    that `callgrind_control -d` asked for (the *_instructions.py benchmarks)."""
    found = re.search(r"^(?:summary|totals):\s+(\d+)", dump.read_text(errors="replace"), re.M)
    assert found, dump
    return int(found.group(1))


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of ``pid`` so far, in ns (schedstat: finer than the 10 ms
    ticks of /proc/pid/stat; the build threads of the server stay in their pool, so none of
    their time leaves with an exited thread)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a thread ended
            total += int((task / "schedstat").read_text().split()[0])
    return total


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def wait_up(url: str, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < end:
            try:
                async with session.get(url) as response:
                    await response.read()
                    if response.status < 500:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} never came up")


async def requests_per_second(url: str, concurrency: int, seconds: float) -> float:
    """Requests per second with `concurrency` connections hammering `url` for `seconds`."""
    done = 0
    end = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    # identity: compared servers send the same uncompressed bytes, so a ratio compares
    # serving paths, not compression.
    headers = {"Accept-Encoding": "identity"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < end:
                async with session.get(url) as response:
                    await response.read()
                    assert response.status == 200, response.status
                done += 1

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.monotonic() - started)


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


async def get_ok(session: aiohttp.ClientSession, url: str) -> bytes:
    """The body of a GET that must answer 200 (anything else raises, with the start of it)."""
    async with session.get(url) as response:
        body = await response.read()
        if response.status != 200:
            raise RuntimeError(f"{url}: {response.status} {body[:200]!r}")
        return body

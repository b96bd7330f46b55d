"""Replicas on Redis: throughput, latency and single flight, against one replica on diskcache.

    python bench/replicas.py                   # everything, ~1 minute
    python bench/replicas.py --port-base 23100 # fixed ports from there on (else free ones)

Everything on 127.0.0.1, started here: a redis-server (Debian's; no persistence), an upstream
that counts its requests, feedscrub replicas (`feedscrub serve` subprocesses) and a small
round-robin aiohttp load balancer.

(a) cached /feed requests per second, 50 connections: one replica on diskcache (the baseline,
    direct and behind the balancer), one and three replicas on Redis behind the balancer, and
    three on Redis with the client spreading requests itself (no balancer in the way);
(b) latency of a cached request, one connection: diskcache vs Redis (HTTP, p50/p99), and the
    store reads behind a request that misses the in-memory copy (get_feed + get_output);
(c) upstream requests for 1,000 concurrent misses spread over three replicas (must be 1);
(d) for the image decision: reading a 300 KB image from the local disk cache vs from Redis.

The machine is shared (2 cores for several sessions): read ratios, not absolute numbers, and
expect three replicas plus a Python balancer on two cores not to triple anything.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

from harness import free_port, requests_per_second, seed_like_feed, start, wait_up  # noqa: E402

from proxy.store import DiskStore, ImageRecord, Store, StoredFeed, StoredOutput  # noqa: E402
from proxy.store.redis_store import RedisStore  # noqa: E402

COUNTING_UPSTREAM = """
import asyncio, sys
from collections import Counter
from aiohttp import web
body = open(sys.argv[2], 'rb').read()
hits = Counter()
async def feed(request):
    hits[request.path] += 1
    await asyncio.sleep(0.5)        # a slow upstream: every miss overlaps the others
    return web.Response(body=body, content_type='application/rss+xml', charset='utf-8')
async def count(request):
    return web.json_response(hits)
app = web.Application()
app.router.add_get('/count', count)
app.router.add_get('/{tail:.*}', feed)
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)
"""

BALANCER = """
import itertools, sys
import aiohttp
from aiohttp import web
backends = itertools.cycle(sys.argv[2:])
session = None
async def start(app):
    global session
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), auto_decompress=False)
async def stop(app):
    await session.close()
KEEP = ('content-type', 'etag', 'content-encoding', 'cache-status')
async def forward(request):
    url = next(backends) + request.path_qs
    encoding = request.headers.get('Accept-Encoding', 'identity')
    async with session.get(url, headers={'Accept-Encoding': encoding}) as r:
        headers = {k: v for k, v in r.headers.items() if k.lower() in KEEP}
        return web.Response(body=await r.read(), status=r.status, headers=headers)
app = web.Application()
app.on_startup.append(start)
app.on_cleanup.append(stop)
app.router.add_get('/{tail:.*}', forward)
web.run_app(app, host='127.0.0.1', port=int(sys.argv[1]), print=None, access_log=None)
"""


class Ports:
    def __init__(self, base: int) -> None:
        self._next = itertools.count(base) if base else None

    def take(self) -> int:
        return next(self._next) if self._next is not None else free_port()


def _replica(port: int, cache: str, cache_url: str = "") -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FEEDSCRUB_")},
        "FEEDSCRUB_HOST": "127.0.0.1",
        "FEEDSCRUB_PORT": str(port),
        "FEEDSCRUB_CACHE_DIR": cache,
        "FEEDSCRUB_CACHE_URL": cache_url,
        "FEEDSCRUB_ALLOW_PRIVATE": "true",
        "FEEDSCRUB_LOG_LEVEL": "WARNING",
        "FEEDSCRUB_TTL": "3600",
    }
    return start([sys.executable, "-m", "proxy", "serve"], env)


NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx-{port}.pid;
error_log {dir}/nginx-{port}.log warn;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/nginx-body; proxy_temp_path {dir}/nginx-proxy;
    fastcgi_temp_path {dir}/nginx-fcgi; uwsgi_temp_path {dir}/nginx-uwsgi;
    scgi_temp_path {dir}/nginx-scgi;
    upstream replicas {{ {servers} keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://replicas;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""


def _balancer(port: int, backends: list[int], directory: str) -> subprocess.Popen[bytes]:
    """nginx from Debian when installed (as in the compose file), else a small aiohttp one."""
    nginx = _nginx()
    if nginx is None:
        return start(
            [
                sys.executable,
                "-c",
                BALANCER,
                str(port),
                *(f"http://127.0.0.1:{b}" for b in backends),
            ]
        )
    servers = " ".join(f"server 127.0.0.1:{b};" for b in backends)
    conf = Path(directory) / f"nginx-{port}.conf"
    conf.write_text(NGINX_CONF.format(dir=directory, port=port, servers=servers))
    return start([nginx, "-c", str(conf), "-p", directory])


def _nginx() -> str | None:
    found = shutil.which("nginx")  # Debian puts it in /usr/sbin, often not on a user's PATH
    return found or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def balancer_kind() -> str:
    return "nginx (1 worker)" if _nginx() else "aiohttp round-robin (bench/replicas.py)"


def _redis(port: int, directory: str) -> subprocess.Popen[bytes]:
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("bench/replicas.py needs redis-server (apt-get install redis-server)")
    return start(
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            directory,
        ]
    )


async def _latency(url: str, count: int = 400) -> tuple[float, float]:
    """p50 and p99 in ms of one request at a time."""
    times = []
    async with aiohttp.ClientSession(headers={"Accept-Encoding": "identity"}) as session:
        for _ in range(count):
            started = time.perf_counter()
            async with session.get(url) as response:
                await response.read()
                assert response.status == 200
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


async def _spread_load(urls: list[str], concurrency: int, seconds: float) -> float:
    rates = await asyncio.gather(
        *(requests_per_second(u, concurrency // len(urls), seconds) for u in urls)
    )
    return sum(rates)


async def bench(port_base: int, seconds: float) -> dict[str, object]:
    ports = Ports(port_base)
    processes: list[subprocess.Popen[bytes]] = []
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        feed_file = Path(tmp) / "feed.xml"
        feed_file.write_bytes(seed_like_feed(20))
        up_port, redis_port = ports.take(), ports.take()
        upstream = f"http://127.0.0.1:{up_port}"
        redis_url = f"redis://127.0.0.1:{redis_port}/0"
        try:
            processes.append(
                start([sys.executable, "-c", COUNTING_UPSTREAM, str(up_port), str(feed_file)])
            )
            processes.append(_redis(redis_port, tmp))
            disk_port = ports.take()
            processes.append(_replica(disk_port, str(Path(tmp) / "disk")))
            redis_ports = [ports.take() for _ in range(3)]
            for n, port in enumerate(redis_ports):
                processes.append(_replica(port, str(Path(tmp) / f"r{n}"), redis_url))
            lb_disk, lb_one, lb_three = ports.take(), ports.take(), ports.take()
            for port, backends in (
                (lb_disk, [disk_port]),
                (lb_one, redis_ports[:1]),
                (lb_three, redis_ports),
            ):
                processes.append(_balancer(port, backends, tmp))
            for port in (disk_port, *redis_ports, lb_disk, lb_one, lb_three):
                await wait_up(f"http://127.0.0.1:{port}/healthz")
            await wait_up(f"{upstream}/count")

            def feed(port: int, path: str = "/feed.xml") -> str:
                return f"http://127.0.0.1:{port}/feed?url={upstream}{path}"

            for port in (disk_port, *redis_ports):  # warm: every replica has it in memory
                await requests_per_second(feed(port), 1, 0.2)

            # (a) throughput: the configurations in turn, three rounds, best of each (the
            # machine is shared: alternating spreads its noise over all of them alike)
            runs: dict[str, Callable[[], Awaitable[float]]] = {
                "diskcache, 1 replica, direct": lambda: requests_per_second(
                    feed(disk_port), 50, seconds
                ),
                "diskcache, 1 replica, balancer": lambda: requests_per_second(
                    feed(lb_disk), 50, seconds
                ),
                "redis, 1 replica, balancer": lambda: requests_per_second(
                    feed(lb_one), 50, seconds
                ),
                "redis, 3 replicas, balancer": lambda: requests_per_second(
                    feed(lb_three), 50, seconds
                ),
                "redis, 3 replicas, client spreads": lambda: _spread_load(
                    [feed(p) for p in redis_ports], 51, seconds
                ),
            }
            rps = {name: 0.0 for name in runs}
            for _ in range(3):
                for name, run in runs.items():
                    rps[name] = max(rps[name], await run())
            results["rps"] = rps

            # (b) latency, HTTP (served from the replica's in-memory copy either way)
            results["latency_ms"] = {
                "diskcache": await _latency(feed(disk_port)),
                "redis": await _latency(feed(redis_ports[0])),
            }

            # (c) 1,000 concurrent misses over three replicas, through the balancer
            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector) as session:

                async def one(n: int) -> int:
                    async with session.get(feed(lb_three, "/cold.xml")) as response:
                        await response.read()
                        return response.status

                statuses = await asyncio.gather(*(one(n) for n in range(1000)))
                async with session.get(f"{upstream}/count") as response:
                    hits = await response.json()
            results["misses"] = {
                "requests": len(statuses),
                "answered_200": sum(1 for s in statuses if s == 200),
                "upstream_requests": hits.get("/cold.xml", 0),
            }
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        # (b) store reads and (d) images, in this process, on a fresh redis-server
        redis_port = ports.take()
        server = _redis(redis_port, tmp)
        try:
            await asyncio.sleep(0.3)
            results["store_us"], results["image_ms"] = await _store_reads(
                str(Path(tmp) / "store"), f"redis://127.0.0.1:{redis_port}/0", feed_file
            )
        finally:
            server.terminate()
            server.wait()
    return results


async def _store_reads(
    directory: str, redis_url: str, feed_file: Path
) -> tuple[dict[str, float], dict[str, float]]:
    body = feed_file.read_bytes()
    stored = StoredFeed(
        url="http://a.test/f",
        final_url="http://a.test/f",
        body=body,
        content_type="application/rss+xml",
        kind="rss",
        etag=None,
        last_modified=None,
        fetched_at=1.0,
        checked_at=1.0,
    )
    output = StoredOutput(body=body, etag='"e"', created_at=1.0, gzip_body=body[: len(body) // 4])
    image = os.urandom(300 * 1024)
    store_us: dict[str, float] = {}
    image_ms: dict[str, float] = {}
    disk = DiskStore(directory + "-disk")
    shared = RedisStore(redis_url, directory + "-redis")
    try:
        stores: dict[str, Store] = {"diskcache": disk, "redis": shared}
        times: dict[str, list[float]] = {name: [] for name in stores}
        for store in stores.values():
            await store.put_feed(stored)
            await store.put_output("k", output)
        for _ in range(300):  # interleaved: the machine's noise falls on both alike
            for name, store in stores.items():
                started = time.perf_counter()
                assert await store.get_feed(stored.url) is not None
                assert await store.get_output("k") is not None
                times[name].append((time.perf_counter() - started) * 1e6)
        store_us = {name: statistics.median(values) for name, values in times.items()}
        disk.images.put_image_file(
            "http://a.test/i", ImageRecord("image/jpeg", '"i"'), io.BytesIO(image)
        )
        await shared.client.set("bench:image", image)
        local, remote = [], []
        for _ in range(100):
            started = time.perf_counter()
            opened = await asyncio.to_thread(disk.images.open_image, "http://a.test/i")
            assert opened is not None
            opened.file.seek(opened.offset)
            await asyncio.to_thread(opened.file.read, opened.size)
            opened.close()
            local.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            assert len(await shared.client.get("bench:image")) == len(image)  # type: ignore[arg-type]
            remote.append((time.perf_counter() - started) * 1000)
        image_ms = {"disk": statistics.median(local), "redis": statistics.median(remote)}
    finally:
        await disk.close()
        await shared.close()
    return store_us, image_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port-base", type=int, default=0, help="first port (default: free)")
    parser.add_argument("--seconds", type=float, default=2.0, help="per throughput run")
    args = parser.parse_args()
    r = asyncio.run(bench(args.port_base, args.seconds))
    rps: dict[str, float] = r["rps"]  # type: ignore[assignment]
    base = rps["diskcache, 1 replica, direct"]
    base_lb = rps["diskcache, 1 replica, balancer"]
    print(f"balancer: {balancer_kind()}; {os.cpu_count()} CPUs shared with other work")
    print("(a) cached /feed requests per second, 50 connections")
    for name, value in rps.items():
        print(
            f"    {name:36s} {value:8.0f} req/s   ×{value / base:.2f} of diskcache direct"
            + (
                f"   ×{value / base_lb:.2f} of diskcache behind the balancer"
                if "balancer" in name
                else ""
            )
        )
    latency: dict[str, tuple[float, float]] = r["latency_ms"]  # type: ignore[assignment]
    print("(b) cached request latency, one connection (p50 / p99 ms)")
    for name, (p50, p99) in latency.items():
        print(f"    {name:10s} {p50:6.2f} / {p99:6.2f}")
    store_us: dict[str, float] = r["store_us"]  # type: ignore[assignment]
    print(
        "    store reads behind a request past the in-memory copy (get_feed + get_output, "
        f"{len(seed_like_feed(20)) // 1024} KB each, median)"
    )
    for name, value in store_us.items():
        print(f"    {name:10s} {value:8.0f} µs   ×{value / store_us['diskcache']:.2f}")
    misses: dict[str, int] = r["misses"]  # type: ignore[assignment]
    print(
        f"(c) {misses['requests']} concurrent misses over 3 replicas: "
        f"{misses['answered_200']} answered 200, upstream requests: "
        f"{misses['upstream_requests']} (must be 1)"
    )
    image_ms: dict[str, float] = r["image_ms"]  # type: ignore[assignment]
    print(
        f"(d) a 300 KB image: local disk cache {image_ms['disk']:.2f} ms, "
        f"Redis GET {image_ms['redis']:.2f} ms (median)"
    )


if __name__ == "__main__":
    main()

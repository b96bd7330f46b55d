"""Three replicas on one real redis-server: one upstream request per miss across all of them,
a dead lock holder, the server going away and coming back, shared image keys and raw bodies.

Replicas are real apps: in-process aiohttp servers (each with its own cache dir, memory and
Redis client), and a `feedscrub serve` subprocess where one must be killed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient

from proxy.config import Settings
from proxy.reload import load_feeds
from proxy.server import CACHE, PIPELINE, create_app
from proxy.store.redis_store import RedisStore
from tests.helpers import DATA, img_paths, read_feed, seed_feed
from tests.redis_server import RedisServer, free_port, needs_redis
from tests.upstream import Upstream

pytestmark = needs_redis

Client = TestClient[Any, Any]
MakeReplicas = Callable[..., Awaitable[list[Client]]]
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A server of this test's own: tests here stop and restart it."""
    server = RedisServer(tmp_path / "redis")
    server.directory.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def replica_settings(tmp_path: Path, redis: RedisServer) -> Callable[..., Settings]:
    def build(number: int, **changes: Any) -> Settings:
        return Settings(
            cache_dir=str(tmp_path / f"replica-{number}"),
            cache_url=redis.url,
            allow_private=True,
            public_url="http://proxy.test",
            fetch_timeout=5.0,
            connect_timeout=2.0,
        ).replace(**changes).validate()

    return build


@pytest.fixture
def make_replicas(
    aiohttp_client: AiohttpClient, replica_settings: Callable[..., Settings]
) -> MakeReplicas:
    async def build(count: int = 3, first: int = 0, **changes: Any) -> list[Client]:
        return [
            await aiohttp_client(create_app(replica_settings(first + n, **changes)))
            for n in range(count)
        ]

    return build


def app_of(client: Client) -> web.Application:
    assert isinstance(client.server, TestServer)
    return client.server.app


async def answers(client: Client, url: str) -> tuple[int, bytes]:
    response = await client.get("/feed", params={"url": url})
    return response.status, await response.read()


async def ready_text(client: Client) -> str:
    response = await client.get("/readyz")
    assert response.status == 200  # degraded is still ready: the replica serves
    return await response.text()


async def wait_shared(clients: list[Client], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        texts = [await ready_text(c) for c in clients]
        if all(t == "ready\n" for t in texts):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"replicas still degraded after {seconds}s: {texts}")


def forget_hot(client: Client) -> None:
    """Drop the pipeline's in-memory rendered copies, so the next request reads the store."""
    pipeline = app_of(client)[PIPELINE]
    pipeline.reload(pipeline.feeds)


async def test_300_concurrent_misses_over_three_replicas_make_one_upstream_request(
    upstream: Upstream, make_replicas: MakeReplicas
) -> None:
    url = upstream.route("/rfi.xml", seed_feed(), delay=0.3)
    replicas = await make_replicas()
    results = await asyncio.gather(*(answers(replicas[n % 3], url) for n in range(300)))
    assert [status for status, _ in results] == [200] * 300
    assert len({body for _, body in results}) == 1
    assert upstream.hits["/rfi.xml"] == 1


async def test_a_failed_fetch_is_shared_too(
    upstream: Upstream, make_replicas: MakeReplicas
) -> None:
    url = upstream.route("/down.xml", b"down", status=500, content_type="text/plain", delay=0.3)
    replicas = await make_replicas()
    results = await asyncio.gather(*(answers(replicas[n % 3], url) for n in range(30)))
    assert {status for status, _ in results} == {502}
    assert all(b"500" in body and b"Traceback" not in body for _, body in results)
    assert upstream.hits["/down.xml"] == 1


async def test_a_replica_killed_while_fetching_holds_the_others_up_no_longer_than_the_lock(
    upstream: Upstream,
    make_replicas: MakeReplicas,
    redis: RedisServer,
    tmp_path: Path,
) -> None:
    requests: list[float] = []

    async def first_hangs(request: web.Request) -> web.Response:
        requests.append(time.monotonic())
        if len(requests) == 1:
            await asyncio.sleep(60)  # the replica holding the lock dies before this ends
        return web.Response(body=seed_feed(), content_type="application/rss+xml")

    url = upstream.route("/rfi.xml", handler=first_hangs)
    fetch_timeout = 2.0
    port = free_port()
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("FEEDSCRUB_")
    } | {
        "FEEDSCRUB_CACHE_URL": redis.url,
        "FEEDSCRUB_CACHE_DIR": str(tmp_path / "doomed"),
        "FEEDSCRUB_ALLOW_PRIVATE": "true",
        "FEEDSCRUB_FETCH_TIMEOUT": str(fetch_timeout),
        "FEEDSCRUB_LOG_LEVEL": "WARNING",
    }
    doomed = subprocess.Popen(
        [sys.executable, "-m", "proxy", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    async with session.get(base + "/healthz") as health:
                        if health.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.05)
            pending = asyncio.ensure_future(session.get(base + "/feed", params={"url": url}))
            for _ in range(200):
                if requests:
                    break
                await asyncio.sleep(0.02)
            assert requests, "the doomed replica never asked the upstream"
            doomed.send_signal(signal.SIGKILL)  # by its pid, mid-fetch, lock held
            doomed.wait(timeout=10)
            pending.cancel()
            killed_at = time.monotonic()
            others = await make_replicas(2, fetch_timeout=fetch_timeout)
            results = await asyncio.gather(*(answers(others[n % 2], url) for n in range(20)))
            elapsed = time.monotonic() - killed_at
    finally:
        if doomed.poll() is None:
            doomed.kill()
            doomed.wait(timeout=10)
        assert doomed.stderr is not None
        doomed.stderr.close()
    assert [status for status, _ in results] == [200] * 20
    lock_lifetime = fetch_timeout + 5.0  # pipeline.FLIGHT_MARGIN_SECONDS
    assert elapsed < lock_lifetime + 3.0  # lock lifetime + the upstream's latency, generously
    assert len(requests) == 2  # the dead one's, then exactly one more


async def test_redis_stopped_then_back_no_outage_and_shared_again_without_restart(
    upstream: Upstream, make_replicas: MakeReplicas, redis: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    had = upstream.route("/had.xml", seed_feed())
    replicas = await make_replicas()
    before = [await answers(r, had) for r in replicas]
    assert upstream.hits["/had.xml"] == 1
    redis.stop()
    cold = upstream.route("/cold.xml", seed_feed().replace(b"feedx", b"feedy"))
    for replica in replicas:
        forget_hot(replica)  # what the replica answers from now is its store's memory copy
        assert await answers(replica, had) == before[0]
        status, body = await answers(replica, cold)
        assert status == 200 and b"<rss" in body and b"Traceback" not in body
        text = await ready_text(replica)
        assert text.startswith("ready, degraded: shared cache redis://127.0.0.1:")
    assert upstream.hits["/had.xml"] == 1  # answered from memory
    assert upstream.hits["/cold.xml"] == 3  # each replica fetched it directly
    redis.start()  # same port, empty (no persistence)
    await wait_shared(replicas)
    # Shared again: concurrent misses on all three make one request.
    fresh = upstream.route("/fresh.xml", seed_feed(), delay=0.2)
    results = await asyncio.gather(*(answers(replicas[n % 3], fresh) for n in range(30)))
    assert {status for status, _ in results} == {200}
    assert upstream.hits["/fresh.xml"] == 1
    # Nothing stored while it was away is lost: written back, a new replica has it.
    newcomer = (await make_replicas(1, first=3))[0]
    assert (await answers(newcomer, cold))[0] == 200
    # The signing key too: the server came back empty, the replicas put the key back.
    assert app_of(newcomer)[PIPELINE].key == app_of(replicas[0])[PIPELINE].key
    assert upstream.hits["/cold.xml"] == 3
    assert "Traceback" not in caplog.text


async def test_an_image_link_made_by_one_replica_is_served_by_another(
    upstream: Upstream, make_replicas: MakeReplicas
) -> None:
    png = (DATA / "images" / "red.png").read_bytes()
    upstream.route("/seed.jpg", png, content_type="image/png")
    url = upstream.route("/rfi.xml", seed_feed(image_base=upstream.base_url))
    maker, server = await make_replicas(2)  # no FEEDSCRUB_SECRET: the key is generated
    assert app_of(maker)[PIPELINE].key == app_of(server)[PIPELINE].key
    status, body = await answers(maker, url)
    assert status == 200
    link = img_paths(read_feed(body).entries[0].description)[0]
    response = await server.get(link)
    assert response.status == 200
    assert await response.read() == png


async def test_a_rule_change_on_one_replica_recleans_from_the_shared_body(
    upstream: Upstream, make_replicas: MakeReplicas, tmp_path: Path
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    first, second = await make_replicas(2)
    status, before = await answers(first, url)
    assert status == 200 and "第二条新闻的正文".encode() in before
    config = tmp_path / "feedscrub.toml"
    config.write_text('[defaults]\nremove_text = ["第二条新闻的正文"]\n', encoding="utf-8")
    app_of(second)[PIPELINE].reload(load_feeds(str(config)))
    status, after = await answers(second, url)
    assert status == 200 and "第二条新闻的正文".encode() not in after
    assert "第二条新闻".encode() in after  # the item (its title) is still there
    assert upstream.hits["/rfi.xml"] == 1  # cleaned again from the shared raw body


async def test_the_store_is_redis_and_keeps_records_there(
    upstream: Upstream, make_replicas: MakeReplicas, redis: RedisServer
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    (replica,) = await make_replicas(1)
    store = app_of(replica)[CACHE]
    assert isinstance(store, RedisStore)
    await answers(replica, url)
    keys = await store.client.keys("feedscrub:*")
    assert b"feedscrub:feed:" + url.encode() in keys
    assert b"feedscrub:secret" in keys
    assert await store.client.ttl(b"feedscrub:secret") == -1  # never expires, never evicted
    assert await store.client.ttl(b"feedscrub:feed:" + url.encode()) > 0


async def test_backoff_and_the_negative_cache_are_shared(
    upstream: Upstream, make_replicas: MakeReplicas
) -> None:
    gone = upstream.route("/gone.xml", b"gone", status=404, content_type="text/plain")
    down = upstream.route("/down.xml", b"down", status=500, content_type="text/plain")
    replicas = await make_replicas(negative_ttl=300)
    for replica in replicas:  # one after the other: no flight to share, only the records
        status, body = await answers(replica, gone)
        assert status == 502 and b"404" in body
    assert upstream.hits["/gone.xml"] == 1
    # Two failures in a row (on two replicas) start the backoff; the third replica obeys it.
    statuses = [(await answers(replica, down))[0] for replica in replicas]
    assert statuses == [502, 502, 503]
    assert upstream.hits["/down.xml"] == 2


async def test_full_text_articles_are_fetched_once_for_all_replicas(
    upstream: Upstream, make_replicas: MakeReplicas
) -> None:
    from tests.server.test_fulltext import serve_story

    url = serve_story(upstream)
    first, second = await make_replicas(2)
    for replica, fmt in ((first, "atom"), (second, "rss")):  # rss: built anew on the second
        response = await replica.get("/feed", params={"url": url, "fulltext": "1", "format": fmt})
        assert response.status == 200
        assert "MARKER-LEAD" in (await response.read()).decode("utf-8")
    assert upstream.hits["/story.html"] == 1
    assert upstream.hits["/teasers.xml"] == 1


async def test_the_cli_uses_the_shared_store_and_will_not_rotate_a_shared_key(
    upstream: Upstream, make_replicas: MakeReplicas, redis: RedisServer, tmp_path: Path
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    (replica,) = await make_replicas(1)
    assert (await answers(replica, url))[0] == 200
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDSCRUB_")} | {
        "FEEDSCRUB_CACHE_URL": redis.url,
        "FEEDSCRUB_CACHE_DIR": str(tmp_path / "cli"),
        "FEEDSCRUB_ALLOW_PRIVATE": "true",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "clean", url, env=env, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err
    read_feed(out)
    assert upstream.hits["/rfi.xml"] == 1  # the replica's fetch, shared
    rotate = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "proxy", "rotate-secret", env=env, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await rotate.communicate()
    assert rotate.returncode == 1
    assert err.decode().count("\n") == 1 and "FEEDSCRUB_SECRET" in err.decode()


async def test_a_cached_request_sends_nothing_to_the_server(
    upstream: Upstream, make_replicas: MakeReplicas
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    (replica,) = await make_replicas(1)
    assert (await answers(replica, url))[0] == 200
    store = app_of(replica)[CACHE]
    assert isinstance(store, RedisStore)
    before = (await store.client.info("stats"))["total_commands_processed"]
    for _ in range(50):
        assert (await answers(replica, url))[0] == 200
    after = (await store.client.info("stats"))["total_commands_processed"]
    assert after - before == 1  # the INFO above; readers' polls are answered from memory

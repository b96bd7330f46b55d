"""Issue 9.2: one feed must not block its host's other feeds.

Errors of one URL back off that URL only; a host (and port) is left alone only when the host
itself says so: 429/503 with Retry-After, connection refused, TLS failure. A 503 from the
backoff never quotes a URL.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient, AiohttpServer

from proxy.backoff import Backoff, backoff_key
from proxy.errors import (
    HostUnreachable,
    UpstreamBackoff,
    UpstreamStatus,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from proxy.server import create_app
from tests.helpers import move_clock, seed_feed
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]


async def _client(aiohttp_client: AiohttpClient, make_settings: Any) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(make_settings(stale_while_revalidate=0)))


async def test_shared_republisher_one_dead_feed_others_keep_working(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    dead = upstream.route("/dead.xml?token=s3cr3t", b"oops", status=500, content_type="text/plain")
    working = [upstream.route(f"/feed{i}.xml", seed_feed()) for i in range(30)]
    client = await _client(aiohttp_client, make_settings)
    statuses = [(await client.get("/feed", params={"url": dead})).status for _ in range(4)]
    assert statuses == [502, 502, 503, 503]  # the dead feed itself backs off
    assert upstream.hits["/dead.xml"] == 2
    for url in working:
        response = await client.get("/feed", params={"url": url})
        assert response.status == 200, await response.text()
    answer = await client.get("/feed", params={"url": dead})
    text = await answer.text()
    assert answer.status == 503
    assert "s3cr3t" not in text and "/dead.xml" not in text and "http" not in text


async def test_retry_after_blocks_that_host_and_port_only(
    aiohttp_server: AiohttpServer, aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    busy, calm = Upstream(), Upstream()
    for up in (busy, calm):
        server = await aiohttp_server(up.app, host="127.0.0.1")
        up.base_url = str(server.make_url("")).rstrip("/")
    limited = busy.route(
        "/private.xml?token=s3cr3t",
        b"slow down",
        status=429,
        content_type="text/plain",
        headers={"Retry-After": "120"},
    )
    neighbour = busy.route("/other.xml", seed_feed())
    other_port = calm.route("/feed.xml", seed_feed())
    client = await _client(aiohttp_client, make_settings)
    assert (await client.get("/feed", params={"url": limited})).status == 502
    blocked = await client.get("/feed", params={"url": neighbour})
    text = await blocked.text()
    assert blocked.status == 503 and 0 < int(blocked.headers["Retry-After"]) <= 120
    assert "s3cr3t" not in text and "private.xml" not in text and "http" not in text
    assert busy.hits["/other.xml"] == 0
    # Same host name, another port: another server, not blocked.
    assert (await client.get("/feed", params={"url": other_port})).status == 200
    move_clock(client, 121)
    assert (await client.get("/feed", params={"url": neighbour})).status == 200


async def test_connection_refused_backs_off_the_host_and_port(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first, second = (f"http://127.0.0.1:{port}/a{i}.xml?token=s3cr3t" for i in range(2))
    working = upstream.route("/feed.xml", seed_feed())
    client = await _client(aiohttp_client, make_settings)
    assert (await client.get("/feed", params={"url": first})).status == 502
    assert (await client.get("/feed", params={"url": first})).status == 502
    other = await client.get("/feed", params={"url": second})
    text = await other.text()
    assert other.status == 503 and f":{port}" in text and "s3cr3t" not in text
    assert (await client.get("/feed", params={"url": working})).status == 200


def test_which_errors_back_off_the_host_and_which_the_url() -> None:
    now = [1000.0]
    backoff = Backoff(clock=lambda: now[0], jitter=lambda: 1.0)
    a, b = "http://host.test/a.xml", "http://host.test/b.xml"
    other_port = "http://host.test:8081/a.xml"
    # 5xx, timeouts, 429/503 without Retry-After, DNS failures: the URL only.
    for error in (
        UpstreamStatus("fetch: upstream answered 500 (http://host.test/a.xml)", 500),
        UpstreamStatus("fetch: upstream answered 503 (http://host.test/a.xml)", 503),
        UpstreamTimeout("fetch: no response (http://host.test/a.xml)"),
        UpstreamUnreachable("fetch: cannot resolve host.test (http://host.test/a.xml)"),
    ):
        backoff.failure(a, error)
    try:
        backoff.check(a)
        raise AssertionError("a.xml should be backed off")
    except UpstreamBackoff as exc:
        assert "host.test/a.xml" not in exc.message
    backoff.check(b)  # the neighbour is not
    backoff.success(a)
    backoff.check(a)
    # The host says so: that host and port, every URL on it.
    backoff.failure(a, HostUnreachable("fetch: cannot connect to host.test:80: refused (x)"))
    backoff.failure(a, HostUnreachable("fetch: cannot connect to host.test:80: refused (x)"))
    for url in (a, b):
        try:
            backoff.check(url)
            raise AssertionError(f"{url} should be backed off")
        except UpstreamBackoff as exc:
            assert "host.test:80" in exc.message and ".xml" not in exc.message
    backoff.check(other_port)
    assert backoff_key("https://Host.test/x") == "host.test:443"
    assert backoff_key("http://[::1]:8080/x") == "[::1]:8080"


def test_backoff_memory_is_bounded() -> None:
    now = [0.0]
    backoff = Backoff(clock=lambda: now[0], max_entries=100)
    for i in range(5000):
        url = f"http://h{i}.test/feed.xml"
        backoff.failure(url, UpstreamStatus("x", 500))
        backoff.failure(url, HostUnreachable("x"))
    assert backoff.size <= 200
    now[0] += 10 * 3600
    backoff.failure("http://late.test/", UpstreamStatus("x", 500))
    assert backoff.size == 1

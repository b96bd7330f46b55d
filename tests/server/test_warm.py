"""Cached requests (issue 15.4): the short path a hot hit takes keeps every behaviour.

A hot hit skips building its job (``server/feeds.py`` remembers the job of each path, query
and public base it has seen) and passes one middleware (counts, errors, Host). These tests
pin what that short path must still do: apply a reloaded config, check the access key on
every request, answer HEAD, conditional requests and gzip, and count every answer once.
"""

from __future__ import annotations

import gc
import gzip
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient

from proxy.reload import load_feeds
from proxy.server import PIPELINE, create_app
from proxy.server.keys import JOBS, METRICS
from proxy.server.middleware import front
from proxy.server.routes import METRICS_ROUTES, ROUTES
from tests.helpers import read_feed, seed_feed
from tests.test_metrics import parse_metrics, value
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
KEY = "warm-key-0123456789abcdef0123"
TEXT = "第二条新闻的正文"  # in the seed feed's second item


def one_line(text: str) -> bool:
    return text.endswith("\n") and "\n" not in text[:-1] and len(text) < 300


def app_of(client: TestClient[Any, Any]) -> web.Application:
    assert isinstance(client.server, TestServer)
    return client.server.app


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, make_settings: Any) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(make_settings(**changes)))

    return build


async def test_a_config_reload_applies_to_remembered_jobs(
    upstream: Upstream, make_client: MakeClient, tmp_path: Path
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    config = tmp_path / "feedscrub.toml"
    config.write_text(f'[[feeds]]\nname = "rfi"\nurl = "{url}"\n', encoding="utf-8")
    client = await make_client(config=str(config))
    for path in ("/feed", "/feeds/rfi"):
        for _ in range(2):  # the second one is a hot hit, its job remembered
            response = await client.get(path, params={"url": url} if path == "/feed" else {})
            assert response.status == 200
            assert TEXT.encode() in await response.read()
    assert len(app_of(client)[JOBS]) == 2
    config.write_text(
        f'[defaults]\nremove_text = ["{TEXT}"]\n\n[[feeds]]\nname = "other"\nurl = "{url}"\n',
        encoding="utf-8",
    )
    app_of(client)[PIPELINE].reload(load_feeds(str(config)))
    response = await client.get("/feed", params={"url": url})
    assert response.status == 200
    assert TEXT.encode() not in await response.read()  # the new rule, on the same path
    gone = await client.get("/feeds/rfi")  # no longer configured: not served from memory
    assert gone.status == 404
    assert "other" in await gone.text()
    assert upstream.hits["/rfi.xml"] == 1  # cleaned again from the cached body


async def test_the_key_is_checked_on_every_cached_request(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client(access_key=KEY)
    for _ in range(2):
        assert (await client.get("/feed", params={"url": url, "key": KEY})).status == 200
    # The same URL, once remembered, still needs the key: without it, or with another one.
    assert (await client.get("/feed", params={"url": url})).status == 401
    assert (await client.get("/feed", params={"url": url, "key": KEY[:-1]})).status == 401
    bearer = {"Authorization": f"Bearer {KEY}"}
    assert (await client.get("/feed", params={"url": url}, headers=bearer)).status == 200
    assert (
        await client.get("/feed", params={"url": url}, headers={"Authorization": "Bearer x"})
    ).status == 401
    assert upstream.hits["/rfi.xml"] == 1


async def test_refusals_are_judged_afresh(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    assert (await client.get("/feed", params={"url": url})).status == 200
    for _ in range(2):
        assert (await client.get("/feed", params={"url": url, "format": "x"})).status == 400
        assert (await client.get("/feed", params={"url": url, "limit": "0"})).status == 400
        assert (await client.get("/feed")).status == 400
    assert len(app_of(client)[JOBS]) == 1  # only the request that made a job


async def test_hot_hits_answer_head_conditional_and_gzip(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    first = await client.get("/feed", params={"url": url}, headers={"Accept-Encoding": "identity"})
    body = await first.read()
    assert first.headers["Cache-Status"] == "feedscrub; fwd=miss; stored"
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]

    hit = await client.get("/feed", params={"url": url}, headers={"Accept-Encoding": "identity"})
    assert await hit.read() == body
    assert hit.headers["Cache-Status"].startswith("feedscrub; hit; ttl=")
    for name in ("ETag", "Last-Modified", "Cache-Control", "Vary", "Content-Type"):
        assert hit.headers[name] == first.headers[name], name
    assert "Content-Encoding" not in hit.headers
    # Spelt on the wire as before the names became multidict istr constants.
    names = {raw for raw, _ in hit.raw_headers}
    for spelt in (b"ETag", b"Last-Modified", b"Cache-Control", b"Vary", b"Age", b"Cache-Status"):
        assert spelt in names, spelt
    assert b"X-Content-Type-Options" in names and b"Content-Type" in names

    head = await client.head("/feed", params={"url": url}, headers={"Accept-Encoding": "identity"})
    assert head.status == 200
    assert head.headers["ETag"] == etag
    assert head.headers["Content-Length"] == str(len(body))
    assert await head.read() == b""

    for validators in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        cached = await client.get("/feed", params={"url": url}, headers=validators)
        assert cached.status == 304, validators
        assert cached.headers["ETag"] == etag
        assert cached.headers["Cache-Status"].startswith("feedscrub; hit")
        assert await cached.read() == b""
    other = await client.get("/feed", params={"url": url}, headers={"If-None-Match": '"x"'})
    assert other.status == 200

    # aiohttp's client decompresses on its own: ask with auto_decompress off.
    async with client.session.get(
        client.make_url("/feed"),
        params={"url": url},
        headers={"Accept-Encoding": "gzip"},
        auto_decompress=False,
    ) as zipped:
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert zipped.headers["ETag"] == etag
        assert gzip.decompress(await zipped.read()) == body
    assert upstream.hits["/rfi.xml"] == 1


async def test_other_hosts_and_queries_get_their_own_jobs(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed(image_base=upstream.base_url))
    client = await make_client(public_url="")  # links from the Host header
    for host in ("one.test", "two.test", "one.test"):
        response = await client.get("/feed", params={"url": url}, headers={"Host": host})
        body = await response.read()
        read_feed(body)
        assert f'src="http://{host}/img/'.encode() in body, host  # links on this Host
        other = "two.test" if host == "one.test" else "one.test"
        assert f"http://{other}/".encode() not in body, host
    atom = await client.get("/feed", params={"url": url, "format": "atom"})
    assert atom.headers["Content-Type"].startswith("application/atom+xml")
    one = await client.get("/feed", params={"url": url, "limit": "1"})
    assert len(read_feed(await one.read()).entries) == 1
    assert len(app_of(client)[JOBS]) == 4  # two hosts, atom, limit=1


async def scrape(client: TestClient[Any, Any]) -> Any:
    return parse_metrics(await (await client.get("/metrics")).text())


async def test_every_answer_is_counted_once(
    aiohttp_client: AiohttpClient, make_settings: Any, upstream: Upstream
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    settings = make_settings(public_url="")  # so the Host header is checked
    app = create_app(settings)

    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/healthz")

    async def broken(request: web.Request) -> web.StreamResponse:
        raise RuntimeError("a bug")

    # Through the wrapper every route of the app's table passes (middleware.front).
    wrap = front(settings, app[METRICS])
    app.router.add_get("/test-moved", wrap(moved))
    app.router.add_get("/test-broken", wrap(broken))
    client = await aiohttp_client(app)
    for _ in range(5):
        assert (await client.get("/feed", params={"url": url})).status == 200
    bad_host = await client.get("/feed", params={"url": url}, headers={"Host": "a b"})
    assert bad_host.status == 400
    assert "Host" in await bad_host.text()
    moved_answer = await client.get("/test-moved", allow_redirects=False)
    assert moved_answer.status == 302
    assert moved_answer.headers["Location"] == "/healthz"
    broken_answer = await client.get("/test-broken")
    assert broken_answer.status == 500
    assert "Traceback" not in await broken_answer.text()
    missing = await client.get("/nope")
    assert missing.status == 404
    assert "see /" in await missing.text()
    for method, path in (("POST", "/feed"), ("DELETE", "/"), ("PUT", "/feeds/x")):
        wrong = await client.request(method, path)
        assert wrong.status == 405, (method, path)
        assert one_line(await wrong.text())
    assert (await client.post("/no/such/path")).status == 404

    samples = await scrape(client)
    requests = "feedscrub_requests_total"
    assert value(samples, requests, route="/feed", status="200") == 5
    assert value(samples, requests, route="/feed", status="400") == 1
    assert value(samples, requests, route="/test-moved", status="302") == 1
    assert value(samples, requests, route="/test-broken", status="500") == 1
    assert value(samples, requests, route="unmatched", status="404") == 2
    assert value(samples, requests, route="unmatched", status="405") == 3
    assert value(samples, "feedscrub_cache_total", result="miss") == 1
    assert value(samples, "feedscrub_cache_total", result="hit") == 4


def test_route_labels_are_the_routers_patterns(make_settings: Any) -> None:
    """guarded() labels each route's counts with its path as written in the route table:
    that must be what aiohttp's router calls the route (its canonical form), as the label
    was read from each request before."""
    app = create_app(make_settings())
    written = {route.path for route in (*ROUTES, *METRICS_ROUTES)}
    registered = {
        resource.canonical for resource in app.router.resources() if resource.name != "unmatched"
    }
    assert registered == written


async def test_remembered_jobs_keep_no_output_alive(
    upstream: Upstream, make_client: MakeClient
) -> None:
    """The jobs remembered (4,096 of them) point at their last output weakly: once the hot
    copies (bounded in bytes) let an output go, its bytes go too."""
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    for _ in range(3):
        assert (await client.get("/feed", params={"url": url})).status == 200
    jobs = app_of(client)[JOBS]
    (seen,) = (jobs.get(key) for key in jobs)
    assert seen is not None and seen.rendered is not None and seen.rendered() is not None
    app_of(client)[PIPELINE].freshness.forget_outputs()
    gc.collect()
    assert seen.rendered() is None
    again = await client.get("/feed", params={"url": url})  # headers built anew
    assert again.status == 200 and again.headers["Cache-Status"].startswith("feedscrub; hit")

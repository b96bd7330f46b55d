"""The short path of hot hits (server/warm.py) answers exactly as the whole way does.

Two apps on two caches, one with the short path and one without it (``Warm.answer``
answering None, so every request takes ``feeds.by_url`` / ``feeds.by_name``), get the same
requests at the same (frozen) clock: every answer must be the same, status, raw header
lines in order (Date aside) and body bytes, and so must the counts in /metrics. The
requests are the cached ones readers send: identity and gzip, validators that match and
that do not, HEAD, other formats and limits, named feeds, other Hosts, a copy being
refreshed in the background and a stale copy after an upstream failure.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pytest_aiohttp import AiohttpClient

from proxy.server import PIPELINE, auth, create_app
from proxy.server.warm import Warm
from tests.helpers import seed_feed
from tests.served_answers import GOLDEN, answers
from tests.test_metrics import parse_metrics
from tests.upstream import Upstream

T0 = 1_800_000_000.25  # the frozen clock (a fraction of a second in: Age/ttl truncate)
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class Pair:
    """The app with the short path and the app without it, asked the same things."""

    def __init__(self, short: TestClient[Any, Any], whole: TestClient[Any, Any]) -> None:
        self.short, self.whole = short, whole
        self.taken: list[bool] = []  # per request the short-path app got: answered there?

    def clock(self, at: float) -> None:
        for client in (self.short, self.whole):
            assert isinstance(client.server, TestServer)
            client.server.app[PIPELINE].clock = lambda: at

    async def ask(
        self, path: str, method: str = "GET", headers: dict[str, str] | None = None
    ) -> Answer:
        """Both apps' answers to one request; they must be the same (returned once)."""
        answers = []
        for client in (self.short, self.whole):
            async with client.session.request(
                method, client.make_url(path), headers=headers or {}, auto_decompress=False
            ) as response:
                body = await response.read()
                lines = [(k, v) for k, v in response.raw_headers if k.lower() != b"date"]
                answers.append((response.status, lines, body))
        assert answers[0] == answers[1], (method, path, headers)
        return answers[0]

    async def counts(self) -> None:
        """The request and cache counts of both apps are the same."""
        counted = []
        for client in (self.short, self.whole):
            samples = parse_metrics(await (await client.get("/metrics")).text())
            counted.append(
                {
                    key: count
                    for key, count in samples.items()
                    if key[0] in ("feedscrub_requests_total", "feedscrub_cache_total")
                }
            )
        assert counted[0] == counted[1]
        assert counted[0][("feedscrub_cache_total", frozenset({("result", "hit")}))] > 0


MakePair = Callable[..., Awaitable[Pair]]


@pytest.fixture
def make_pair(
    aiohttp_client: AiohttpClient,
    make_settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> MakePair:
    async def build(**changes: Any) -> Pair:
        original = Warm.answer
        taken: list[bool] = []

        def spy(self: Warm, request: web.Request, keyed: bool) -> web.Response | None:
            response = original(self, request, keyed)
            taken.append(response is not None)
            return response

        # Each app's wrappers take Warm.answer when the app is made: the first app the spy,
        # the second one the whole way for every request.
        monkeypatch.setattr(Warm, "answer", spy)
        short = create_app(make_settings(cache_dir=str(tmp_path / "short"), **changes))
        monkeypatch.setattr(Warm, "answer", lambda self, request, keyed: None)
        whole = create_app(make_settings(cache_dir=str(tmp_path / "whole"), **changes))
        pair = Pair(await aiohttp_client(short), await aiohttp_client(whole))
        pair.taken = taken
        pair.clock(T0)
        return pair

    return build


def feed_path(url: str, query: str = "") -> str:
    return f"/feed?url={url}" + (f"&{query}" if query else "")


async def test_hot_hits_answer_as_the_whole_way(upstream: Upstream, make_pair: MakePair) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    pair = await make_pair()
    status, lines, body = await pair.ask(feed_path(url), headers={"Accept-Encoding": "identity"})
    assert status == 200 and b"fwd=miss" in dict(lines)[b"Cache-Status"]
    etag, modified = dict(lines)[b"ETag"].decode(), dict(lines)[b"Last-Modified"].decode()
    asked: list[tuple[str, str, dict[str, str]]] = []
    for path in (feed_path(url), feed_path(url, "format=atom"), feed_path(url, "limit=1")):
        asked += [
            (path, "GET", {"Accept-Encoding": "identity"}),
            (path, "GET", {"Accept-Encoding": "gzip, deflate"}),
            (path, "GET", {}),  # aiohttp's client default: gzip, deflate (br)
            (path, "HEAD", {"Accept-Encoding": "identity"}),
        ]
    for validators in (
        {"If-None-Match": etag},
        {"If-None-Match": f"W/{etag}"},
        {"If-None-Match": f'"other", {etag}'},
        {"If-None-Match": "*"},
        {"If-None-Match": '"other"'},
        {"If-None-Match": '"other"', "If-Modified-Since": modified},  # the tag decides
        {"If-Modified-Since": modified},
        {"If-Modified-Since": "Sun, 01 Jan 2006 00:00:00 GMT"},
        {"If-Modified-Since": "not a date"},
        {"If-Modified-Since": ""},
    ):
        asked += [
            (feed_path(url), "GET", {"Accept-Encoding": "gzip", **validators}),
            (feed_path(url), "HEAD", validators),
        ]
    asked.append((feed_path(url, "format=json"), "GET", {"Accept-Encoding": "identity"}))
    for at in (T0, T0 + 0.5, T0 + 1, T0 + 59.9):  # the same second, the next ones
        pair.clock(at)
        for path, method, headers in asked:
            await pair.ask(path, method, headers)
    # Each first request of a path builds (or finds in the store) its output; every other
    # one is a hot hit, answered on the short path.
    assert pair.taken.count(True) == len(pair.taken) - 4
    await pair.counts()


async def test_named_feeds_and_hosts(
    upstream: Upstream, make_pair: MakePair, tmp_path: Path
) -> None:
    url = upstream.route("/rfi.xml", seed_feed(image_base=upstream.base_url))
    config = tmp_path / "feedscrub.toml"
    config.write_text(f'[[feeds]]\nname = "rfi"\nurl = "{url}"\n', encoding="utf-8")
    pair = await make_pair(config=str(config), public_url="")  # links from the Host header
    for _ in range(3):
        for path in ("/feeds/rfi", "/feeds/rfi.atom", "/feeds/rfi?format=json", feed_path(url)):
            for host in ("one.test", "two.test:8080", "[::1]:9"):
                await pair.ask(path, headers={"Host": host, "Accept-Encoding": "identity"})
        status, _, _ = await pair.ask("/feeds/rfi", headers={"Host": "bad host"})
        assert status == 400
        status, _, _ = await pair.ask("/feeds/none")
        assert status == 404
    assert pair.taken.count(True) == 2 * 4 * 3
    await pair.counts()


async def test_a_copy_refreshed_in_the_background_and_a_stale_copy(
    upstream: Upstream, make_pair: MakePair
) -> None:
    url = upstream.route("/rfi.xml", seed_feed(), validators=True)
    pair = await make_pair(ttl=60, stale_while_revalidate=300)
    identity = {"Accept-Encoding": "identity"}
    await pair.ask(feed_path(url), headers=identity)
    await pair.ask(feed_path(url), headers=identity)
    # Past the ttl: served at once while one refresh runs (a 304 from the upstream).
    upstream.route("/rfi.xml", seed_feed(), validators=True, delay=0.3)
    pair.clock(T0 + 90)
    for _ in range(3):
        _, lines, _ = await pair.ask(feed_path(url), headers=identity)
        assert b"revalidating" in dict(lines)[b"Cache-Status"]
    for client in (pair.short, pair.whole):
        assert isinstance(client.server, TestServer)
        await client.server.app[PIPELINE].settle()
    for _ in range(3):
        _, lines, _ = await pair.ask(feed_path(url), headers=identity)
        assert b"hit; ttl=" in dict(lines)[b"Cache-Status"]
    # The upstream fails past the revalidate window: the stale copy, kept hot a while.
    upstream.route("/rfi.xml", b"down", status=503, content_type="text/plain")
    pair.clock(T0 + 500)
    for at in (T0 + 500, T0 + 500.5, T0 + 530):
        pair.clock(at)
        for headers in (identity, {"Accept-Encoding": "gzip"}, {"If-None-Match": "*"}):
            status, lines, _ = await pair.ask(feed_path(url), headers=headers)
            assert b"fwd=stale" in dict(lines)[b"Cache-Status"], (at, headers)
            assert (b"Warning", b'110 feedscrub "Response is Stale"') in lines
    assert any(pair.taken[-8:])  # the stale copy is answered on the short path too
    await pair.counts()


async def test_cached_answers_as_main_made_them(tmp_path: Path) -> None:
    """The same sequence of cached requests as main answered it before the short path
    (tests/served_answers.py: status and header lines in order, output-dependent values
    numbered by first appearance)."""
    got = await answers(tmp_path)
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert len(got) == len(expected)
    for was, now in zip(expected, got, strict=True):
        assert now == was


KEY = "short-path-key-0123456789abcdef"


async def test_with_an_access_key(upstream: Upstream, make_pair: MakePair, tmp_path: Path) -> None:
    """Paths whose key= or sig= passed take the short path without an Authorization header;
    everything else is checked the whole way, and answered the same."""
    url = upstream.route("/rfi.xml", seed_feed())
    config = tmp_path / "feedscrub.toml"
    config.write_text(f'[[feeds]]\nname = "rfi"\nurl = "{url}"\n', encoding="utf-8")
    pair = await make_pair(config=str(config), access_key=KEY, protect_named=True)
    signed = feed_path(url, f"sig={auth.feed_signature(url, KEY)}")
    named = f"/feeds/rfi?sig={auth.named_signature('rfi', KEY)}"
    bearer = {"Authorization": f"Bearer {KEY}"}
    identity = {"Accept-Encoding": "identity"}
    # A path first asked with the key in the header only: not open by its query.
    status, _, _ = await pair.ask(feed_path(url, "limit=2"), headers={**bearer, **identity})
    assert status == 200
    for _ in range(3):
        for path in (feed_path(url, f"key={KEY}"), signed, named, f"/feeds/rfi?key={KEY}"):
            status, _, _ = await pair.ask(path, headers=identity)
            assert status == 200, path
            status, _, _ = await pair.ask(path, headers={**identity, **bearer})
            assert status == 200, path
            wrong = {**identity, "Authorization": "Bearer wrong"}
            status, _, _ = await pair.ask(path, headers=wrong)  # the header is read first
            assert status == (200 if "sig=" in path else 401), path  # sig= holds on its own
        for path in (
            feed_path(url, "limit=2"),  # its job is remembered; the query has no key
            feed_path(url),
            feed_path(url, f"key={KEY[:-1]}"),
            feed_path(url, "sig=x"),
            "/feeds/rfi",
            "/feeds/rfi?sig=x",
        ):
            status, _, _ = await pair.ask(path, headers=identity)
            assert status == 401, path
    # The hits without a header, after each path's first: 4 paths × 3 rounds, less 4 firsts.
    assert pair.taken.count(True) == 4 * 3 - 4
    await pair.counts()

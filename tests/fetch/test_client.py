"""fetch.py against real local servers: limits, timeouts, conditional GET, the address guard.

Address-guard tests follow research §3.1: a fake resolver maps ``*.test`` names to local
servers, 127.0.0.2 plays a "public" address (through the injectable address policy), and a
sentinel listener on 127.0.0.1 stands for the internal network. Every SSRF test asserts that
the sentinel saw no connection at all.
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from pytest_aiohttp import AiohttpServer

from proxy import __version__
from proxy.config import Settings
from proxy.errors import (
    BlockedAddress,
    BodyTooLarge,
    InvalidURL,
    TooManyRedirects,
    UpstreamError,
    UpstreamStatus,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from proxy.fetch import (
    FEED_ACCEPT,
    IMAGE_ACCEPT,
    USER_AGENT,
    Limits,
    check_url,
    fetch,
    new_session,
)
from proxy.fetch.guard import is_public_address
from proxy.models import Validators
from tests.upstream import Upstream

MakeSettings = Callable[..., Settings]
KiB = 1024
FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[aiohttp.ClientSession]:
    """A session as the app builds it, loopback allowed (settings fixture)."""
    client = new_session(settings)
    yield client
    await client.close()


@dataclass
class Sentinel:
    """A listener on 127.0.0.1 that only counts connections: the internal network."""

    port: int = 0
    connections: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/secret"


@pytest.fixture
async def sentinel() -> AsyncIterator[Sentinel]:
    watcher = Sentinel()

    def accepted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        watcher.connections += 1
        writer.close()

    server = await asyncio.start_server(accepted, "127.0.0.1", 0)
    watcher.port = server.sockets[0].getsockname()[1]
    yield watcher
    server.close()
    await server.wait_closed()


Answer = Sequence[tuple[str, int]]


class FakeResolver(AbstractResolver):
    """Maps test names to scripted answers of (ip, port), like aiohttp's FakeResolver example.

    A name given several answers gets them in turn (the last one repeats), for DNS-rebinding
    tests. Unknown names do not resolve.
    """

    def __init__(self) -> None:
        self.answers: dict[str, list[Answer]] = {}
        self.calls: Counter[str] = Counter()

    def add(self, host: str, *answers: Answer) -> None:
        self.answers[host] = list(answers)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.calls[host] += 1
        answers = self.answers.get(host)
        if not answers:
            raise OSError(socket.EAI_NONAME, f"{host} does not resolve (fake resolver)")
        answer = answers[min(self.calls[host], len(answers)) - 1]
        return [
            {
                "hostname": host,
                "host": ip,
                "port": answer_port,
                "family": socket.AF_INET6 if ":" in ip else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for ip, answer_port in answer
        ]

    async def close(self) -> None:
        pass


@pytest.fixture
def resolver() -> FakeResolver:
    return FakeResolver()


@pytest.fixture
async def public(aiohttp_server: AiohttpServer, resolver: FakeResolver) -> Upstream:
    """An upstream on 127.0.0.2, reached as http://public.test/…"""
    upstream = Upstream()
    server = await aiohttp_server(upstream.app, host="127.0.0.2")
    assert server.port is not None
    resolver.add("public.test", [("127.0.0.2", server.port)])
    upstream.base_url = "http://public.test"
    return upstream


def policy_127_0_0_2_public(ip: str) -> bool:
    """The real policy, except that 127.0.0.2 counts as public (research §3.1)."""
    return ip == "127.0.0.2" or is_public_address(ip)


@pytest.fixture
def strict(make_settings: MakeSettings) -> Settings:
    """Settings as in production: private addresses refused."""
    return make_settings(allow_private=False)


@pytest.fixture
async def guarded(strict: Settings, resolver: FakeResolver) -> AsyncIterator[aiohttp.ClientSession]:
    client = new_session(strict, resolver=resolver, address_policy=policy_127_0_0_2_public)
    yield client
    await client.close()


RawReply = Callable[[bytes], Awaitable[str]]


@pytest.fixture
async def raw_upstream() -> AsyncIterator[RawReply]:
    """Start a TCP server on 127.0.0.1 that answers any request with fixed bytes, then closes."""
    servers: list[asyncio.Server] = []

    async def start(reply: bytes) -> str:
        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.read(4096)
            writer.write(reply)
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/feed"

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


# --- the happy path --------------------------------------------------------------------------


async def test_fetch_returns_body_and_headers(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings
) -> None:
    url = upstream.route(
        "/feed.xml",
        FEED,
        headers={"ETag": '"abc"', "Last-Modified": "Sun, 18 Jun 2023 23:50:00 GMT"},
    )
    before = time.time()
    result = await fetch(session, url + "#fragment", limits=Limits.of(settings))
    assert result.status == 200
    assert result.body == FEED
    assert result.url == url
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.etag == '"abc"'
    assert result.last_modified == "Sun, 18 Jun 2023 23:50:00 GMT"
    assert before <= result.fetched_at <= time.time()


async def test_user_agent_and_accept_are_sent(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings
) -> None:
    url = upstream.route("/feed", FEED)
    await fetch(session, url, limits=Limits.of(settings))
    sent = upstream.last_request("/feed").headers
    assert sent["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith(f"feedscrub/{__version__} ")
    assert sent["Accept"] == FEED_ACCEPT

    await fetch(
        session, url, limits=Limits.of(settings), accept=IMAGE_ACCEPT, headers={"X-Test": "1"}
    )
    sent = upstream.last_request("/feed").headers
    assert sent["Accept"] == IMAGE_ACCEPT
    assert sent["X-Test"] == "1"


async def test_validators_are_sent_and_304_returns_no_body(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings
) -> None:
    url = upstream.route("/feed", FEED, validators=True)
    first = await fetch(session, url, limits=Limits.of(settings))
    assert first.status == 200
    assert first.etag is not None
    assert "If-None-Match" not in upstream.last_request("/feed").headers

    cached = Validators(etag=first.etag, last_modified=first.last_modified)
    second = await fetch(session, url, limits=Limits.of(settings), validators=cached)
    sent = upstream.last_request("/feed").headers
    assert sent["If-None-Match"] == first.etag
    assert sent["If-Modified-Since"] == "Sun, 18 Jun 2023 23:50:00 GMT"
    assert second.status == 304
    assert second.body == b""
    assert second.etag == first.etag
    assert upstream.hits["/feed"] == 2


async def test_304_to_an_unconditional_request_is_an_upstream_error(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings
) -> None:
    url = upstream.route("/feed", status=304)
    with pytest.raises(UpstreamStatus) as caught:
        await fetch(session, url, limits=Limits.of(settings))
    assert caught.value.upstream_status == 304


async def test_gzip_body_is_decompressed(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings
) -> None:
    url = upstream.route("/feed", gzip.compress(FEED), headers={"Content-Encoding": "gzip"})
    result = await fetch(session, url, limits=Limits.of(settings))
    assert result.body == FEED


# --- limits ----------------------------------------------------------------------------------


async def test_content_length_over_the_limit_fails_before_reading(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings
) -> None:
    url = upstream.route("/big", b"x" * (100 * KiB))
    with pytest.raises(BodyTooLarge, match="announces 102400 bytes") as caught:
        await fetch(session, url, limits=Limits.of(settings).replace(max_bytes=64 * KiB))
    assert caught.value.status == 502


async def test_body_at_the_limit_is_accepted(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings
) -> None:
    url = upstream.route("/exact", b"x" * (64 * KiB))
    result = await fetch(session, url, limits=Limits.of(settings).replace(max_bytes=64 * KiB))
    assert len(result.body) == 64 * KiB


async def _endless(request: web.Request) -> web.StreamResponse:
    """1 MiB in 16 KiB chunks, chunked encoding, no Content-Length."""
    response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        for _ in range(64):
            await response.write(b"x" * (16 * KiB))
    except ConnectionError:
        pass  # the client hung up at its limit
    return response


async def test_streamed_body_without_content_length_stops_at_the_limit(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings
) -> None:
    url = upstream.route("/stream", handler=_endless)
    with pytest.raises(BodyTooLarge, match=r"body exceeds 65536 bytes"):
        await fetch(session, url, limits=Limits.of(settings).replace(max_bytes=64 * KiB))


async def test_gzip_bomb_stops_at_the_decompressed_limit(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings
) -> None:
    bomb = gzip.compress(b"\0" * (8 * 1024 * KiB))  # 8 MiB of zeros in about 8 KiB
    assert len(bomb) < 64 * KiB
    url = upstream.route("/bomb", bomb, headers={"Content-Encoding": "gzip"})
    with pytest.raises(BodyTooLarge, match=r"body exceeds 65536 bytes"):
        await fetch(session, url, limits=Limits.of(settings).replace(max_bytes=64 * KiB))


async def test_default_limit_is_max_body_bytes(
    upstream: Upstream, session: aiohttp.ClientSession, make_settings: MakeSettings
) -> None:
    url = upstream.route("/feed", b"x" * 2000)
    with pytest.raises(BodyTooLarge):
        await fetch(session, url, limits=Limits.of(make_settings(max_body_bytes=1000)))


# --- timeouts and broken upstreams -----------------------------------------------------------


async def test_no_response_in_time_is_a_timeout(
    upstream: Upstream, session: aiohttp.ClientSession, make_settings: MakeSettings
) -> None:
    url = upstream.route("/slow", FEED, delay=1.0)
    started = time.monotonic()
    with pytest.raises(
        UpstreamTimeout, match=r"^fetch: no response within 0\.2s \(http://"
    ) as caught:
        await fetch(session, url, limits=Limits.of(make_settings(fetch_timeout=0.2)))
    assert time.monotonic() - started < 0.8
    assert caught.value.status == 504
    assert caught.value.__cause__ is not None


async def _drip(request: web.Request) -> web.StreamResponse:
    """Headers at once, then one byte every 50 ms for 2 s."""
    response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
    await response.prepare(request)
    try:
        for _ in range(40):
            await response.write(b"<")
            await asyncio.sleep(0.05)
    except ConnectionError:
        pass
    return response


async def test_slow_body_is_cut_at_the_total_timeout(
    upstream: Upstream, session: aiohttp.ClientSession, make_settings: MakeSettings
) -> None:
    url = upstream.route("/drip", handler=_drip)
    with pytest.raises(UpstreamTimeout, match="no response within 0.3s"):
        await fetch(session, url, limits=Limits.of(make_settings(fetch_timeout=0.3)))


async def test_connection_refused_is_unreachable(
    session: aiohttp.ClientSession, settings: Settings
) -> None:
    with socket.socket() as probe:  # a port nobody listens on once this closes
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UpstreamUnreachable, match=f"cannot connect to 127.0.0.1:{port}"):
        await fetch(session, f"http://127.0.0.1:{port}/feed", limits=Limits.of(settings))


async def test_unresolvable_host_is_unreachable(
    guarded: aiohttp.ClientSession, strict: Settings
) -> None:
    with pytest.raises(UpstreamUnreachable, match="cannot resolve nowhere.test"):
        await fetch(guarded, "http://nowhere.test/feed", limits=Limits.of(strict))


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b"", "closed the connection"),
        (b"garbage\r\n\r\n", "malformed response"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "cut short"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 9\r\n\r\nnot gzip!",
            "corrupt",
        ),
    ],
    ids=["reset", "garbled", "truncated", "bad-gzip"],
)
async def test_broken_responses_are_unreachable(
    raw_upstream: RawReply,
    session: aiohttp.ClientSession,
    settings: Settings,
    reply: bytes,
    expected: str,
) -> None:
    url = await raw_upstream(reply)
    with pytest.raises(UpstreamUnreachable, match=expected) as caught:
        await fetch(session, url, limits=Limits.of(settings))
    assert "\n" not in caught.value.message
    assert isinstance(caught.value.__cause__, aiohttp.ClientError)


@pytest.mark.parametrize(
    ("status", "text"), [(500, "500 Internal Server Error"), (404, "404 Not Found"), (429, "429")]
)
async def test_upstream_error_status_is_kept(
    upstream: Upstream,
    session: aiohttp.ClientSession,
    settings: Settings,
    status: int,
    text: str,
) -> None:
    url = upstream.route("/feed", b"oops", status=status)
    with pytest.raises(UpstreamStatus) as caught:
        await fetch(session, url, limits=Limits.of(settings))
    assert caught.value.upstream_status == status
    assert caught.value.status == 502
    assert caught.value.message.startswith(f"fetch: upstream answered {text}")
    assert caught.value.message.endswith(f"({url})")


# --- redirects -------------------------------------------------------------------------------


async def test_redirects_are_followed_and_the_final_url_reported(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings
) -> None:
    final = upstream.route("/final.xml", FEED)
    upstream.route("/moved", status=301, headers={"Location": final})
    start = upstream.route("/old", status=302, headers={"Location": "moved"})  # relative
    result = await fetch(session, start, limits=Limits.of(settings))
    assert result.body == FEED
    assert result.url == final
    assert upstream.hits == Counter({"/old": 1, "/moved": 1, "/final.xml": 1})


def _chain(upstream: Upstream, hops: int) -> str:
    upstream.route("/end", FEED)
    for hop in range(hops, 0, -1):
        target = "/end" if hop == hops else f"/r{hop + 1}"
        upstream.route(f"/r{hop}", status=307, headers={"Location": target})
    return upstream.url("/r1")


async def test_max_redirects_are_followed(
    upstream: Upstream, session: aiohttp.ClientSession, make_settings: MakeSettings
) -> None:
    result = await fetch(
        session, _chain(upstream, 5), limits=Limits.of(make_settings(max_redirects=5))
    )
    assert result.url == upstream.url("/end")


async def test_one_redirect_too_many(
    upstream: Upstream, session: aiohttp.ClientSession, make_settings: MakeSettings
) -> None:
    start = _chain(upstream, 6)
    with pytest.raises(TooManyRedirects, match=r"^fetch: more than 5 redirects \(http://"):
        await fetch(session, start, limits=Limits.of(make_settings(max_redirects=5)))
    assert upstream.hits["/end"] == 0
    assert upstream.hits["/r6"] == 1


@pytest.mark.parametrize(
    "location",
    ["file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "ftp://example.com/feed"],
)
async def test_redirect_to_another_scheme_is_refused(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings, location: str
) -> None:
    url = upstream.route("/feed", status=302, headers={"Location": location})
    with pytest.raises(UpstreamError, match="not an http\\(s\\) URL") as caught:
        await fetch(session, url, limits=Limits.of(settings))
    assert caught.value.status == 502  # the upstream's fault, not the reader's
    assert not isinstance(caught.value, InvalidURL)


async def test_redirect_without_location(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings
) -> None:
    url = upstream.route("/feed", status=302)
    with pytest.raises(UpstreamStatus, match="302 Found without a Location"):
        await fetch(session, url, limits=Limits.of(settings))


# --- pre-flight ------------------------------------------------------------------------------


BAD_URLS = [
    "",
    "   ",
    "file:///etc/passwd",
    "FILE:///etc/passwd",
    "gopher://127.0.0.1:6379/_x",
    "ftp://example.com/",
    "data:text/xml,<rss/>",
    "javascript:alert(1)",
    "//example.com/feed",
    "example.com/feed",
    "http:\\\\example.com",
    "http://example.com\\@evil.test/",
    "http:example.com",
    "http:///feed",
    "http://",
    "http://exa mple.com/",
    "http://example.com:99999/",
    "http://xn--/",
    "http://example.com/\nfeed",
    "http://user:pass@example.com/feed",
    "https://user@example.com/feed",
    "http://example.com/" + "a" * 5000,
]


@pytest.mark.parametrize("url", BAD_URLS, ids=[repr(u[:40]) for u in BAD_URLS])
@pytest.mark.parametrize("allow_private", [False, True])
def test_check_url_refuses_bad_urls(url: str, allow_private: bool) -> None:
    with pytest.raises(InvalidURL) as caught:
        check_url(url, allow_private=allow_private)
    assert caught.value.status == 400
    assert caught.value.message.startswith("fetch: ")
    assert "\n" not in caught.value.message
    assert len(caught.value.message) < 400


PRIVATE_URLS = [
    "http://127.0.0.1/",
    "http://127.0.0.1:8080/feed",
    "http://127.0.0.2/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://localhost./",
    "http://feeds.localhost/",
    "http://[::1]/",
    "http://[0:0:0:0:0:0:0:1]/",
    "http://0.0.0.0:8080/",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.169.254./",
    "http://[fe80::1]/",
    "http://10.0.0.1/",
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",
    "http://[fd00::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://2130706433/",
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://１２７.０.０.１/",  # fullwidth digits, IDNA-mapped to 127.0.0.1
    "http://[2001:0:4136:e378:8000:63bf:3f57:fdf2]/",
    "http://[2002:c0a8:ffff::]/",
    "http://[64:ff9b::c0a8:0201]/",
    "http://[fec0::1]/",
    "http://224.0.0.1/",
    "http://example.com@127.0.0.1/",  # the host is 127.0.0.1
    "http://127.0.0.1#@example.com/",
    "  http://127.0.0.1/  ",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_check_url_refuses_private_literals(url: str) -> None:
    with pytest.raises(BlockedAddress) as caught:
        check_url(url, allow_private=False)
    assert caught.value.status == 403


def test_check_url_names_the_address_a_spelling_means() -> None:
    with pytest.raises(BlockedAddress, match=r"127\.0\.0\.1 is not a public address \(0x7f\.1"):
        check_url("http://0x7f.1/", allow_private=False)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/feed", "http://localhost/", "http://[::1]/", "http://10.0.0.1/"]
)
def test_check_url_allows_private_when_configured(url: str) -> None:
    assert check_url(url, allow_private=True)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://ExAmple.COM:80/Feed?a=1#top", "http://example.com/Feed?a=1"),
        ("https://example.com:443/feed", "https://example.com/feed"),
        ("https://example.com:8443/feed", "https://example.com:8443/feed"),
        ("  http://example.com/feed\t", "http://example.com/feed"),
        ("http://bücher.de/feed", "http://xn--bcher-kva.de/feed"),
        ("http://ｅxample.com/feed", "http://example.com/feed"),  # fullwidth e
        ("http://example.com/a b", "http://example.com/a%20b"),
        ("http://8.8.8.8/feed", "http://8.8.8.8/feed"),
    ],
)
def test_check_url_normalises(url: str, expected: str) -> None:
    assert check_url(url, allow_private=False) == expected


async def test_fetch_checks_the_url_before_any_io(
    sentinel: Sentinel, session: aiohttp.ClientSession, strict: Settings
) -> None:
    with pytest.raises(BlockedAddress):
        await fetch(session, sentinel.url, limits=Limits.of(strict))
    with pytest.raises(InvalidURL):
        await fetch(session, "file:///etc/passwd", limits=Limits.of(strict))
    assert sentinel.connections == 0


# --- the connect-time address guard ----------------------------------------------------------


async def test_public_host_is_fetched(
    public: Upstream, guarded: aiohttp.ClientSession, strict: Settings
) -> None:
    url = public.route("/feed", FEED)
    result = await fetch(guarded, url, limits=Limits.of(strict))
    assert result.body == FEED
    assert result.url == "http://public.test/feed"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_to_a_private_literal_is_blocked(
    public: Upstream,
    guarded: aiohttp.ClientSession,
    strict: Settings,
    sentinel: Sentinel,
    status: int,
) -> None:
    url = public.route("/feed", status=status, headers={"Location": sentinel.url})
    with pytest.raises(BlockedAddress, match="redirect from http://public.test/feed refused"):
        await fetch(guarded, url, limits=Limits.of(strict))
    assert sentinel.connections == 0


async def test_redirect_to_a_name_on_a_private_address_is_blocked_at_connect(
    public: Upstream,
    guarded: aiohttp.ClientSession,
    strict: Settings,
    sentinel: Sentinel,
    resolver: FakeResolver,
) -> None:
    resolver.add("internal.test", [("127.0.0.1", sentinel.port)])
    url = public.route("/feed", status=302, headers={"Location": "http://internal.test/secret"})
    with pytest.raises(BlockedAddress, match="internal.test is at non-public address 127.0.0.1"):
        await fetch(guarded, url, limits=Limits.of(strict))
    assert resolver.calls["internal.test"] == 1  # it got past the pre-flight, to the guard
    assert sentinel.connections == 0


async def test_redirect_with_userinfo_to_loopback_is_blocked(
    public: Upstream, guarded: aiohttp.ClientSession, strict: Settings, sentinel: Sentinel
) -> None:
    location = f"http://user:pass@127.0.0.1:{sentinel.port}/"
    url = public.route("/feed", status=302, headers={"Location": location})
    with pytest.raises(BlockedAddress):
        await fetch(guarded, url, limits=Limits.of(strict))
    assert sentinel.connections == 0


async def test_name_resolving_to_loopback_is_blocked_at_connect(
    guarded: aiohttp.ClientSession,
    strict: Settings,
    sentinel: Sentinel,
    resolver: FakeResolver,
) -> None:
    resolver.add("feed.test", [("127.0.0.1", sentinel.port)])
    with pytest.raises(BlockedAddress) as caught:
        await fetch(guarded, "http://feed.test/rss", limits=Limits.of(strict))
    assert caught.value.status == 403
    assert caught.value.message == (
        "fetch: feed.test is at non-public address 127.0.0.1; refused (http://feed.test/rss)"
    )
    assert isinstance(caught.value.__cause__, aiohttp.ClientConnectorError)
    assert sentinel.connections == 0


@pytest.mark.parametrize("blocked_first", [True, False])
async def test_mixed_answers_connect_only_to_allowed_addresses(
    public: Upstream,
    guarded: aiohttp.ClientSession,
    strict: Settings,
    sentinel: Sentinel,
    resolver: FakeResolver,
    blocked_first: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Chosen policy: skip the refused addresses, use the allowed ones (no all-or-nothing)."""
    public_answer = resolver.answers["public.test"][0][0]
    answer = [("127.0.0.1", sentinel.port), public_answer]
    resolver.add("mixed.test", answer if blocked_first else answer[::-1])
    public.route("/feed", FEED)
    with caplog.at_level("WARNING", logger="proxy.fetch"):
        result = await fetch(guarded, "http://mixed.test/feed", limits=Limits.of(strict))
    assert result.body == FEED
    assert sentinel.connections == 0
    refused = "refused connection to non-public address ip=127.0.0.1"
    assert (refused in caplog.text) is blocked_first  # tried, refused, and skipped


async def test_answers_that_are_all_private_are_blocked(
    guarded: aiohttp.ClientSession,
    strict: Settings,
    sentinel: Sentinel,
    resolver: FakeResolver,
) -> None:
    resolver.add("private.test", [("127.0.0.1", sentinel.port), ("10.255.255.1", sentinel.port)])
    with pytest.raises(BlockedAddress, match="non-public address 127.0.0.1, 10.255.255.1"):
        await fetch(guarded, "http://private.test/feed", limits=Limits.of(strict))
    assert sentinel.connections == 0


async def test_dns_rebinding_is_caught_at_connect(
    public: Upstream,
    guarded: aiohttp.ClientSession,
    strict: Settings,
    sentinel: Sentinel,
    resolver: FakeResolver,
) -> None:
    public_answer = resolver.answers["public.test"][0]
    resolver.add("rebind.test", public_answer, [("127.0.0.1", sentinel.port)])
    public.route("/feed", FEED, headers={"Connection": "close"})  # no pooled connection
    assert (await fetch(guarded, "http://rebind.test/feed", limits=Limits.of(strict))).body == FEED

    connector = guarded.connector
    assert isinstance(connector, aiohttp.TCPConnector)
    connector.clear_dns_cache()  # the second lookup now answers 127.0.0.1
    with pytest.raises(BlockedAddress):
        await fetch(guarded, "http://rebind.test/feed", limits=Limits.of(strict))
    assert resolver.calls["rebind.test"] == 2
    assert sentinel.connections == 0


async def test_guard_blocks_literals_without_the_pre_flight(
    strict: Settings, sentinel: Sentinel
) -> None:
    """The guard is the boundary: a request that skips check_url still cannot connect."""
    async with new_session(strict) as client:
        with pytest.raises(aiohttp.ClientConnectorError):
            await client.get(sentinel.url)
    assert sentinel.connections == 0


async def test_allow_private_turns_the_guard_off(
    upstream: Upstream, make_settings: MakeSettings, resolver: FakeResolver
) -> None:
    settings = make_settings(allow_private=True)
    port = int(upstream.base_url.rsplit(":", 1)[1])
    resolver.add("lan.test", [("127.0.0.1", port)])
    upstream.route("/feed", FEED)
    async with new_session(settings, resolver=resolver, address_policy=lambda ip: False) as client:
        result = await fetch(client, "http://lan.test/feed", limits=Limits.of(settings))
    assert result.body == FEED


async def test_environment_proxy_is_ignored(
    monkeypatch: pytest.MonkeyPatch,
    upstream: Upstream,
    settings: Settings,
    sentinel: Sentinel,
) -> None:
    proxy = f"http://127.0.0.1:{sentinel.port}"
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy)
    url = upstream.route("/feed", FEED)
    async with new_session(settings) as client:
        result = await fetch(client, url, limits=Limits.of(settings))
    assert result.body == FEED
    assert sentinel.connections == 0


async def test_credentials_do_not_follow_a_redirect_to_another_origin(
    public: Upstream,
    guarded: aiohttp.ClientSession,
    strict: Settings,
    resolver: FakeResolver,
) -> None:
    resolver.add("other.test", resolver.answers["public.test"][0])
    public.route("/same", status=302, headers={"Location": "/there"})
    public.route("/there", status=302, headers={"Location": "http://other.test/final"})
    public.route("/final", FEED)
    secret = {"Authorization": "Bearer s3cret"}
    await fetch(guarded, public.url("/same"), limits=Limits.of(strict), headers=secret)
    assert public.last_request("/there").headers["Authorization"] == "Bearer s3cret"
    assert "Authorization" not in public.last_request("/final").headers


async def test_cookies_are_not_kept_between_requests(
    upstream: Upstream, session: aiohttp.ClientSession, settings: Settings
) -> None:
    url = upstream.route("/feed", FEED, headers={"Set-Cookie": "tracker=1; Path=/"})
    await fetch(session, url, limits=Limits.of(settings))
    await fetch(session, url, limits=Limits.of(settings))
    assert "Cookie" not in upstream.last_request("/feed").headers


async def test_refusals_are_recorded_per_request(
    public: Upstream,
    guarded: aiohttp.ClientSession,
    strict: Settings,
    sentinel: Sentinel,
    resolver: FakeResolver,
) -> None:
    """Concurrent fetches on one session: a refusal in one never marks the other."""
    resolver.add("feed.test", [("127.0.0.1", sentinel.port)])
    url = public.route("/feed", FEED, delay=0.05)
    blocked, fetched = await asyncio.gather(
        fetch(guarded, "http://feed.test/rss", limits=Limits.of(strict)),
        fetch(guarded, url, limits=Limits.of(strict)),
        return_exceptions=True,
    )
    assert isinstance(blocked, BlockedAddress)
    assert not isinstance(fetched, BaseException)
    assert fetched.body == FEED
    assert sentinel.connections == 0

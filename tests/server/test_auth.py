"""Access control, host rules and output integrity (research §A7, §E1, §E2), end to end.

Upstream host names (``feeds.test``, ``evil.test``, ``example.com``…) are mapped by a fake
resolver to the local upstream on 127.0.0.1, whatever port the URL names; nothing leaves the
machine.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy.config import OPTIONS_BY_NAME, Settings, load
from proxy.errors import ConfigError, InvalidURL, Unauthorized
from proxy.server import auth as access
from proxy.server import create_app, links
from tests.helpers import DATA, img_paths, read_feed, seed_feed
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
KEY = "k3y-0f-t3st-1nstance-XyZ"  # distinctive, so a leak into a log is easy to see


class NameResolver(AbstractResolver):
    """Resolves every name it knows to the local upstream, ignoring the port asked for."""

    def __init__(self, port: int, names: tuple[str, ...]) -> None:
        self.port = port
        self.names = names
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.names:
            raise OSError(socket.EAI_NONAME, f"{host} does not resolve (test resolver)")
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": self.port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        pass


NAMES = (
    "feeds.test",
    "evil.test",
    "img.evil.test",
    "other.test",
    "example.com",
    "xn--bcher-kva.test",
)


@pytest.fixture
def resolver(upstream: Upstream) -> NameResolver:
    port = int(upstream.base_url.rsplit(":", 1)[1])
    return NameResolver(port, NAMES)


@pytest.fixture
def make_client(
    aiohttp_client: AiohttpClient, make_settings: Any, resolver: NameResolver
) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(make_settings(**changes), resolver=resolver))

    return build


def one_line(text: str) -> bool:
    return text.endswith("\n") and text.count("\n") == 1 and "Traceback" not in text


# --- signatures, patterns, redaction (no server) ---------------------------------------------


def test_signature_covers_the_normalised_url() -> None:
    sig = access.feed_signature("http://example.com/feed", KEY)
    assert access.feed_signature("http://EXAMPLE.com:80/feed#x", KEY) == sig
    assert access.feed_signature(" http://example.com/feed ", KEY) == sig
    assert access.feed_signature("http://example.com/feed2", KEY) != sig
    assert access.feed_signature("https://example.com/feed", KEY) != sig
    assert access.feed_signature("http://example.com/feed", KEY + "x") != sig
    # A signature for a name never passes for a URL that spells the same bytes.
    assert access.named_signature("http://example.com/feed", KEY) != sig


def test_sign_feed_url_builds_the_path() -> None:
    path = links.sign_feed_url("http://EXAMPLE.com:80/feed?a=1#x", KEY)
    sig = access.feed_signature("http://example.com/feed?a=1", KEY)
    assert path == f"/feed?url=http%3A%2F%2Fexample.com%2Ffeed%3Fa%3D1&sig={sig}"
    assert (
        links.sign_named_feed("rfi", KEY) == f"/feeds/rfi?sig={access.named_signature('rfi', KEY)}"
    )


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://example.com/f", "/feed", "", "http://"]
)
def test_sign_feed_url_refuses_what_is_not_a_feed_url(url: str) -> None:
    with pytest.raises(InvalidURL):
        links.sign_feed_url(url, KEY)


def test_settings_are_in_the_table_and_secret_is_masked() -> None:
    settings = load(
        environ={
            "FEEDSCRUB_ACCESS_KEY": KEY,
            "FEEDSCRUB_PROTECT_NAMED": "true",
            "FEEDSCRUB_ALLOW_HOSTS": "*.example.org",
            "FEEDSCRUB_DENY_HOSTS": "bad.example.org",
            "FEEDSCRUB_METRICS": "false",
            "FEEDSCRUB_PROTECT_METRICS": "yes",
        }
    )
    assert settings.access_key == KEY and settings.protect_named and settings.protect_metrics
    assert settings.allow_hosts == "*.example.org" and not settings.metrics
    assert OPTIONS_BY_NAME["access_key"].secret
    assert settings.redacted()["access_key"] == "<redacted>"
    assert KEY not in repr(settings.redacted())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"protect_named": True}, "FEEDSCRUB_PROTECT_NAMED=true requires FEEDSCRUB_ACCESS_KEY"),
        ({"protect_metrics": True}, "FEEDSCRUB_PROTECT_METRICS=true requires"),
        ({"deny_hosts": "https://evil.test/"}, "FEEDSCRUB_DENY_HOSTS has value"),
    ],
)
def test_app_refuses_access_settings_that_cannot_work(
    make_settings: Callable[..., Settings], changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        create_app(make_settings(**changes))


def test_redact() -> None:
    line = f'127.0.0.1 "GET /feed?url=http%3A%2F%2Fa&key={KEY}&sig=abc&format=rss HTTP/1.1" 200'
    assert access.redact(line) == (
        '127.0.0.1 "GET /feed?url=http%3A%2F%2Fa&key=<redacted>&sig=<redacted>&format=rss '
        'HTTP/1.1" 200'
    )
    assert access.redact("/feed?KEY=x") == "/feed?KEY=<redacted>"
    assert access.redact("/feed?monkey=1") == "/feed?monkey=1"
    # However the name is spelt: each of these is read as key= or sig= by aiohttp.
    for spelt in ("k%65y", "K%45Y", "%6B%65%79", "+key", "Sig", "\u212aey"):
        assert access.redact(f"/feed?url=x&{spelt}=secret") == f"/feed?url=x&{spelt}=<redacted>"
    plain = '127.0.0.1 "GET /feed?url=http://a.test/feed.xml&format=rss HTTP/1.1" 200'
    assert access.redact(plain) is plain  # nothing to redact: the line as it was


def test_unauthorized_is_401() -> None:
    assert Unauthorized("x").status == 401


# --- /feed with an access key ----------------------------------------------------------------


async def test_adhoc_feed_needs_the_key(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client(access_key=KEY)
    for params, headers in (
        ({"url": url}, {}),
        ({"url": url, "key": "wrong"}, {}),
        ({"url": url, "key": KEY[:-1]}, {}),
        ({"url": url}, {"Authorization": "Bearer wrong"}),
        ({"url": url}, {"Authorization": f"Basic {KEY}"}),
        ({}, {}),  # no url either: still 401, not 400
    ):
        response = await client.get("/feed", params=params, headers=headers)
        text = await response.text()
        assert response.status == 401, (params, headers)
        assert one_line(text), text
        assert response.headers["Content-Type"].startswith("text/plain")
        assert "WWW-Authenticate" not in response.headers
        assert KEY not in text
    assert upstream.hits["/rfi.xml"] == 0
    response = await client.get("/feed", params={"url": url, "key": KEY})
    assert response.status == 200
    read_feed(await response.read())
    response = await client.get(
        "/feed", params={"url": url}, headers={"Authorization": f"Bearer {KEY}"}
    )
    assert response.status == 200
    missing = await client.get("/feed", params={"key": KEY})
    assert missing.status == 400  # with the key, the usual input errors


async def test_without_a_key_feed_is_open(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    assert (await client.get("/feed", params={"url": url})).status == 200
    assert (await client.get("/feed", params={"url": url, "sig": "whatever"})).status == 200


async def test_signed_link_works_for_that_url_only(
    upstream: Upstream, make_client: MakeClient
) -> None:
    feed_a = upstream.route("/a.xml", seed_feed())
    feed_b = upstream.route("/b.xml", seed_feed())
    client = await make_client(access_key=KEY)
    link = links.sign_feed_url(feed_a, KEY)
    response = await client.get(link)
    assert response.status == 200
    read_feed(await response.read())
    response = await client.get(link + "&format=atom&limit=1")
    assert response.status == 200
    assert len(read_feed(await response.read()).entries) == 1
    # The same signature for another URL, a tampered one, one for a name, one for a fragment.
    sig_a = access.feed_signature(feed_a, KEY)
    for params in (
        {"url": feed_b, "sig": sig_a},
        {"url": feed_a, "sig": sig_a[:-1] + ("A" if sig_a[-1] != "A" else "B")},
        {"url": feed_a, "sig": access.named_signature(feed_a, KEY)},
        {"url": feed_a, "sig": access.feed_signature(feed_a, "another key")},
        {"url": feed_a, "sig": "ü" * 43},
    ):
        response = await client.get("/feed", params=params)
        assert response.status == 401, params
        assert one_line(await response.text())
    assert upstream.hits["/b.xml"] == 0
    # The signature covers the normalised URL: another spelling of the same feed passes.
    variant = feed_a.replace("http://", "HTTP://") + "#frag"
    response = await client.get("/feed", params={"url": variant, "sig": sig_a})
    assert response.status == 200


# --- /feeds/{name} ---------------------------------------------------------------------------


@pytest.fixture
def named_config(tmp_path: Path, upstream: Upstream) -> Path:
    upstream.route("/rfi.xml", seed_feed())
    path = tmp_path / "feedscrub.toml"
    path.write_text(
        f'[[feeds]]\nname = "rfi"\nurl = "{upstream.url("/rfi.xml")}"\n\n'
        f'[[feeds]]\nname = "other"\nurl = "{upstream.url("/rfi.xml")}"\n',
        encoding="utf-8",
    )
    return path


async def test_named_feeds_stay_open_unless_protected(
    named_config: Path, make_client: MakeClient
) -> None:
    client = await make_client(config=str(named_config), access_key=KEY)
    assert (await client.get("/feeds/rfi")).status == 200
    assert (await client.get("/feed", params={"url": "http://feeds.test/x"})).status == 401


async def test_protected_named_feeds(named_config: Path, make_client: MakeClient) -> None:
    client = await make_client(config=str(named_config), access_key=KEY, protect_named=True)
    for path in (
        "/feeds/rfi",
        "/feeds/rfi.atom",
        "/feeds/nope",
        "/feeds/rfi?key=wrong",
        f"/feeds/rfi?sig={access.named_signature('other', KEY)}",
        f"/feeds/rfi?sig={access.feed_signature('rfi', KEY)}",
    ):
        response = await client.get(path)
        assert response.status == 401, path  # an unknown name too: names are not revealed
        assert one_line(await response.text())
    assert (await client.get(f"/feeds/rfi?key={KEY}")).status == 200
    assert (await client.get(links.sign_named_feed("rfi", KEY))).status == 200
    # One signature covers the name in every format.
    sig = access.named_signature("rfi", KEY)
    response = await client.get(f"/feeds/rfi.atom?sig={sig}")
    assert response.status == 200
    assert read_feed(await response.read()).version == "atom10"
    assert (await client.get(f"/feeds/nope?key={KEY}")).status == 404


# --- host allow and deny lists ---------------------------------------------------------------


async def test_denied_host_is_refused_directly_and_after_a_redirect(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.route("/evil.xml", seed_feed())
    upstream.route("/moved", status=302, headers={"Location": "http://img.evil.test/evil.xml"})
    upstream.route("/ok.xml", seed_feed())
    client = await make_client(deny_hosts="evil.test, *.evil.test")
    response = await client.get("/feed", params={"url": "http://evil.test/evil.xml"})
    assert response.status == 403
    text = await response.text()
    assert one_line(text) and "FEEDSCRUB_DENY_HOSTS" in text
    response = await client.get("/feed", params={"url": "http://feeds.test/moved"})
    assert response.status == 403
    assert "redirect" in await response.text()
    assert upstream.hits["/moved"] == 1
    assert upstream.hits["/evil.xml"] == 0
    assert (await client.get("/feed", params={"url": "http://feeds.test/ok.xml"})).status == 200


async def test_image_on_a_denied_host_is_refused(
    upstream: Upstream, make_client: MakeClient
) -> None:
    png = (DATA / "images" / "red.png").read_bytes()
    upstream.route("/pic.png", png, content_type="image/png")
    body = seed_feed(image_base="http://img.evil.test")
    upstream.route("/rfi.xml", body)
    client = await make_client(deny_hosts="*.evil.test")
    response = await client.get("/feed", params={"url": "http://feeds.test/rfi.xml"})
    assert response.status == 200
    path = img_paths(read_feed(await response.read()).entries[0].description)[0]
    image = await client.get(path)
    assert image.status == 403
    assert "FEEDSCRUB_DENY_HOSTS" in await image.text()
    assert upstream.hits["/seed.jpg"] == 0


async def test_allow_list_admits_only_its_hosts(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.route("/rfi.xml", seed_feed())
    upstream.route("/hop", status=301, headers={"Location": "http://other.test/rfi.xml"})
    client = await make_client(allow_hosts="feeds.test,bücher.test")
    assert (await client.get("/feed", params={"url": "http://feeds.test/rfi.xml"})).status == 200
    assert (await client.get("/feed", params={"url": "http://other.test/rfi.xml"})).status == 403
    assert (await client.get("/feed", params={"url": "http://feeds.test/hop"})).status == 403
    # The IDN pattern admits the name however it is written.
    for spelling in ("http://BÜCHER.test/rfi.xml", "http://xn--bcher-kva.test/rfi.xml"):
        response = await client.get("/feed", params={"url": spelling})
        assert response.status == 200, spelling
    assert upstream.hits["/rfi.xml"] == 2  # feeds.test, then bücher.test (one cache entry)


async def test_idn_deny_pattern(
    upstream: Upstream, make_client: MakeClient, resolver: NameResolver
) -> None:
    upstream.route("/rfi.xml", seed_feed())
    client = await make_client(deny_hosts="bücher.test")
    for spelling in ("http://BÜCHER.test/rfi.xml", "http://xn--bcher-kva.test/rfi.xml"):
        assert (await client.get("/feed", params={"url": spelling})).status == 403
    assert "xn--bcher-kva.test" not in resolver.asked  # refused before any lookup


# --- secrets stay out of logs ----------------------------------------------------------------


async def test_key_and_signatures_never_reach_the_log(
    upstream: Upstream, make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = upstream.route("/rfi.xml", seed_feed())
    gone = upstream.route("/gone.xml", b"gone", status=410, content_type="text/plain")
    client = await make_client(access_key=KEY)
    sig = access.feed_signature(url, KEY)
    await client.get("/feed", params={"url": url, "key": KEY})
    await client.get("/feed", params={"url": url, "sig": sig})
    await client.get("/feed", params={"url": gone, "key": KEY})  # an upstream error is logged
    await client.get("/feed", params={"url": url, "key": KEY + "-wrong"})
    await client.get("/feed", params={"url": url}, headers={"Authorization": f"Bearer {KEY}"})
    await client.get("/", params={"key": KEY, "url": url})
    await client.get("/nope", params={"key": KEY})
    assert caplog.records, "nothing was logged: the test would prove nothing"
    assert any("<redacted>" in r.getMessage() for r in caplog.records)  # the access log ran
    for record in caplog.records:
        message = record.getMessage()
        assert KEY not in message, message
        assert sig not in message, message


# --- index page -------------------------------------------------------------------------------


async def test_index_hides_the_form_without_the_key(
    upstream: Upstream, make_client: MakeClient
) -> None:
    client = await make_client(access_key=KEY)
    for params in ({}, {"key": "wrong"}):
        page = await (await client.get("/", params=params)).text()
        assert "<form" not in page and 'action="/feed"' not in page
        assert "sig=" in page and "feedscrub sign URL" in page
    response = await client.get("/", params={"key": KEY})
    page = await response.text()
    assert 'action="/feed"' in page and 'name="key"' in page
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_index_builds_a_working_signed_link(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client(access_key=KEY)
    page = await (await client.get("/", params={"key": KEY, "url": url, "format": "atom"})).text()
    link = "http://proxy.test" + links.sign_feed_url(url, KEY) + "&format=atom"
    assert link.replace("&", "&amp;") in page
    response = await client.get(link.removeprefix("http://proxy.test"))
    assert response.status == 200
    assert read_feed(await response.read()).version == "atom10"
    bad = await (await client.get("/", params={"key": KEY, "url": "javascript:alert(1)"})).text()
    assert "not an absolute http(s) URL" in bad and "<script" not in bad


async def test_index_without_a_key_keeps_the_plain_form(make_client: MakeClient) -> None:
    page = await (await (await make_client()).get("/")).text()
    assert 'action="/feed"' in page and 'name="key"' not in page


# --- Host header and public URL (§E1) ---------------------------------------------------------


async def test_links_use_the_public_url_whatever_the_host_header(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.route("/seed.jpg", b"x", content_type="image/png")
    url = upstream.route("/rfi.xml", seed_feed(image_base=upstream.base_url))
    client = await make_client()  # public_url="http://proxy.test"
    evil = await client.get(
        "/feed",
        params={"url": url},
        headers={
            "Host": "evil.test",
            "X-Forwarded-Host": "evil.test",
            "Forwarded": "host=evil.test",
        },
    )
    body = await evil.read()
    assert evil.status == 200
    assert b"evil.test" not in body
    feed = read_feed(body)
    assert {link.href.split("/feed?")[0] for link in feed.feed.links if link.rel == "self"} == {
        "http://proxy.test"
    }
    assert 'src="http://proxy.test/img/' in feed.entries[0].description
    # Nothing poisoned was stored: an ordinary request gets the same bytes.
    plain = await client.get("/feed", params={"url": url})
    assert await plain.read() == body


async def test_host_header_builds_links_without_a_public_url(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed(image_base=upstream.base_url))
    client = await make_client(public_url="")
    response = await client.get(
        "/feed", params={"url": url}, headers={"Host": "feeds.example:8080"}
    )
    assert response.status == 200
    assert (
        'src="http://feeds.example:8080/img/'
        in read_feed(await response.read()).entries[0].description
    )


async def raw_status(client: TestClient[Any, Any], host: bytes | None) -> tuple[int, bytes]:
    """Send a request with exactly this Host header (None: none at all) over a plain socket."""
    assert client.server.host is not None and client.server.port is not None
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    head = b"GET /healthz HTTP/1.1\r\n"
    if host is not None:
        head += b"Host: " + host + b"\r\n"
    writer.write(head + b"Connection: close\r\n\r\n")
    await writer.drain()
    response = await reader.read()
    writer.close()
    await writer.wait_closed()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.mark.parametrize(
    "host",
    [
        b'evil.test"><script>alert(1)</script>',
        b"evil.test<x",
        b"evil .test",
        b"user@evil.test",
        b"evil.test/path",
        b"evil.test:80:80",
        b"",
        b"evil.test:port",
        b"[::1",
    ],
)
async def test_malformed_host_header_is_400_without_public_url(
    make_client: MakeClient, host: bytes
) -> None:
    client = await make_client(public_url="")
    status, body = await raw_status(client, host)
    assert status == 400
    assert b"<script" not in body


@pytest.mark.parametrize(
    "host", [b"localhost:8080", b"feeds.example", b"127.0.0.1:80", b"[::1]:8080"]
)
async def test_plain_host_headers_pass(make_client: MakeClient, host: bytes) -> None:
    assert (await raw_status(await make_client(public_url=""), host))[0] == 200


async def test_any_host_header_passes_with_a_public_url(make_client: MakeClient) -> None:
    # The Host is never used then, so there is nothing to refuse.
    assert (await raw_status(await make_client(), b"evil .test"))[0] == 200


# --- one feed, one cache entry (§E2) ----------------------------------------------------------


async def test_spellings_of_one_feed_share_one_cache_entry(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.route("/feed", seed_feed())
    client = await make_client()
    first = await client.get("/feed", params={"url": "http://EXAMPLE.com:80/feed#x"})
    second = await client.get("/feed", params={"url": "http://example.com/feed"})
    assert first.status == second.status == 200
    assert await first.read() == await second.read()
    assert upstream.hits["/feed"] == 1


async def test_query_order_is_never_normalised(upstream: Upstream, make_client: MakeClient) -> None:
    upstream.route("/feed", seed_feed())
    client = await make_client()
    for query in ("a=1&b=2", "b=2&a=1"):
        response = await client.get("/feed", params={"url": f"http://example.com/feed?{query}"})
        assert response.status == 200
    assert upstream.hits["/feed"] == 2  # two upstream URLs, two entries

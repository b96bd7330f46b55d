"""The image proxy end to end: signed links → the app → a real upstream on 127.0.0.1.

Referer probing and what it learns (kept across a restart), streaming within the size cap,
conditional and Range requests from the cache, refused content and the headers that pass.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy.images.proxy import ImageProxy
from proxy.images.referer import Hint
from proxy.images.signing import image_path
from proxy.server import IMAGES, create_app
from proxy.server.http import http_date
from tests.helpers import DATA
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
RED_PNG = (DATA / "images" / "red.png").read_bytes()
# A PNG signature followed by enough bytes to ask ranges of (the proxy sniffs, not decodes).
PNG = RED_PNG + bytes(range(256)) * 16
BLOG = "https://blog.example"


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, make_settings: Any) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(make_settings(**changes)))

    return build


def images_of(client: TestClient[Any, Any]) -> ImageProxy:
    app = client.app
    assert app is not None
    images: ImageProxy = app[IMAGES]
    return images


def link(client: TestClient[Any, Any], url: str, hint: Hint | None = None) -> str:
    return image_path(url, images_of(client).keys.current, hint.encode() if hint else "")


async def settle(client: TestClient[Any, Any]) -> None:
    """Wait until every image transfer has stored its image (or failed)."""
    await images_of(client).idle()


def referers(upstream: Upstream, path: str) -> list[str | None]:
    return [r.headers.get("Referer") for r in upstream.requests if r.path == path]


Handler = Callable[[web.Request], Awaitable[web.Response]]


def gate(expected: str, *, refusal: str = "403") -> Handler:
    """A hot-link-protected host: the image only for the expected Referer."""

    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("Referer") == expected:
            return web.Response(body=PNG, content_type="image/png")
        if refusal == "page":  # some hosts answer 200 with an HTML page instead
            return web.Response(text="<html><body>no hotlinking</body></html>",
                                content_type="text/html")
        return web.Response(status=403, text="hotlinking forbidden")

    return handler


# --- Referer policies -----------------------------------------------------------------------


@pytest.mark.parametrize("refusal", ["403", "page"])
async def test_refused_host_works_after_one_probe_and_it_is_remembered_across_restart(
    upstream: Upstream, aiohttp_client: AiohttpClient, make_settings: Any, refusal: str
) -> None:
    upstream.route("/a.png", handler=gate(BLOG + "/", refusal=refusal))
    upstream.route("/b.png", handler=gate(BLOG + "/", refusal=refusal))
    settings = make_settings()
    hint = Hint(origin=BLOG)  # the item's link was on the blog
    first = await aiohttp_client(create_app(settings))
    response = await first.get(link(first, upstream.url("/a.png"), hint))
    assert response.status == 200 and await response.read() == PNG
    # The default (no Referer) was refused, the item's origin worked.
    assert referers(upstream, "/a.png") == [None, BLOG + "/"]
    await settle(first)
    await first.close()

    # A restart: new app, new proxy, same cache dir. Another image on the same host is
    # fetched with the learned policy straight away.
    second = await aiohttp_client(create_app(settings))
    response = await second.get(link(second, upstream.url("/b.png"), hint))
    assert response.status == 200 and await response.read() == PNG
    assert referers(upstream, "/b.png") == [BLOG + "/"]


async def test_image_origin_policy_is_probed_too(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.route("/own.png", handler=gate(upstream.base_url + "/"))
    client = await make_client()
    response = await client.get(link(client, upstream.url("/own.png"), Hint(origin=BLOG)))
    assert response.status == 200
    assert referers(upstream, "/own.png") == [None, BLOG + "/", upstream.base_url + "/"]


async def test_feed_policy_is_tried_first(upstream: Upstream, make_client: MakeClient) -> None:
    fixed = "https://www.pixiv.net/"
    upstream.route("/p.png", handler=gate(fixed))
    client = await make_client()
    response = await client.get(link(client, upstream.url("/p.png"), Hint(policy=fixed)))
    assert response.status == 200
    assert referers(upstream, "/p.png") == [fixed]


async def test_every_policy_refused_is_one_clear_502(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.route("/never.png", handler=gate("https://nobody.example/"))
    client = await make_client()
    response = await client.get(link(client, upstream.url("/never.png"), Hint(origin=BLOG)))
    assert response.status == 502
    text = await response.text()
    assert "403" in text and "none, origin, image" in text
    assert len(referers(upstream, "/never.png")) == 3  # each policy once, no more


async def test_default_policy_setting(upstream: Upstream, make_client: MakeClient) -> None:
    upstream.route("/d.png", handler=gate(upstream.base_url + "/"))
    client = await make_client(image_referer="image")
    response = await client.get(link(client, upstream.url("/d.png")))
    assert response.status == 200
    assert referers(upstream, "/d.png") == [upstream.base_url + "/"]


# --- links ----------------------------------------------------------------------------------


async def test_old_style_links_still_served(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/old.png", PNG, content_type="image/png")
    client = await make_client()
    path = link(client, url)
    assert "?" not in path  # /img/<signature>/<encoded-url>, as readers have cached them
    response = await client.get(path)
    assert response.status == 200 and await response.read() == PNG
    assert referers(upstream, "/old.png") == [None]


@pytest.mark.parametrize("change", ["other-hint", "hint-dropped", "hint-added"])
async def test_hint_cannot_be_changed(
    upstream: Upstream, make_client: MakeClient, change: str
) -> None:
    url = upstream.route("/h.png", PNG, content_type="image/png")
    client = await make_client()
    hinted = link(client, url, Hint(origin=BLOG))
    path, _, query = hinted.partition("?")
    other = link(client, url, Hint(origin="https://evil.example")).partition("?")[2]
    tampered = {
        "other-hint": f"{path}?{other}",
        "hint-dropped": path,
        "hint-added": link(client, url) + "?" + query,
    }[change]
    response = await client.get(tampered)
    assert response.status == 403
    assert upstream.hits["/h.png"] == 0


# --- streaming ------------------------------------------------------------------------------

FIFTY_MB = 50 * 1024 * 1024
BLOCK = bytes(64 * 1024)


async def _fifty_megabytes(request: web.Request) -> web.StreamResponse:
    # Chunked (no Content-Length): the proxy has to count; the same block is sent again and
    # again so the upstream itself holds 64 KB.
    response = web.StreamResponse(headers={"Content-Type": "image/png"})
    await response.prepare(request)
    try:
        await response.write(RED_PNG + BLOCK[len(RED_PNG):])
        for _ in range(FIFTY_MB // len(BLOCK) - 1):
            await response.write(BLOCK)
    except ConnectionError:
        pass  # the proxy hung up at its cap, as it should
    return response


async def test_fifty_megabytes_are_cut_at_the_cap_without_buffering(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/huge.png", handler=_fifty_megabytes)
    client = await make_client()  # max_image_bytes: the 10 MB default
    cap = images_of(client).settings.max_image_bytes
    received = 0
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        response = await client.get(link(client, url))
        assert response.status == 200  # the first bytes were an image: streaming started
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in response.content.iter_chunked(64 * 1024):
                received += len(chunk)  # counted, not kept
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 0 < received <= cap  # the reader sees a cut transfer, never more than the cap
    # Everything in this process (upstream, proxy, reader) stayed far below the cap.
    # Bytes went out while they came in: the reader got nearly all of them before the cut.
    assert received > cap // 2
    assert peak < cap // 4, f"peak {peak} bytes"
    await settle(client)
    images = images_of(client)
    assert images.cache.images.open_image(url) is None  # nothing cached
    assert not list(images.setup.partial_dir.iterdir())  # and no partial file left behind


async def test_bytes_reach_the_reader_before_the_upstream_has_finished(
    upstream: Upstream, make_client: MakeClient
) -> None:
    first_seen = asyncio.Event()

    async def slow(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        await response.prepare(request)
        await response.write(PNG)
        await asyncio.wait_for(first_seen.wait(), 5)  # the rest only once the reader has bytes
        await response.write(b"tail")
        return response

    url = upstream.route("/slow.png", handler=slow)
    client = await make_client()
    response = await client.get(link(client, url))
    assert response.status == 200
    head = await asyncio.wait_for(response.content.readexactly(len(PNG)), 5)
    assert head == PNG
    first_seen.set()
    assert await response.read() == b"tail"
    await settle(client)
    again = await client.get(link(client, url))
    assert await again.read() == PNG + b"tail"  # cached once complete
    assert upstream.hits["/slow.png"] == 1


async def test_announced_size_over_the_cap_is_refused_before_anything_is_sent(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/big.png", RED_PNG + bytes(2048), content_type="image/png")
    client = await make_client(max_image_bytes=1024)
    response = await client.get(link(client, url))
    assert response.status == 502
    assert "limit" in await response.text()


async def test_concurrent_readers_share_one_upstream_request(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/shared.png", PNG, content_type="image/png", delay=0.2)
    client = await make_client()
    path = link(client, url)
    responses = await asyncio.gather(*(client.get(path) for _ in range(20)))
    bodies = await asyncio.gather(*(r.read() for r in responses))
    assert all(r.status == 200 for r in responses) and all(b == PNG for b in bodies)
    assert upstream.hits["/shared.png"] == 1


# --- from the cache: conditional and Range --------------------------------------------------


async def cached(upstream: Upstream, client: TestClient[Any, Any]) -> tuple[str, Any]:
    url = upstream.route(
        "/c.png", PNG, content_type="image/png",
        headers={"Last-Modified": "Sun, 18 Jun 2023 23:50:00 GMT", "ETag": '"up"'},
    )
    path = link(client, url)
    first = await client.get(path)
    assert first.status == 200 and await first.read() == PNG
    await settle(client)
    return path, first.headers


async def test_304_for_if_none_match_and_if_modified_since(
    upstream: Upstream, make_client: MakeClient
) -> None:
    client = await make_client()
    path, headers = await cached(upstream, client)
    etag = headers["ETag"]
    assert headers["Last-Modified"] == "Sun, 18 Jun 2023 23:50:00 GMT"
    for conditional in (
        {"If-None-Match": etag},
        {"If-None-Match": f'"other", W/{etag}'},
        {"If-Modified-Since": headers["Last-Modified"]},
        {"If-Modified-Since": http_date(2_000_000_000)},
    ):
        response = await client.get(path, headers=conditional)
        assert response.status == 304, conditional
        assert response.headers["ETag"] == etag
        assert await response.read() == b""
    for fresh in ({"If-None-Match": '"other"'}, {"If-Modified-Since": http_date(1_000_000_000)}):
        response = await client.get(path, headers=fresh)
        assert response.status == 200 and await response.read() == PNG
    assert upstream.hits["/c.png"] == 1  # all of it from the cache


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 10)),
        ("bytes=10-", (10, len(PNG))),
        ("bytes=-5", (len(PNG) - 5, len(PNG))),
        ("bytes=-999999", (0, len(PNG))),
        ("bytes=100-99999", (100, len(PNG))),
    ],
    ids=["first-ten", "open-ended", "suffix", "suffix-longer-than-image", "end-past-size"],
)
async def test_range_from_the_cache(
    upstream: Upstream, make_client: MakeClient, header: str, expected: tuple[int, int]
) -> None:
    client = await make_client()
    path, _ = await cached(upstream, client)
    response = await client.get(path, headers={"Range": header})
    start, end = expected
    assert response.status == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end - 1}/{len(PNG)}"
    assert response.headers["Content-Length"] == str(end - start)
    assert await response.read() == PNG[start:end]


@pytest.mark.parametrize("header", [f"bytes={len(PNG)}-", "bytes=99999-100000", "bytes=-0"])
async def test_unsatisfiable_range_is_416(
    upstream: Upstream, make_client: MakeClient, header: str
) -> None:
    client = await make_client()
    path, _ = await cached(upstream, client)
    response = await client.get(path, headers={"Range": header})
    assert response.status == 416
    assert response.headers["Content-Range"] == f"bytes */{len(PNG)}"


@pytest.mark.parametrize(
    "headers",
    [{"Range": "bytes=5-2"}, {"Range": "bytes=0-1,4-5"}, {"Range": "items=0-1"},
     {"Range": "bytes=0-9", "If-Range": '"stale"'}],
    ids=["reversed", "several", "other-unit", "if-range-mismatch"],
)
async def test_ranges_we_do_not_serve_get_the_whole_image(
    upstream: Upstream, make_client: MakeClient, headers: dict[str, str]
) -> None:
    client = await make_client()
    path, _ = await cached(upstream, client)
    response = await client.get(path, headers=headers)
    assert response.status == 200 and await response.read() == PNG


async def test_if_range_matching_gives_the_range(
    upstream: Upstream, make_client: MakeClient
) -> None:
    client = await make_client()
    path, first = await cached(upstream, client)
    response = await client.get(path, headers={"Range": "bytes=0-3", "If-Range": first["ETag"]})
    assert response.status == 206 and await response.read() == PNG[:4]


async def test_head_sends_headers_only(upstream: Upstream, make_client: MakeClient) -> None:
    client = await make_client()
    path, _ = await cached(upstream, client)
    response = await client.head(path)
    assert response.status == 200
    assert response.headers["Content-Length"] == str(len(PNG))
    assert await response.read() == b""


# --- what is refused, and what passes -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
         "image/svg+xml"),
        (b"  <?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg'/>", "image/png"),
        (b"<!doctype html><html><script>alert(1)</script></html>", "image/png"),
        (b"<html>hi</html>", "text/html"),
    ],
    ids=["svg", "svg-as-png", "html-as-png", "html"],
)
async def test_svg_and_html_are_refused_with_502(
    upstream: Upstream, make_client: MakeClient, body: bytes, content_type: str
) -> None:
    url = upstream.route("/x", body, content_type=content_type)
    client = await make_client()
    response = await client.get(link(client, url))
    assert response.status == 502
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert b"<script" not in await response.read()
    await settle(client)
    assert images_of(client).cache.images.open_image(url) is None


async def test_svg_is_not_retried_with_other_referers(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/s.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                         content_type="image/svg+xml")
    client = await make_client()
    response = await client.get(link(client, url, Hint(origin=BLOG)))
    assert response.status == 502
    assert upstream.hits["/s.svg"] == 1  # an answer, not a refusal


async def test_only_our_headers_reach_the_reader(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route(
        "/h.png", PNG, content_type="IMAGE/PNG; charset=x",
        headers={
            "Set-Cookie": "tracker=1", "Content-Disposition": "attachment; filename=x.html",
            "Link": "<https://evil.example/>; rel=preload", "Access-Control-Allow-Origin": "*",
            "Content-Security-Policy": "default-src *", "Refresh": "0;url=https://evil.example/",
            "X-Upstream": "secret", "ETag": '"theirs"', "Server": "upstream/1.0",
        },
    )
    client = await make_client()
    for attempt in ("streamed", "cached"):
        response = await client.get(link(client, url))
        assert response.status == 200, attempt
        assert await response.read() == PNG
        headers = response.headers
        for name in ("Set-Cookie", "Content-Disposition", "Link", "Access-Control-Allow-Origin",
                     "Refresh", "X-Upstream"):
            assert name not in headers, (attempt, name)
        assert headers["Content-Type"] == "image/png"  # from the bytes, normalised
        assert headers["ETag"] != '"theirs"'
        assert headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "immutable" in headers["Cache-Control"]
        assert headers["Content-Length"] == str(len(PNG))
        await settle(client)


async def test_reader_request_headers_do_not_reach_the_upstream(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/r.png", PNG, content_type="image/png")
    client = await make_client()
    await client.get(link(client, url), headers={
        "Cookie": "session=1", "Authorization": "Bearer x", "X-Forwarded-For": "127.0.0.1",
        "Referer": "https://reader.example/private", "Origin": "https://reader.example",
    })
    sent = upstream.last_request("/r.png").headers
    for name in ("Cookie", "Authorization", "X-Forwarded-For", "Referer", "Origin"):
        assert name not in sent, name


async def test_private_address_refused_without_allow_private(make_client: MakeClient) -> None:
    client = await make_client(allow_private=False)
    response = await client.get(link(client, "http://127.0.0.1:9/x.png"))
    assert response.status == 403


# --- audio and video (podcast enclosures) ---------------------------------------------------

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(4096)


async def test_media_links_need_proxy_media(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/e.mp3", MP3, content_type="audio/mpeg")
    off = await make_client()
    response = await off.get(link(off, url, Hint(media=True)))
    assert response.status == 404
    assert upstream.hits["/e.mp3"] == 0


async def test_media_served_with_proxy_media(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/e.mp3", MP3, content_type="audio/mpeg")
    client = await make_client(proxy_media=True)
    response = await client.get(link(client, url, Hint(media=True)))
    assert response.status == 200
    assert response.headers["Content-Type"] == "audio/mpeg"
    assert await response.read() == MP3
    # An image link never passes audio, whatever the setting.
    image = await client.get(link(client, url))
    assert image.status == 502


async def test_error_never_reflects_markup(make_client: MakeClient) -> None:
    client = await make_client()
    response = await client.get(link(client, "http:a<script>alert(1)</script>"))
    assert response.status == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "<script" not in await response.text()


async def test_upstream_too_slow_is_504(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/slow.png", PNG, content_type="image/png", delay=2.0)
    client = await make_client(fetch_timeout=0.3)
    response = await client.get(link(client, url))
    assert response.status == 504

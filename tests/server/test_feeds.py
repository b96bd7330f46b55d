"""End to end: a real upstream on 127.0.0.1 → the proxy app → feedparser reading it back."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient

from proxy.server import create_app
from tests.helpers import DATA, img_paths, move_clock, read_feed, seed_feed
from tests.redis_server import BOTH_BACKENDS
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
JUNK = (
    "获取更多RSS",
    "feedx.net",
    "feedx.best",
    "分享",
    "facebook.com",
    "whatsapp",
    "twitter.com/intent",
    "share-button",
    "share-modal",
    "data-selfpromo",
    "<span",
)


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, make_settings: Any) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(make_settings(**changes)))

    return build


async def get_feed(client: TestClient[Any, Any], url: str, **params: str) -> tuple[Any, bytes]:
    response = await client.get("/feed", params={"url": url, **params})
    body = await response.read()
    assert response.status == 200, body
    return response, body


async def test_seed_item_comes_out_as_only_its_article(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    response, body = await get_feed(client, url)
    assert response.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    feed = read_feed(body)
    html = feed.entries[0].description
    for junk in JUNK:
        assert junk not in html, junk
    seed = (DATA / "seed" / "feedx-rfi-item.html").read_text(encoding="utf-8")
    # Every article paragraph, character for character.
    from lxml import html as lxml_html

    article = lxml_html.fromstring(f"<div>{seed}</div>")
    paragraphs = [p.text_content() for p in article.iter("p")]
    assert len(paragraphs) == 14  # the lead paragraph and the thirteen after it
    served = lxml_html.fromstring(f"<div>{html}</div>")
    assert [p.text_content() for p in served.iter("p")] == paragraphs
    assert served.xpath("string(./div[1])") == "18/06/2023 - 23:50"
    assert len(served.xpath("//img")) == 1


@pytest.mark.parametrize("fmt", ["rss", "atom"])
async def test_both_formats_keep_items(
    upstream: Upstream, make_client: MakeClient, fmt: str
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    response, body = await get_feed(client, url, format=fmt)
    assert response.headers["Content-Type"].startswith(f"application/{fmt}+xml")
    feed = read_feed(body)
    assert feed.version == ("atom10" if fmt == "atom" else "rss20")
    if fmt == "rss":
        assert [e.id for e in feed.entries] == ["1687126501000", "1687126502000"]
    else:
        # Issue 11.5: an Atom id is an IRI; a bare guid becomes a urn:uuid derived from it.
        ids = [e.id for e in feed.entries]
        assert all(i.startswith("urn:uuid:") for i in ids) and len(set(ids)) == 2
    assert [e.title for e in feed.entries] == ["美中会谈同意再谈  重大议题无突破", "第二条新闻"]
    assert feed.entries[1].link == "https://www.rfi.fr/cn/second"
    assert feed.entries[0].tags[0].term == "中国"
    assert feed.entries[0].published_parsed[:5] == (2023, 6, 18, 23, 50)
    assert [(e.href, e.type) for e in feed.entries[1].enclosures] == [
        ("https://s.rfi.fr/media/second.mp3", "audio/mpeg")
    ]
    assert feed.feed.title == "法广 RFI 中文 - feedx"
    assert feed.feed.language == "zh-cn"
    assert feed.feed.link == "https://www.rfi.fr/cn/"
    links = {link.rel: link.href for link in feed.feed.links}
    assert links["self"].startswith("http://proxy.test/feed?url=")
    assert "hub" not in links
    assert b"pubsubhubbub" not in body


async def test_default_format_follows_upstream_family(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.serve_file(
        "/atom.xml",
        "feeds/atom-neverworkintheory-empty-divs-relative.xml",
        content_type="application/atom+xml",
    )
    client = await make_client()
    response, body = await get_feed(client, url)
    assert response.headers["Content-Type"].startswith("application/atom+xml")
    feed = read_feed(body)
    assert feed.version == "atom10"
    assert len(feed.entries) == 20


async def test_gbk_feed_comes_out_as_text(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route(
        "/gbk.xml", seed_feed(encoding="gbk"), content_type="application/xml; charset=GBK"
    )
    client = await make_client()
    _, body = await get_feed(client, url)
    feed = read_feed(body)
    assert feed.entries[0].title == "美中会谈同意再谈  重大议题无突破"
    assert "布林肯原本计划二月份访华" in feed.entries[0].description


async def test_gb2312_corpus_feed_without_charset_header(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.serve_file("/gb.xml", "feeds/gb2312-kc0011-chinese.xml", content_type="")
    client = await make_client()
    _, body = await get_feed(client, url)
    feed = read_feed(body)
    assert feed.feed.title.startswith("投资资讯网交易在线")
    assert len(feed.entries) == 20


async def test_podcast_enclosures_and_order_preserved(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.serve_file("/cre.xml", "feeds/podcast-cre-feedburner-enclosures.xml")
    original = read_feed((DATA / "feeds" / "podcast-cre-feedburner-enclosures.xml").read_bytes())
    client = await make_client()
    for fmt in ("rss", "atom"):
        _, body = await get_feed(client, url, format=fmt)
        served = read_feed(body)
        assert [e.id for e in served.entries] == [e.id for e in original.entries]
        assert [e.title for e in served.entries] == [e.title for e in original.entries]
        assert [e.enclosures[0].href for e in served.entries] == [
            e.enclosures[0].href for e in original.entries
        ]


@BOTH_BACKENDS
async def test_images_load_through_the_proxy(upstream: Upstream, make_client: MakeClient) -> None:
    png = (DATA / "images" / "red.png").read_bytes()
    upstream.route("/seed.jpg", png, content_type="image/png")
    url = upstream.route("/rfi.xml", seed_feed(image_base=upstream.base_url))
    client = await make_client()
    _, body = await get_feed(client, url)
    feed = read_feed(body)
    first, second = (img_paths(e.description) for e in feed.entries)
    assert len(first) == 1 and len(second) == 1
    response = await client.get(first[0])
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    assert "immutable" in response.headers["Cache-Control"]
    assert await response.read() == png
    # The second item's relative image resolved against the feed URL, then proxied.
    response = await client.get(second[0])
    assert response.status == 404 or response.status == 502  # not served by the test upstream
    assert upstream.hits["/media/second.jpg"] == 1
    # Served again from the image cache: the upstream is not asked twice.
    response = await client.get(first[0])
    assert await response.read() == png
    assert upstream.hits["/seed.jpg"] == 1


async def test_tampered_image_signature_is_refused(
    upstream: Upstream, make_client: MakeClient
) -> None:
    upstream.route(
        "/seed.jpg", (DATA / "images" / "red.png").read_bytes(), content_type="image/png"
    )
    url = upstream.route("/rfi.xml", seed_feed(image_base=upstream.base_url))
    client = await make_client()
    _, body = await get_feed(client, url)
    path = img_paths(read_feed(body).entries[0].description)[0]
    _, _, signature, encoded = path.split("/")
    forged = "A" + signature[1:] if signature[0] != "A" else "B" + signature[1:]
    response = await client.get(f"/img/{forged}/{encoded}")
    assert response.status == 403
    assert "signature" in (await response.text())
    assert upstream.hits["/seed.jpg"] == 0


async def test_image_proxy_refuses_non_images(upstream: Upstream, make_client: MakeClient) -> None:
    from proxy.images.signing import image_path
    from proxy.server import PIPELINE

    page = upstream.route("/page.html", b"<html>hi</html>", content_type="image/png")
    svg = upstream.route(
        "/x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", content_type="image/svg+xml"
    )
    client = await make_client()
    key = client.server.app[PIPELINE].key
    for target in (page, svg):
        response = await client.get(image_path(target, key))
        assert response.status == 502
        assert "image" in (await response.text()).lower()


@BOTH_BACKENDS
async def test_second_request_is_served_from_cache(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    _, first = await get_feed(client, url)
    _, second = await get_feed(client, url)
    assert first == second
    assert upstream.hits["/rfi.xml"] == 1


@BOTH_BACKENDS
async def test_cache_survives_a_new_app_on_the_same_directory(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    _, first = await get_feed(await make_client(), url)
    _, second = await get_feed(await make_client(), url)
    assert first == second
    assert upstream.hits["/rfi.xml"] == 1


@BOTH_BACKENDS
async def test_conditional_get_to_the_upstream_after_ttl(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed(), validators=True)
    client = await make_client(ttl=60, stale_while_revalidate=0)
    _, first = await get_feed(client, url)
    move_clock(client, 61)
    _, second = await get_feed(client, url)
    assert first == second
    assert upstream.hits["/rfi.xml"] == 2
    sent = upstream.last_request("/rfi.xml").headers
    assert sent["If-None-Match"].startswith('"')


@BOTH_BACKENDS
async def test_reader_gets_304_with_etag_or_date(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    response, _ = await get_feed(client, url)
    etag, modified = response.headers["ETag"], response.headers["Last-Modified"]
    again = await client.get("/feed", params={"url": url}, headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    again = await client.get("/feed", params={"url": url}, headers={"If-Modified-Since": modified})
    assert again.status == 304
    other = await client.get("/feed", params={"url": url}, headers={"If-None-Match": '"nope"'})
    assert other.status == 200


@BOTH_BACKENDS
async def test_etag_changes_only_when_output_changes(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client(ttl=60, stale_while_revalidate=0)
    first, _ = await get_feed(client, url)
    move_clock(client, 61)
    second, _ = await get_feed(client, url)
    assert upstream.hits["/rfi.xml"] == 2  # refetched, same bytes
    assert first.headers["ETag"] == second.headers["ETag"]
    upstream.route("/rfi.xml", seed_feed().replace("第二条新闻".encode(), "更新后的新闻".encode()))
    move_clock(client, 122)
    third, _ = await get_feed(client, url)
    assert third.headers["ETag"] != first.headers["ETag"]


async def test_gzip_when_the_reader_accepts_it(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    response = await client.get(
        "/feed", params={"url": url}, headers={"Accept-Encoding": "gzip"}, auto_decompress=False
    )
    assert response.headers["Content-Encoding"] == "gzip"
    read_feed(gzip.decompress(await response.read()))


@BOTH_BACKENDS
async def test_stale_copy_served_when_upstream_goes_down(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client(ttl=60, stale_while_revalidate=0)
    _, good = await get_feed(client, url)
    upstream.route("/rfi.xml", b"down", status=503, content_type="text/plain")
    move_clock(client, 120)
    response, body = await get_feed(client, url)
    assert body == good
    assert "fwd=stale" in response.headers["Cache-Status"]
    assert "503" in response.headers["Cache-Status"]
    assert int(response.headers["Age"]) >= 120
    # The good copy is still there for a fresh app on the same cache.
    upstream.route("/rfi.xml", b"<html>oops</html>", content_type="text/html")
    fresh = await make_client(ttl=60, stale_while_revalidate=0)
    move_clock(fresh, 240)
    response, body = await get_feed(fresh, url)
    assert body == good
    assert "fwd=stale" in response.headers["Cache-Status"]


@BOTH_BACKENDS
async def test_fifty_concurrent_requests_make_one_upstream_request(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed(), delay=0.2)
    client = await make_client()
    responses = await asyncio.gather(*(client.get("/feed", params={"url": url}) for _ in range(50)))
    bodies = {await r.read() for r in responses}
    assert {r.status for r in responses} == {200}
    assert len(bodies) == 1
    assert upstream.hits["/rfi.xml"] == 1


async def test_private_address_refused_without_allow_private(make_client: MakeClient) -> None:
    client = await make_client(allow_private=False)
    for url in (
        "http://127.0.0.1:9/feed",
        "http://[::1]/feed",
        "http://10.0.0.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost/feed",
    ):
        response = await client.get("/feed", params={"url": url})
        assert response.status == 403, url
        text = await response.text()
        assert text.count("\n") == 1 and "Traceback" not in text


@pytest.mark.parametrize(
    "url",
    [
        "",
        "not a url",
        "ftp://example.com/feed",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "//example.com/feed",
        "http://",
    ],
)
async def test_bad_url_is_400(make_client: MakeClient, url: str) -> None:
    client = await make_client()
    response = await client.get("/feed", params={"url": url})
    assert response.status == 400
    text = await response.text()
    assert text.endswith("\n") and text.count("\n") == 1


async def test_bad_format_is_400(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    response = await client.get("/feed", params={"url": url, "format": "pdf"})
    assert response.status == 400
    assert upstream.hits["/rfi.xml"] == 0


async def test_html_page_is_502(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.serve_file(
        "/page.html", "pages/wptavern.html", content_type="text/html; charset=utf-8"
    )
    client = await make_client()
    response = await client.get("/feed", params={"url": url})
    assert response.status == 502
    assert "upstream did not return a feed" in await response.text()


async def test_garbage_is_502(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/bin", bytes(range(256)) * 10, content_type="application/octet-stream")
    client = await make_client()
    response = await client.get("/feed", params={"url": url})
    assert response.status == 502
    assert "did not return a feed" in await response.text()


async def test_upstream_timeout_is_504(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/slow.xml", seed_feed(), delay=3)
    client = await make_client(fetch_timeout=0.5)
    response = await client.get("/feed", params={"url": url})
    assert response.status == 504
    assert "0.5" in await response.text()


async def test_upstream_error_status_is_502(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/gone.xml", b"gone", status=410, content_type="text/plain")
    client = await make_client()
    response = await client.get("/feed", params={"url": url})
    assert response.status == 502
    assert "410" in await response.text()


async def test_dead_upstream_is_502(make_client: MakeClient, unused_tcp_port: int) -> None:
    client = await make_client()
    port = unused_tcp_port
    response = await client.get("/feed", params={"url": f"http://127.0.0.1:{port}/x"})
    assert response.status == 502


async def test_health_and_index(make_client: MakeClient) -> None:
    client = await make_client()
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/readyz")).status == 200
    index = await client.get("/")
    assert index.status == 200
    assert 'action="/feed"' in await index.text()
    missing = await client.get("/nope")
    assert missing.status == 404
    assert (await missing.text()).count("\n") == 1


async def test_unexpected_error_is_500_without_traceback(
    upstream: Upstream, make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from proxy import output

    def broken(*args: Any, **kwargs: Any) -> bytes:
        raise RuntimeError("boom")

    monkeypatch.setattr(output, "build_output", broken)
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    response = await client.get("/feed", params={"url": url})
    assert response.status == 500
    text = await response.text()
    assert "Traceback" not in text and "boom" not in text


@BOTH_BACKENDS
async def test_stale_while_revalidate_serves_at_once_and_refreshes_once(
    upstream: Upstream, make_client: MakeClient
) -> None:
    from proxy.server import PIPELINE

    url = upstream.route("/rfi.xml", seed_feed(), validators=True)
    client = await make_client(ttl=60, stale_while_revalidate=300)
    _, first = await get_feed(client, url)
    upstream.route(
        "/rfi.xml", seed_feed().replace("第二条新闻".encode(), "更新后的新闻".encode()), delay=0.3
    )
    move_clock(client, 90)
    responses = await asyncio.gather(*(client.get("/feed", params={"url": url}) for _ in range(10)))
    bodies = {await r.read() for r in responses}
    # Served at cache speed: the old body, while the refresh is still in flight.
    assert bodies == {first}
    assert all("revalidating" in r.headers["Cache-Status"] for r in responses)
    await client.server.app[PIPELINE].settle()
    assert upstream.hits["/rfi.xml"] == 2  # exactly one background refresh
    _, after = await get_feed(client, url)
    assert "更新后的新闻".encode() in after


@BOTH_BACKENDS
async def test_beyond_the_revalidate_window_the_reader_waits_for_fresh(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client(ttl=60, stale_while_revalidate=300)
    await get_feed(client, url)
    upstream.route("/rfi.xml", seed_feed().replace("第二条新闻".encode(), "更新后的新闻".encode()))
    move_clock(client, 400)
    _, body = await get_feed(client, url)
    assert "更新后的新闻".encode() in body


@BOTH_BACKENDS
async def test_dead_feed_is_remembered_for_a_while(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/gone.xml", b"gone", status=404, content_type="text/plain")
    client = await make_client(negative_ttl=300)
    for _ in range(5):
        response = await client.get("/feed", params={"url": url})
        assert response.status == 502
        assert "404" in await response.text()
    assert upstream.hits["/gone.xml"] == 1
    move_clock(client, 301)
    await client.get("/feed", params={"url": url})
    assert upstream.hits["/gone.xml"] == 2


@pytest.mark.parametrize(
    ("retry_after", "blocked_for"),
    [("120", 120), ("garbage", 60), ("99999999", 3600), ("Wed, 21 Oct 2015 07:28:00 GMT", 1)],
    ids=["seconds", "garbage", "absurd", "past-date"],
)
async def test_retry_after_is_honoured(
    upstream: Upstream, make_client: MakeClient, retry_after: str, blocked_for: int
) -> None:
    url = upstream.route(
        "/busy.xml",
        b"busy",
        status=429,
        content_type="text/plain",
        headers={"Retry-After": retry_after},
    )
    other = upstream.url("/other.xml")
    upstream.route("/other.xml", seed_feed())
    client = await make_client()
    first = await client.get("/feed", params={"url": url})
    assert first.status == 502 and "429" in await first.text()
    if blocked_for > 1:
        second = await client.get("/feed", params={"url": other})  # same host: not asked
        assert second.status == 503
        assert 0 < int(second.headers["Retry-After"]) <= blocked_for
        assert upstream.hits["/other.xml"] == 0
    move_clock(client, blocked_for + 1)
    assert (await client.get("/feed", params={"url": other})).status == 200
    assert upstream.hits["/other.xml"] == 1


@BOTH_BACKENDS
async def test_repeated_failures_back_off(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/down.xml", b"down", status=500, content_type="text/plain")
    client = await make_client()
    statuses = [(await client.get("/feed", params={"url": url})).status for _ in range(4)]
    assert statuses == [502, 502, 503, 503]
    assert upstream.hits["/down.xml"] == 2


# --- enclosures and Media RSS (image proxy) -------------------------------------------------


async def test_podcast_audio_enclosures_untouched_by_default(
    upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.serve_file("/cre-media.xml", "feeds/podcast-cre-feedburner-enclosures.xml")
    original = read_feed((DATA / "feeds" / "podcast-cre-feedburner-enclosures.xml").read_bytes())
    client = await make_client()  # FEEDSCRUB_PROXY_MEDIA is off by default
    _, body = await get_feed(client, url)
    served = read_feed(body)
    assert [e.enclosures[0].href for e in served.entries] == [
        e.enclosures[0].href for e in original.entries
    ]
    assert all("/img/" not in e.enclosures[0].href for e in served.entries)
    # The channel image is an image: proxied.
    assert "/img/" in served.feed.image.href


async def test_media_thumbnails_and_image_content_are_proxied(
    upstream: Upstream, make_client: MakeClient
) -> None:
    from proxy.images.signing import verify_link
    from proxy.server import PIPELINE

    name = "feeds/wpvip-indianexpress-pixel-only-description.xml"
    url = upstream.serve_file("/ie.xml", name)
    original = read_feed((DATA / name).read_bytes())
    client = await make_client()
    app = client.app
    assert app is not None
    key: bytes = app[PIPELINE].key
    for fmt in ("rss", "atom"):
        _, body = await get_feed(client, url, format=fmt)
        served = read_feed(body)
        assert len(served.entries) == len(original.entries) == 200
        for before, after in zip(original.entries, served.entries, strict=True):
            pairs = [
                (b["url"], a["url"])
                for field in ("media_thumbnail", "media_content")
                for b, a in zip(before.get(field, []), after.get(field, []), strict=True)
            ]
            assert pairs, before.id
            for upstream_url, proxied_url in pairs:
                route, _, query = proxied_url.removeprefix("http://proxy.test").partition("?")
                assert route.startswith("/img/")
                _, _, signature, encoded = route.split("/")
                assert verify_link(signature, encoded, query.removeprefix("h="), key)[0] == (
                    upstream_url
                )


async def test_media_thumbnail_loads_through_the_proxy(
    upstream: Upstream, make_client: MakeClient
) -> None:
    png = (DATA / "images" / "red.png").read_bytes()
    image = upstream.route("/thumb.png", png, content_type="image/png")
    feed = (
        '<?xml version="1.0"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">'
        "<channel><title>t</title><link>https://blog.test/</link><description>d</description>"
        "<item><title>one</title><link>https://blog.test/1</link><guid>1</guid>"
        f'<media:thumbnail url="{image}" width="72" height="72"/></item></channel></rss>'
    ).encode()
    url = upstream.route("/thumbs.xml", feed)
    client = await make_client()
    _, body = await get_feed(client, url)
    thumbnail = read_feed(body).entries[0].media_thumbnail[0]
    assert thumbnail["width"] == "72"
    response = await client.get(thumbnail["url"].removeprefix("http://proxy.test"))
    assert response.status == 200 and await response.read() == png

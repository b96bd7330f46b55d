"""The image proxy's parts: Referer policies, signed hints, sniffing, the image cache and the
streaming fetch, each on its own (the whole proxy is exercised in test_images.py)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from proxy import fetch
from proxy.config import Settings, load
from proxy.errors import BadSignature, BodyTooLarge, ConfigError, NotAnImage, UpstreamStatus
from proxy.images.imagetype import image_type, is_svg, media_type
from proxy.images.proxy import ImageProxy
from proxy.images.referer import Attempt, Hint, attempts, known_referer, origin_of
from proxy.images.signing import SigningKeys, image_path, sign, verify, verify_link
from proxy.store import DiskStore, ImageCache, ImageRecord, StoredFeed
from tests.helpers import DATA
from tests.upstream import Upstream

KEY = b"k" * 32
PNG = (DATA / "images" / "red.png").read_bytes()


# --- referer --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://wx1.sinaimg.cn/large/x.jpg", "https://weibo.com/"),
        ("https://tvax3.sinaimg.cn/x.jpg", "https://weibo.com/"),
        ("https://mmbiz.qpic.cn/mmbiz_jpg/x/640", "https://mp.weixin.qq.com/"),
        ("https://i.pximg.net/img-original/x.png", "https://www.pixiv.net/"),
        ("https://scontent-ams.cdninstagram.com/v/x.jpg", "https://www.instagram.com/"),
        ("https://sinaimg.cn.evil.example/x.jpg", None),
        ("https://evilsinaimg.cn/x.jpg", None),
        ("https://example.org/x.jpg", None),
    ],
)
def test_known_hosts(url: str, expected: str | None) -> None:
    assert known_referer(url) == expected


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Blog.Example/post/1?x#y", "https://blog.example"),
        ("http://a.test:8080/x", "http://a.test:8080"),
        ("http://[::1]:81/x", "http://[::1]:81"),
        ("mailto:a@b.test", ""),
        ("/relative", ""),
        ("http://[::1/x", ""),
        (None, ""),
    ],
)
def test_origin_of(url: str | None, origin: str) -> None:
    assert origin_of(url) == origin


def test_hint_round_trip_and_tolerance() -> None:
    for hint in (
        Hint(),
        Hint(origin=BLOG),
        Hint(policy="image"),
        Hint(media=True),
        Hint(policy="https://www.pixiv.net/", origin=BLOG, media=True),
    ):
        assert Hint.decode(hint.encode()) == hint
    assert Hint().encode() == ""  # nothing to say: an old-style link
    assert Hint.decode("bogus\njavascript:alert(1)") == Hint()
    assert Hint.decode("origin\nhttps://a.test/with/path\n\nfuture-field") == Hint(
        policy="origin", origin="https://a.test"
    )


BLOG = "https://blog.example"
IMG = "https://img.example/a.png"


@pytest.mark.parametrize(
    ("hint", "learned", "default", "url", "expected"),
    [
        (Hint(), None, "none", IMG, [("none", None), ("image", "https://img.example/")]),
        (
            Hint(origin=BLOG),
            None,
            "none",
            IMG,
            [("none", None), ("origin", BLOG + "/"), ("image", "https://img.example/")],
        ),
        (
            Hint(origin=BLOG),
            "image",
            "none",
            IMG,
            [("image", "https://img.example/"), ("none", None), ("origin", BLOG + "/")],
        ),
        (
            Hint(origin=BLOG, policy="origin"),
            None,
            "none",
            IMG,
            [("origin", BLOG + "/"), ("none", None), ("image", "https://img.example/")],
        ),
        (
            Hint(),
            None,
            "none",
            "https://wx1.sinaimg.cn/x.jpg",
            [
                ("https://weibo.com/", "https://weibo.com/"),
                ("none", None),
                ("image", "https://wx1.sinaimg.cn/"),
            ],
        ),
        (
            Hint(),
            None,
            "https://ref.example/",
            IMG,
            [
                ("https://ref.example/", "https://ref.example/"),
                ("none", None),
                ("image", "https://img.example/"),
            ],
        ),
        # The item's origin is the image's: one attempt, not two, for the same header.
        (
            Hint(origin="https://img.example"),
            None,
            "origin",
            IMG,
            [("origin", "https://img.example/"), ("none", None)],
        ),
        # A learned "origin" cannot apply to an item without a link: skipped.
        (Hint(), "origin", "none", IMG, [("none", None), ("image", "https://img.example/")]),
    ],
    ids=[
        "default",
        "with-origin",
        "learned-first",
        "feed-policy-first",
        "table",
        "default-url",
        "same-header-once",
        "origin-without-link",
    ],
)
def test_attempt_order(
    hint: Hint, learned: str | None, default: str, url: str, expected: list[tuple[str, str | None]]
) -> None:
    plan = attempts(url, hint, learned=learned, default=default)
    assert plan == [Attempt(policy, value) for policy, value in expected]


def test_a_non_ascii_fixed_referer_is_skipped() -> None:
    plan = attempts(IMG, Hint(policy="https://例子.test/"), learned=None, default="none")
    assert [a.policy for a in plan] == ["none", "image"]


# --- signing --------------------------------------------------------------------------------


def test_hinted_links_sign_url_and_hint_together() -> None:
    url = "https://a.test/图片.jpg?x=1"
    hint = Hint(origin=BLOG).encode()
    path = image_path(url, KEY, hint)
    route, _, query = path.partition("?")
    _, _, signature, encoded = route.split("/")
    assert query.startswith("h=")
    encoded_hint = query.removeprefix("h=")
    assert verify_link(signature, encoded, encoded_hint, KEY) == (url, hint)
    assert signature != sign(url, KEY)  # not valid as an old-style link
    with pytest.raises(BadSignature):
        verify(signature, encoded, KEY)
    with pytest.raises(BadSignature):
        verify_link(signature, encoded, "!!!", KEY)
    with pytest.raises(BadSignature):
        verify_link(signature, encoded, encoded_hint, b"another key")


def test_old_style_links_verify_unchanged() -> None:
    url = "https://a.test/x.jpg"
    _, _, signature, encoded = image_path(url, KEY).split("/")
    assert verify(signature, encoded, KEY) == url
    assert verify_link(signature, encoded, None, KEY) == (url, "")
    assert verify_link(signature, encoded, "", KEY) == (url, "")


# --- sniffing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "head", "expected"),
    [
        ("", b"ID3\x04\x00", "audio/mpeg"),
        ("", b"\xff\xfb\x90\x00", "audio/mpeg"),
        ("", b"\xff\xf1\x50\x80", "audio/aac"),
        ("", b"OggS\x00\x02", "audio/ogg"),
        ("video/ogg", b"OggS\x00\x02", "video/ogg"),
        ("", b"fLaC\x00", "audio/flac"),
        ("", b"RIFF\x00\x00\x00\x00WAVEfmt ", "audio/wav"),
        ("", b"\x00\x00\x00\x20ftypM4A \x00", "audio/mp4"),
        ("audio/mp4", b"\x00\x00\x00\x20ftypisom\x00", "audio/mp4"),
        ("", b"\x00\x00\x00\x20ftypisom\x00", "video/mp4"),
        ("", b"\x00\x00\x00\x14ftypqt  \x00", "video/quicktime"),
        ("", b"\x1a\x45\xdf\xa3\x9f\x42\x82\x84webm", "video/webm"),
        ("", PNG, "image/png"),  # images pass media links too (a podcast's cover art)
    ],
)
def test_media_types(declared: str, head: bytes, expected: str) -> None:
    assert media_type(declared, head) == expected


def test_image_links_never_pass_audio() -> None:
    with pytest.raises(NotAnImage):
        image_type("audio/mpeg", b"ID3\x04\x00")
    with pytest.raises(NotAnImage):
        media_type("text/html", b"<!doctype html>")


@pytest.mark.parametrize(
    ("declared", "head", "svg"),
    [
        ("image/svg+xml", b"", True),
        ("", b"\xef\xbb\xbf  <svg xmlns='x'>", True),
        ("image/png", b"<?xml version='1.0'?><svg/>", True),
        ("text/html", b"<!doctype html>", False),
        ("image/png", PNG, False),
    ],
)
def test_is_svg(declared: str, head: bytes, svg: bool) -> None:
    assert is_svg(declared, head) is svg


# --- the image cache ------------------------------------------------------------------------


def test_images_stream_in_and_out_of_the_cache(tmp_path: Path) -> None:
    cache = ImageCache(str(tmp_path))
    body = PNG + bytes(100_000)
    record = ImageRecord("image/png", '"e"', 1_687_132_200.0)
    cache.put_image_file("https://a.test/i.png", record, io.BytesIO(body))
    cache.close()
    cache = ImageCache(str(tmp_path))
    opened = cache.open_image("https://a.test/i.png")
    assert opened is not None
    try:
        assert opened.record == record and opened.size == len(body)
        opened.file.seek(opened.offset + 10)
        assert opened.file.read(5) == body[10:15]
    finally:
        opened.close()
    # The whole-body reader of older callers sees the same image.
    stored = cache.get_image("https://a.test/i.png")
    assert stored is not None and stored.body == body and stored.etag == '"e"'
    assert cache.open_image("https://a.test/other.png") is None
    cache.close()


async def test_filling_the_image_cache_never_evicts_a_feed(tmp_path: Path) -> None:
    store = DiskStore(str(tmp_path))
    cache = store.images
    limit = 1024 * 1024
    cache.limit_images(limit)
    feed = StoredFeed(
        url="https://a.test/feed",
        final_url="https://a.test/feed",
        body=b"<rss/>" * 1000,
        content_type="application/rss+xml",
        kind="rss",
        etag=None,
        last_modified=None,
        fetched_at=1.0,
        checked_at=1.0,
    )
    await store.put_feed(feed)
    image = PNG + bytes(64 * 1024)
    for number in range(64):  # 4 MB of images into a 1 MB image cache
        cache.put_image_file(
            f"https://img.test/{number}.png",
            ImageRecord("image/png", f'"{number}"'),
            io.BytesIO(image),
        )
    assert await store.get_feed("https://a.test/feed") == feed
    assert cache.image_volume() <= limit + 2 * len(image)  # diskcache culls per write
    # Least recently used went first; the newest images are still there.
    assert cache.open_image("https://img.test/0.png") is None
    newest = cache.open_image("https://img.test/63.png")
    assert newest is not None
    newest.close()
    await store.close()


async def test_learned_referers_persist(tmp_path: Path) -> None:
    cache = DiskStore(str(tmp_path))
    await cache.put_referer("img.test:8080", "origin", expire=60)
    await cache.close()
    cache = DiskStore(str(tmp_path))
    assert await cache.get_referer("img.test:8080") == "origin"
    assert await cache.get_referer("other.test") is None
    await cache.close()


# --- settings -------------------------------------------------------------------------------


def test_new_settings_from_the_environment() -> None:
    settings = load(
        environ={
            "FEEDSCRUB_PROXY_MEDIA": "true",
            "FEEDSCRUB_IMAGE_CACHE_BYTES": "5000000",
            "FEEDSCRUB_IMAGE_REFERER": "origin",
            "FEEDSCRUB_MAX_MEDIA_BYTES": "1000",
        }
    )
    assert settings.proxy_media is True
    assert settings.image_cache_bytes == 5_000_000
    assert settings.image_referer == "origin"
    assert settings.max_media_bytes == 1000
    defaults = Settings()
    assert (defaults.proxy_media, defaults.image_cache_bytes, defaults.image_referer) == (
        False,
        1024 * 1024 * 1024,
        "none",
    )


@pytest.mark.parametrize(
    "changes",
    [{"image_referer": "sometimes"}, {"image_cache_bytes": 0}, {"max_media_bytes": -1}],
)
def test_bad_image_settings_stop_startup(make_settings: Any, changes: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="FEEDSCRUB_"):
        make_settings(**changes)


# --- the streaming fetch --------------------------------------------------------------------


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[Any]:
    client = fetch.new_session(settings)
    yield client
    await client.close()


async def test_open_stream_reads_in_pieces_and_follows_redirects(
    upstream: Upstream, settings: Settings, session: Any
) -> None:
    target = upstream.route("/img.png", PNG + bytes(200_000), content_type="image/png")

    async def moved(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(target)

    start = upstream.route("/moved", handler=moved)
    async with fetch.open_stream(session, start, limits=fetch.Limits.of(settings)) as stream:
        assert stream.url == target and stream.status == 200
        assert stream.content_length == len(PNG) + 200_000
        first = await stream.read(16)
        assert first == PNG[:16]
        total = len(first)
        while chunk := await stream.read():
            assert len(chunk) <= 64 * 1024
            total += len(chunk)
    assert total == len(PNG) + 200_000


async def test_open_stream_limits(upstream: Upstream, settings: Settings, session: Any) -> None:
    announced = upstream.route("/announced.png", bytes(5000), content_type="image/png")
    with pytest.raises(BodyTooLarge, match="announces 5000 bytes"):
        async with fetch.open_stream(
            session, announced, limits=fetch.Limits.of(settings).replace(max_bytes=4000)
        ):
            pass

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        await response.prepare(request)
        for _ in range(10):
            await response.write(bytes(1000))
        return response

    unannounced = upstream.route("/chunked.png", handler=chunked)
    with pytest.raises(BodyTooLarge, match="exceeds 4000 bytes"):
        async with fetch.open_stream(
            session, unannounced, limits=fetch.Limits.of(settings).replace(max_bytes=4000)
        ) as s:
            while await s.read(1000):
                pass
    refused = upstream.route("/403.png", b"no", status=403, content_type="text/plain")
    with pytest.raises(UpstreamStatus) as info:
        async with fetch.open_stream(session, refused, limits=fetch.Limits.of(settings)):
            pass
    assert info.value.upstream_status == 403


# --- the proxy with a host table ------------------------------------------------------------


async def test_built_in_table_gives_the_first_referer(
    upstream: Upstream, settings: Settings, session: Any
) -> None:
    async def weibo_only(request: web.Request) -> web.Response:
        if request.headers.get("Referer") != "https://weibo.com/":
            return web.Response(status=403)
        return web.Response(body=PNG, content_type="image/png")

    url = upstream.route("/w.jpg", handler=weibo_only)
    cache = DiskStore(settings.cache_dir)
    proxy = ImageProxy(
        settings,
        session,
        cache,
        SigningKeys(KEY),
        referer_table={"127.0.0.1": "https://weibo.com/"},
    )
    try:
        route, _, query = image_path(url, KEY).partition("?")
        _, _, signature, encoded = route.split("/")
        source = await proxy.open(signature, encoded)
        try:
            body = b"".join([chunk async for chunk in source.chunks()])
        finally:
            source.close()
        assert body == PNG and source.meta.content_type == "image/png"
        assert [r.headers.get("Referer") for r in upstream.requests] == ["https://weibo.com/"]
        await proxy.idle()
    finally:
        await proxy.aclose()
        await cache.close()

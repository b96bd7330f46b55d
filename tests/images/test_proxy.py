"""The image proxy on its own: the image cache, its settings, a host table (the whole proxy
through HTTP is tests/server/test_images.py)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from proxy import fetch
from proxy.config import Settings, load
from proxy.errors import ConfigError
from proxy.images.proxy import ImageProxy
from proxy.images.signing import SigningKeys, image_path
from proxy.store import DiskStore, ImageCache, ImageRecord, StoredFeed
from tests.helpers import DATA
from tests.upstream import Upstream

KEY = b"k" * 32
PNG = (DATA / "images" / "red.png").read_bytes()


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


@pytest.fixture
async def session(settings: Settings) -> AsyncIterator[Any]:
    client = fetch.new_session(settings)
    yield client
    await client.close()

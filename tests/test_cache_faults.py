"""Cache faults: a corrupted cache is set aside, a failing disk makes feedscrub slower (uncached)
but not unavailable, /readyz says so, and it recovers when the disk does."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpClient

from proxy.server import CACHE, create_app
from proxy.store import DiskStore
from tests.helpers import read_feed, seed_feed
from tests.upstream import Upstream


async def test_corrupted_cache_is_moved_aside_at_start(
    aiohttp_client: AiohttpClient, make_settings: Any, upstream: Upstream, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings()
    feeds_dir = Path(settings.cache_dir) / "feeds"
    feeds_dir.mkdir(parents=True)
    (feeds_dir / "cache.db").write_bytes(b"this is not a database" * 200)
    with caplog.at_level(logging.WARNING):
        client = await aiohttp_client(create_app(settings))
    assert "starting empty" in caplog.text
    assert list(Path(settings.cache_dir).glob("feeds.broken-*"))
    assert (await client.get("/readyz")).status == 200
    url = upstream.route("/rfi.xml", seed_feed())
    response = await client.get("/feed", params={"url": url})
    assert response.status == 200


class _FailingDisk:
    """Stands in for diskcache while the disk is failing (no real full disk can be made here
    without root mounts): every call raises the OSError a full disk gives."""

    def get(self, *args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    set = get

    def close(self) -> None:
        pass


async def test_failing_disk_keeps_serving_and_recovers(
    aiohttp_client: AiohttpClient, make_settings: Any, upstream: Upstream,
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await aiohttp_client(create_app(make_settings()))
    cache = client.server.app[CACHE]
    assert isinstance(cache, DiskStore)
    working = cache._feeds  # noqa: SLF001
    cache._feeds = _FailingDisk()  # noqa: SLF001
    with caplog.at_level(logging.WARNING):
        for fmt in ("atom", "rss"):
            response = await client.get("/feed", params={"url": url, "format": fmt})
            assert response.status == 200
            read_feed(await response.read())
        ready = await client.get("/readyz")
    assert ready.status == 503
    assert "No space left" in await ready.text()
    assert "cache: write" in caplog.text
    # Nothing could be stored: the second format needed the upstream again.
    assert upstream.hits["/rfi.xml"] == 2
    cache._feeds = working  # noqa: SLF001
    assert (await client.get("/readyz")).status == 200

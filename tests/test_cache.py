"""The store on diskcache: bytes in, bytes out; no pickles; survives reopening; owner-only."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from proxy.images.signing import load_or_create_secret
from proxy.store import DiskStore, StoredFeed, StoredImage, StoredOutput


def stored(body: bytes = b"<rss/>") -> StoredFeed:
    return StoredFeed(
        url="https://a.test/f", final_url="https://a.test/f2", body=body, content_type="text/xml",
        kind="rss", etag='"e"', last_modified=None, fetched_at=1.0, checked_at=2.0,
    )


async def test_round_trips_and_reopen(tmp_path: Path) -> None:
    cache = DiskStore(str(tmp_path / "c"))
    await cache.put_feed(stored())
    await cache.put_output("k", StoredOutput(b"out", '"x"', 3.0))
    cache.images.put_image("https://a.test/i.png", StoredImage(b"png", "image/png", '"i"'))
    await cache.close()
    again = DiskStore(str(tmp_path / "c"))
    assert await again.get_feed("https://a.test/f") == stored()
    assert await again.get_output("k") == StoredOutput(b"out", '"x"', 3.0)
    assert again.images.get_image("https://a.test/i.png") == StoredImage(
        b"png", "image/png", '"i"'
    )
    assert await again.get_feed("https://a.test/other") is None
    await again.close()


async def test_directory_is_owner_only(tmp_path: Path) -> None:
    await DiskStore(str(tmp_path / "c")).close()
    assert (tmp_path / "c").stat().st_mode & 0o777 == 0o700


async def test_no_pickled_rows(tmp_path: Path) -> None:
    cache = DiskStore(str(tmp_path / "c"))
    await cache.put_feed(stored(b"x" * 100_000))  # large enough to live in a file
    await cache.put_output("k", StoredOutput(b"out", '"x"', 3.0))
    await cache.close()
    # diskcache modes: 1 raw, 2 binary, 3 text, 4 pickle. Only bytes are ever stored.
    with sqlite3.connect(tmp_path / "c" / "feeds" / "cache.db") as db:
        modes = {row[0] for row in db.execute("select mode from Cache")}
    assert modes <= {1, 2}


async def test_garbage_rows_read_as_missing(tmp_path: Path) -> None:
    cache = DiskStore(str(tmp_path / "c"))
    cache._feeds.set("feed:https://a.test/f", b"\x00\x00\x00\x05nope!rest")
    assert await cache.get_feed("https://a.test/f") is None
    await cache.close()


def test_secret_generated_once_and_kept(tmp_path: Path) -> None:
    first = load_or_create_secret("", str(tmp_path / "c"))
    assert load_or_create_secret("", str(tmp_path / "c")) == first
    assert (tmp_path / "c" / "secret").stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret("configured", str(tmp_path / "c")) == b"configured"

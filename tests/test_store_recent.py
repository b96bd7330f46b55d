"""The embedded store's copy of recent feed bodies (proxy/store/recent.py) reads as the disk
does, and diskcache's files lie one directory level deep (store/disk.py's _Files)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from proxy.store import StoredFeed, StoredOutput, records
from proxy.store.disk import DiskStore
from proxy.store.recent import RecentFeeds

FEED = StoredFeed(
    url="https://a.test/f", final_url="https://a.test/f2", body=b"<rss/>" * 10000,
    content_type="text/xml", kind="rss", etag='"e"', last_modified=None,
    fetched_at=1.0, checked_at=2.0, digest="d",
)


class _NoDisk:
    """diskcache that must not be read: every call fails the test."""

    def get(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("read from disk")

    def close(self) -> None:
        pass


@pytest.fixture
async def disk(tmp_path: Path) -> AsyncIterator[DiskStore]:
    store = DiskStore(str(tmp_path / "cache"))
    yield store
    await store.close()


async def _from_disk(store: DiskStore, url: str) -> StoredFeed | None:
    """What a read of the disk gives (another DiskStore over the same directory)."""
    other = DiskStore(str(store.directory))
    try:
        return await other.get_feed(url)
    finally:
        await other.close()


async def test_a_written_body_is_read_from_memory_not_disk(disk: DiskStore) -> None:
    await disk.put_feed(FEED)
    working = disk._feeds  # noqa: SLF001
    disk._feeds = _NoDisk()  # noqa: SLF001
    try:
        got = await disk.get_feed(FEED.url)
    finally:
        disk._feeds = working  # noqa: SLF001
    assert got is FEED  # the very bytes written: the splicer knows them by identity
    assert await _from_disk(disk, FEED.url) == FEED


async def test_the_copy_reads_as_the_disk_through_writes_and_checks(disk: DiskStore) -> None:
    """A differential: after each step, the copy in memory and a read of the disk agree."""
    later = dataclasses.replace(FEED, checked_at=9.0, etag='"f"', last_modified="Tue")
    newer = dataclasses.replace(FEED, body=b"<rss>new</rss>", fetched_at=5.0, checked_at=5.0)
    steps: list[tuple[str, StoredFeed]] = [
        ("put", FEED),
        ("check", later),
        ("check", dataclasses.replace(FEED, checked_at=1.5)),  # older than the body's own
        ("check", later),
        ("check", dataclasses.replace(later, checked_at=3.0)),  # older than the last check
        ("put", newer),
        ("check", later),  # about the body before: does not apply to the new one
        ("check", dataclasses.replace(newer, checked_at=7.0, etag=None, last_modified="Wed")),
        ("check", dataclasses.replace(FEED, url="https://a.test/none")),  # no body under it
    ]
    for step, stored in steps:
        if step == "put":
            await disk.put_feed(stored)
        else:
            await disk.confirm_feed(stored)
        for url in (FEED.url, "https://a.test/none"):
            assert await disk.get_feed(url) == await _from_disk(disk, url), (step, stored)
    assert await disk.get_feed(FEED.url) == dataclasses.replace(
        newer, checked_at=7.0, etag=None, last_modified="Wed"
    )


class _FailingWrites:
    """diskcache whose writes fail (a full disk) and whose reads work."""

    def __init__(self, working: Any) -> None:
        self.working = working
        self.disk_min_file_size = working.disk_min_file_size

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self.working.get(*args, **kwargs)

    def set(self, *args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    def close(self) -> None:
        pass


async def test_a_failed_write_leaves_the_disk_to_answer(disk: DiskStore) -> None:
    await disk.put_feed(FEED)
    working = disk._feeds  # noqa: SLF001
    disk._feeds = _FailingWrites(working)  # noqa: SLF001
    try:
        newer = dataclasses.replace(FEED, body=b"<rss>new</rss>", fetched_at=5.0)
        await disk.put_feed(newer)  # not written: the copy must not claim it was
        assert await disk.get_feed(FEED.url) == FEED
        await disk.confirm_feed(dataclasses.replace(FEED, checked_at=9.0))
        assert await disk.get_feed(FEED.url) == FEED
    finally:
        disk._feeds = working  # noqa: SLF001


def test_the_copy_is_bounded() -> None:
    now = [0.0]
    recent = RecentFeeds(lambda: now[0], (2, 4000))
    small = [dataclasses.replace(FEED, url=f"https://a.test/{i}", body=b"x" * 900) for i in range(3)]
    for feed in small:
        recent.written(feed)
    assert recent.get(small[0].url) is None  # past 2 entries, the oldest went
    assert recent.get(small[2].url) is small[2]
    recent.written(dataclasses.replace(FEED, body=b"x" * 1001))  # over a quarter: not kept
    assert recent.get(FEED.url) is None
    now[0] += 7 * 3600  # past the age bound
    assert recent.get(small[2].url) is None


async def test_files_lie_one_level_deep_and_older_ones_still_go(disk: DiskStore) -> None:
    feeds = Path(str(disk.directory)) / "feeds"
    await disk.put_output("k", StoredOutput(b"o" * 100_000, '"x"', 3.0))
    files = [p.relative_to(feeds) for p in feeds.rglob("*.val")]
    assert len(files) == 1 and len(files[0].parts) == 2
    # A file written in diskcache's own layout (two levels) before: removed with its
    # directories when its record is replaced.
    cache = disk._feeds  # noqa: SLF001
    old_dir = feeds / "ab" / "cd"
    old_dir.mkdir(parents=True)
    (old_dir / "old.val").write_bytes(records.encode_output(StoredOutput(b"old", '"o"', 1.0)))
    with cache.transact():
        cache._sql(  # noqa: SLF001
            "UPDATE Cache SET filename = ? WHERE key = ?", (os.path.join("ab", "cd", "old.val"), "out:k")
        )
    assert (await disk.get_output("k")) == StoredOutput(b"old", '"o"', 1.0)
    await disk.put_output("k", StoredOutput(b"n" * 100_000, '"y"', 4.0))
    assert not (feeds / "ab" / "cd").exists()
    assert (await disk.get_output("k")) == StoredOutput(b"n" * 100_000, '"y"', 4.0)


class _CountingDisk:
    """diskcache that counts writes and must not be read."""

    def __init__(self, working: Any) -> None:
        self.working = working
        self.writes: list[str] = []

    def get(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("read from disk")

    def set(self, key: str, *args: Any, **kwargs: Any) -> Any:
        self.writes.append(key)
        return self.working.set(key, *args, **kwargs)


async def test_learnt_memory_is_read_from_memory_and_the_same_bytes_not_written_again(
    disk: DiskStore,
) -> None:
    learnt = {"summary": {"auto.boilerplate": {"v": 1, "items": {"k": [1.0, ["a"]]}}}}
    await disk.put_memory("feed", learnt)
    counting = _CountingDisk(disk._feeds)  # noqa: SLF001
    working, disk._feeds = disk._feeds, counting  # noqa: SLF001
    try:
        assert await disk.get_memory("feed") == learnt
        await disk.put_memory("feed", learnt)  # the same record again: not written
        assert counting.writes == []
        changed = {"summary": {"auto.boilerplate": {"v": 1, "items": {"j": [2.0, ["b"]]}}}}
        await disk.put_memory("feed", changed)
        assert counting.writes == ["memory:feed"]
        assert await disk.get_memory("feed") == changed
    finally:
        disk._feeds = working  # noqa: SLF001
    other = DiskStore(str(disk.directory))
    try:
        assert await other.get_memory("feed") == changed  # what the disk holds
    finally:
        await other.close()


async def test_small_records_are_written_compressed_and_read_back_alike(disk: DiskStore) -> None:
    import io

    from proxy.pipeline.process import compress
    from proxy.store import packed

    body = (Path(__file__).parent / "data" / "golden" / "feedx-rfi.rss.xml").read_bytes() * 20
    feed = dataclasses.replace(FEED, body=body)
    out = StoredOutput(body, '"e"', 4.0, gzip_body=compress(body))
    await disk.put_feed(feed)
    await disk.put_output("k", out)
    cache = disk._feeds  # noqa: SLF001
    for key, plain in (("feed:" + FEED.url, records.encode_feed(feed)),
                       ("out:k", records.encode_output(out))):
        value = cache.get(key, read=True)  # small: a blob in sqlite; else a file
        if isinstance(value, bytes):
            written = value
        else:
            with value:
                written = value.read()
        assert len(written) < len(plain) // 4, key  # compressed
        # An older version finds a record it does not know: absent (it refetches), never
        # gzip bytes taken for a feed, nor an empty output.
        assert records.read_feed(io.BytesIO(written)) is None
        assert records.read_output(io.BytesIO(written)) is None
        assert packed.read_feed(io.BytesIO(written[:-9])) is None  # cut short: absent
        assert packed.read_output(io.BytesIO(written[:-9])) is None
        flipped = bytearray(written)
        flipped[-20] ^= 0x10  # inside the compressed bytes: the gzip checksum says so
        assert packed.read_feed(io.BytesIO(bytes(flipped))) is None
        assert packed.read_output(io.BytesIO(bytes(flipped))) is None
    assert await _from_disk(disk, FEED.url) == feed
    other = DiskStore(str(disk.directory))
    try:
        assert await other.get_output("k") == out
    finally:
        await other.close()
    # gzip bytes that are not the body's (their trailer says so) are kept as they are.
    odd = StoredOutput(b"out" * 20000, '"x"', 3.0, gzip_body=compress(b"other" * 20000))
    await disk.put_output("odd", odd)
    assert await disk.get_output("odd") == odd

"""Big records (issue 15.5): a 100 MB body or output goes to diskcache's file piece by piece
and comes back body by body, never joined or sliced into a second whole copy; the bytes on
disk are the same record format as before, so older records read back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from proxy.store import StoredFeed, StoredOutput, records
from proxy.store.disk import DiskStore, _Pieces

BODY = "<rss><channel><title>布林肯</title></channel></rss>".encode() * 20000  # ~1 MB
FEED = StoredFeed(
    url="https://a.test/big", final_url="https://a.test/big", body=BODY,
    content_type="text/xml", kind="rss", etag=None, last_modified='"lm"',
    fetched_at=1.0, checked_at=2.0,
)
OUTPUT = StoredOutput(BODY, '"etag"', 3.0, gzip_body=b"\x1f\x8b" + BODY[:5000])


@pytest.fixture
async def disk(tmp_path: Any) -> AsyncIterator[DiskStore]:
    store = DiskStore(str(tmp_path / "cache"))
    yield store
    await store.close()


def test_pieces_read_back_as_the_joined_record() -> None:
    pieces = [b"head", b"", b"x" * 10, b"tail"]
    for size in (1, 3, 4, 7, 100, -1):
        reader = _Pieces(pieces)
        got = b""
        while chunk := reader.read(size):
            assert size < 0 or len(chunk) <= size
            got += bytes(chunk)
        assert got == b"".join(pieces)


async def test_big_records_are_files_in_the_old_format_and_round_trip(disk: DiskStore) -> None:
    await disk.put_feed(FEED)
    await disk.put_output("k", OUTPUT)
    for key, old in (("feed:" + FEED.url, records.encode_feed(FEED)),
                     ("out:k", records.encode_output(OUTPUT))):
        value = disk._feeds.get(key, read=True)  # noqa: SLF001
        assert not isinstance(value, bytes)  # a file of its own, not a blob in sqlite
        with value:
            assert value.read() == old  # byte for byte what a joined record was
    assert await disk.get_feed(FEED.url) == FEED
    assert await disk.get_output("k") == OUTPUT


async def test_records_written_whole_still_read(disk: DiskStore) -> None:
    small = StoredOutput(b"out", '"x"', 3.0, gzip_body=b"gz")
    disk._feeds.set("out:small", records.encode_output(small))  # noqa: SLF001
    disk._feeds.set("out:big", records.encode_output(OUTPUT))  # noqa: SLF001
    disk._feeds.set("feed:" + FEED.url, records.encode_feed(FEED))  # noqa: SLF001
    assert await disk.get_output("small") == small
    assert await disk.get_output("big") == OUTPUT
    assert await disk.get_feed(FEED.url) == FEED


async def test_a_record_cut_short_or_not_ours_reads_as_absent(disk: DiskStore) -> None:
    whole = records.encode_output(OUTPUT)
    disk._feeds.set("out:cut", whole[: len(whole) // 2])  # noqa: SLF001
    disk._feeds.set("out:junk", b"\xff" * 40000)  # noqa: SLF001
    disk._feeds.set("feed:https://a.test/junk", b"{}")  # noqa: SLF001
    assert await disk.get_output("cut") is None
    assert await disk.get_output("junk") is None
    assert await disk.get_feed("https://a.test/junk") is None
    assert await disk.get_output("missing") is None

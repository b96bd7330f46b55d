"""The embedded store's compressed records: feed bodies and outputs under 1 MB are written
gzip-compressed (ISA-L level 1), so a refresh writes ~20-150 KB, not two ~400-700 KB files
(a new file's pages cost more than compressing them). No I/O of its own.

An output keeps its gzip bytes anyway (served to readers that accept gzip): its record holds
them alone, and its body is their decompression. A feed record's body is compressed here.
Records in the plain format (``records.py``: older ones, and bodies of 1 MB or more, written
piece by piece as issue 15.5 has them) read as before. An older version reading a packed
record finds a header it does not know and treats the record as absent (it refetches),
never a compressed body taken for the feed or an empty output. Only DiskStore writes them:
replicas on a shared server keep the plain format every version reads.
"""

from __future__ import annotations

import struct
from dataclasses import asdict
from typing import Any, BinaryIO

from isal import igzip, isal_zlib

from proxy.store import records
from proxy.store.records import StoredFeed, StoredOutput

# Bodies from this size on are written as before, in pieces (never joined into a copy).
PACK_BELOW = 1024 * 1024
LEVEL = 1
_TRAILER = struct.Struct("<II")  # a gzip member's CRC-32 and length, at its end
_PACKED = "packed"  # the header field of a packed feed (plain headers never hold it)


def feed(stored: StoredFeed) -> bytes | None:
    """The packed record of ``stored``, or None to write it plain (a big body)."""
    if len(stored.body) >= PACK_BELOW:
        return None
    header = asdict(stored)
    del header["body"]
    header[_PACKED] = "gzip"
    return records.pack(header, igzip.compress(stored.body, compresslevel=LEVEL, mtime=0))


def output(kept: StoredOutput) -> bytes | None:
    """The packed record of ``kept`` (its gzip bytes alone), or None to write it plain: a
    big body, or gzip bytes whose trailer does not name the body (its CRC-32 and length;
    ISA-L's CRC, ~13 µs for 700 KB), which then could not stand for it."""
    if len(kept.body) >= PACK_BELOW or len(kept.gzip_body) < 18:
        return None
    crc, size = _TRAILER.unpack(kept.gzip_body[-8:])
    if size != len(kept.body) or crc != isal_zlib.crc32(kept.body):
        return None
    header = {"etag": kept.etag, "created_at": kept.created_at, "unpacked": len(kept.body)}
    return records.pack(header, kept.gzip_body)


def read_feed(file: BinaryIO) -> StoredFeed | None:
    """A feed record of either format."""

    def build(header: dict[str, Any], rest: BinaryIO) -> StoredFeed:
        body = rest.read()
        if header.pop(_PACKED, None) is not None:
            body = _gunzip(body)
        return StoredFeed(body=body, **header)

    return records.read(file, build)


def read_output(file: BinaryIO) -> StoredOutput | None:
    """An output record of either format."""
    header = records.read_header(file)
    if header is None:
        return None
    try:
        if "unpacked" not in header:
            file.seek(0)
            return records.read_output(file)
        gzip_body = file.read()
        body = _gunzip(gzip_body)
        if len(body) != header["unpacked"]:
            raise ValueError("not the output it names")
        return StoredOutput(
            body=body, etag=header["etag"], created_at=header["created_at"], gzip_body=gzip_body
        )
    except (KeyError, TypeError, ValueError):
        return None


def _gunzip(data: bytes) -> bytes:
    try:
        return isal_zlib.decompress(data, wbits=31)  # 31: a gzip member
    except Exception as exc:  # cut short, not gzip (isal's IsalError, untyped): no record
        raise ValueError(str(exc)) from None

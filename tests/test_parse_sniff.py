"""xmlfeed.as_utf8_converts against feedparser's convert_to_utf8, which it stands in for on
bodies feedparser reads as UTF-8: the same bytes, encoding and bozo exception, or None."""

from __future__ import annotations

from typing import Any

import feedparser.encodings
from hypothesis import given, settings
from hypothesis import strategies as st

from proxy import xmlfeed
from tests.helpers import DATA

# The response headers feeds come with, and the odd ones (the rules differ per family).
HEADERS: tuple[dict[str, str], ...] = (
    {},
    {"content-type": "application/rss+xml"},
    {"content-type": "application/atom+xml; charset=utf-8"},
    {"content-type": "application/xml; charset=UTF8"},
    {"content-type": "application/xml; charset=iso-8859-1"},
    {"content-type": "text/xml"},
    {"content-type": "text/xml; charset=utf-8"},
    {"content-type": "text/html; charset=utf-8"},
    {"content-type": "text/plain"},
    {"content-type": "application/octet-stream"},
    {"content-type": "application/json; charset=gb2312"},
    {"x-other": "1"},
)


def _equal(headers: dict[str, str], body: bytes) -> bool:
    """Whether the stand-in answered (and then answered as feedparser does)."""
    fast: dict[str, Any] = {}
    data = xmlfeed.as_utf8_converts(dict(headers), body, fast)
    if data is None:
        assert fast == {}
        return False
    slow: dict[str, Any] = {}
    assert data == feedparser.encodings.convert_to_utf8(dict(headers), body, slow)
    problem, expected = fast.pop("bozo_exception", None), slow.pop("bozo_exception", None)
    assert fast == slow
    assert type(problem) is type(expected) and str(problem) == str(expected)
    return True


def test_every_test_file_converts_as_feedparser_converts_it() -> None:
    taken = 0
    files = [p for p in sorted(DATA.rglob("*")) if p.is_file() and p.stat().st_size < 4 << 20]
    for path in files:
        body = path.read_bytes()
        for headers in HEADERS:
            taken += _equal(headers, body)
    assert taken > len(files) * 3, taken  # (most bodies are UTF-8 under most headers)


_PIECES = st.sampled_from(
    [
        b"<?xml",
        b"<?xml version='1.0'?>",
        b'<?xml version="1.0" encoding="utf-8"?>',
        b'<?xml version="1.0" encoding="UTF8"?>',
        b'<?xml version="1.0" encoding="gb2312"?>',
        b"<?xml version='1.0' encoding='iso-8859-1' ?>",
        b'encoding="utf-8"?>',
        b"encoding='nope'?>",
        b"?>",
        b">",
        b"\n",
        b"\r\n",
        b"<rss>",
        b"\xef\xbb\xbf",
        b"\xff\xfe",
        b"\xfe\xff",
        b"\x00\x00\xfe\xff",
        b"\x00<\x00?",
        b"<\x00?\x00",
        b"Lo\xa2",  # (not UTF-8)
        "布林肯".encode(),
        "é".encode(),
        b"\xe5\xb8",  # (a cut sequence)
        b"\xed\xa0\x80",  # (a surrogate)
        b"text",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=10).map(b"".join), st.sampled_from(HEADERS))
def test_generated_bodies_convert_as_feedparser_converts_them(
    body: bytes, headers: dict[str, str]
) -> None:
    _equal(headers, body)  # (where feedparser raises, the stand-in declines)

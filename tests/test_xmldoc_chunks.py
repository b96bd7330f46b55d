"""xmldoc.as_utf8 decodes a body in pieces (issue 15.5: a whole-document decode held the GIL,
and the event loop, for ~60 ms per 16 MB): the bytes lxml parses are exactly those of the
one-shot decode it replaced, for every feed we keep, in every encoding, at any piece size."""

from __future__ import annotations

import pytest

from proxy import parse, xmldoc
from proxy.models import FetchResult
from tests.corpus import SHARED_CORPUS as REAL
from tests.helpers import DATA

FEEDS = sorted(p for p in DATA.rglob("*") if p.suffix in (".xml", ".rss", ".atom"))
FEEDS += sorted(REAL.glob("*.xml")) if REAL.is_dir() else []


def one_shot(body: bytes, encoding: str | None) -> bytes:
    """What xmldoc.load did before: the whole body decoded, stripped, encoded at once."""
    try:
        text = body.decode(encoding or "utf-8")
    except (LookupError, UnicodeDecodeError):
        text = body.decode("utf-8", errors="replace")
    return xmldoc._DECLARATION.sub("", text.lstrip("\ufeff"), count=1).encode("utf-8")


SAMPLES = [
    (b"", None),
    (b"<rss/>", None),
    ('\ufeff\ufeff  <?xml version="1.0"?>\n<rss>é</rss>'.encode(), "utf-8"),
    ('<?xml version="1.0" encoding="gb2312"?><rss>获取更多</rss>'.encode("gb2312"), "gb2312"),
    ('<?xml version="1.0"?><rss>布林肯 … 分享</rss>'.encode("gb18030"), "gb18030"),
    ('<?xml version="1.0"?><rss>Grüße</rss>'.encode("latin-1"), "iso-8859-1"),
    ('<?xml version="1.0"?><rss>Grüße</rss>'.encode("latin-1"), "utf-8"),  # invalid: replaced
    ('<?xml version="1.0"?><rss>日本語</rss>'.encode("shift_jis"), "shift_jis"),
    ('<?xml version="1.0"?><rss>x\u3000y</rss>'.encode("utf-16"), "utf-16"),
    ('\u3000 <?xml version="1.0"?><rss>a</rss>'.encode(), "utf-8"),  # Unicode space first
    ("<rss>" + "é" * 40 + "\udcff".encode("utf-8", "surrogatepass").decode("latin-1"), "utf-8"),
    (b"<rss>\xe5\xb8\x83\xe6\x9e</rss>", "utf-8"),  # a sequence cut short: replaced
    (b"<rss>\xe5\xb8", "utf-8"),  # cut short at the very end
    (b"<rss>x</rss>", "no-such-codec"),
    ('<?xml version="1.0"?>' + "<rss>" + "no closing bracket anywhere" * 3, "utf-8"),
    (b"  " * 40 + b'<?xml version="1.0"?><rss/>', "utf-8"),  # the declaration past a piece
]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, xmldoc.CHUNK])
@pytest.mark.parametrize(("body", "encoding"), SAMPLES, ids=range(len(SAMPLES)))
def test_pieces_give_the_one_shot_bytes(
    body: bytes | str, encoding: str | None, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = body if isinstance(body, bytes) else body.encode("latin-1")
    monkeypatch.setattr(xmldoc, "CHUNK", chunk)
    assert bytes(xmldoc.as_utf8(data, encoding)) == one_shot(data, encoding)


@pytest.mark.parametrize("chunk", [5, 4096])
def test_every_kept_feed_gives_the_one_shot_bytes(
    chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert len(FEEDS) > 40
    monkeypatch.setattr(xmldoc, "CHUNK", chunk)
    for path in FEEDS:
        body = path.read_bytes()
        encoding = parse.parse(FetchResult(url="", status=200, body=body, content_type="")).encoding
        for guess in {encoding, None, "utf-8", "windows-1252"}:
            got = xmldoc.as_utf8(body, guess)
            assert bytes(got) == one_shot(body, guess), (path.name, guess)


def test_valid_utf8_is_not_copied() -> None:
    body = "<rss><channel><title>布林肯</title></channel></rss>".encode() * 1000
    assert xmldoc.as_utf8(body, "UTF-8") is body
    declared = b'\xef\xbb\xbf<?xml version="1.0"?>' + body
    view = xmldoc.as_utf8(declared, "utf-8")
    assert isinstance(view, memoryview) and view.obj is declared and view == body


def test_a_view_loads_the_same_tree_as_its_bytes() -> None:
    from lxml import etree

    for path in FEEDS:
        body = path.read_bytes()
        data = xmldoc.as_utf8(body, "utf-8")
        if not isinstance(data, memoryview):
            continue
        try:
            whole = etree.tostring(etree.fromstring(bytes(data), xmldoc._STRICT))
        except etree.XMLSyntaxError:
            with pytest.raises(etree.XMLSyntaxError):
                etree.fromstring(data, xmldoc._STRICT)
            continue
        assert etree.tostring(etree.fromstring(data, xmldoc._STRICT)) == whole, path.name

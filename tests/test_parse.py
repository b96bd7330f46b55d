"""Bytes → Feed: charsets, families, raw item HTML, and what is not a feed."""

from __future__ import annotations

import pytest

from proxy.errors import NotAFeed
from proxy.models import FetchResult
from proxy.parse import parse
from tests.helpers import DATA, seed_feed


def result(body: bytes, content_type: str = "", url: str = "http://feeds.test/f") -> FetchResult:
    return FetchResult(url=url, status=200, body=body, content_type=content_type)


def test_seed_feed_keeps_raw_item_html() -> None:
    feed = parse(result(seed_feed(), "application/rss+xml"))
    assert feed.kind == "rss"
    entry = feed.entries[0]
    # feedparser's sanitiser is off: our cleaner sees the junk to remove it.
    assert entry.summary is not None and "<share-button" in entry.summary
    assert "获取更多RSS" in entry.summary
    assert entry.guid == "1687126501000"
    assert entry.guid_is_permalink is False
    assert entry.categories == ("中国",)
    assert feed.entries[1].enclosures[0].url == "https://s.rfi.fr/media/second.mp3"
    assert feed.image is not None and feed.image.url == "https://s.rfi.fr/logo.png"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (seed_feed(encoding="gbk"), "application/xml; charset=gbk"),
        (seed_feed(encoding="gbk"), ""),
        (seed_feed(encoding="gbk"), "text/xml"),
        (seed_feed(), "text/xml; charset=utf-8"),
    ],
    ids=["gbk-header", "gbk-declaration-only", "gbk-text-xml-no-charset", "utf8-text-xml"],
)
def test_charsets(body: bytes, content_type: str) -> None:
    feed = parse(result(body, content_type))
    assert feed.entries[0].title == "美中会谈同意再谈  重大议题无突破"


def test_big5_and_latin1() -> None:
    big5 = (
        '<?xml version="1.0" encoding="big5"?><rss version="2.0"><channel><title>中央社</title>'
        "<link>http://x/</link><description>d</description><item><title>臺灣新聞</title>"
        "<description>內容</description></item></channel></rss>"
    ).encode("big5")
    assert parse(result(big5)).entries[0].title == "臺灣新聞"
    latin = (
        '<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel><title>Notícias</title>'
        "<link>http://x/</link><description>d</description><item><title>Mãe</title></item>"
        "</channel></rss>"
    ).encode("iso-8859-1")
    assert parse(result(latin, "application/rss+xml; charset=ISO-8859-1")).title == "Notícias"


def test_whitespace_before_xml_declaration() -> None:
    body = b"\n  " + seed_feed()
    assert parse(result(body)).entries[0].title == "美中会谈同意再谈  重大议题无突破"


@pytest.mark.parametrize(
    ("body", "version"),
    [
        (
            b'<rss version="0.91"><channel><title>t</title><item><title>a</title></item></channel></rss>',
            "rss",
        ),
        (
            b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">'
            b'<channel rdf:about="x"><title>t</title></channel><item rdf:about="i"><title>a</title></item></rdf:RDF>',
            "rss",
        ),
        (
            b'<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>t</title><entry><title>a</title>'
            b"<id>x</id></entry></feed>",
            "atom",
        ),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><entry><title>a</title><id>x</id>'
            b'<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>hi</p></div></content>'
            b"</entry></feed>",
            "atom",
        ),
    ],
)
def test_feed_families(body: bytes, version: str) -> None:
    feed = parse(result(body))
    assert feed.kind == version
    assert feed.entries[0].title == "a"


def test_atom_corpus_feed() -> None:
    feed = parse(
        result((DATA / "feeds" / "atom-neverworkintheory-empty-divs-relative.xml").read_bytes())
    )
    assert feed.kind == "atom" and len(feed.entries) == 20
    assert all(e.content for e in feed.entries)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<!doctype html><html><body><p>Hello</p></body></html>", "HTML page"),
        (bytes(range(256)), "not RSS or Atom"),
        (b'{"version": "1", "entries": []}', "JSON"),
    ],
)
def test_not_a_feed(body: bytes, reason: str) -> None:
    with pytest.raises(NotAFeed) as caught:
        parse(result(body))
    assert "upstream did not return a feed" in caught.value.message
    assert reason in caught.value.message
    assert caught.value.status == 502

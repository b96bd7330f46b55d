"""The fast path (proxy/xmlfeed.py: the lxml tree replayed into feedparser's parser) against
feedparser.parse itself: for every feed in tests/data, hostile documents and generated
ones, the Feed is equal field by field, or the fast path declines. Which real feeds decline
is pinned, so the fast path cannot quietly stop being used."""

from __future__ import annotations

import copy
import logging
import random
from datetime import UTC, datetime

import pytest
from lxml import etree

from proxy import parse, xmldoc, xmlfeed
from proxy.bounded import BoundedMap
from proxy.errors import NotAFeed
from proxy.models import Feed, FetchResult
from proxy.output import build_output
from tests.corpus import SHARED_CORPUS
from tests.helpers import DATA

FILES = sorted(
    str(p.relative_to(DATA))
    for p in DATA.rglob("*")
    if p.suffix == ".xml" and p.is_file() and "golden" not in p.parts
)
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
# Real feeds the fast path leaves to feedparser, and why.
DECLINED = {
    # Not well-formed: lxml repairs them, feedparser reads them with its loose parser.
    "corpus/malformed-guardian-unescaped-ampersand.xml",
    "corpus/malformed-myanimelist-html-entities.xml",
    # An empty <item/> inside each item: feedparser counts 20 items, the tree 10.
    "corpus/feedburner-pcmag-unescaped-html-in-description.xml",
}


def _result(body: bytes, content_type: str = "") -> FetchResult:
    return FetchResult(url="https://up.test/feed", status=200, body=body, content_type=content_type)


def _both(
    body: bytes, content_type: str = "", monkeypatch: pytest.MonkeyPatch | None = None
) -> tuple[Feed | str, Feed | str, bool]:
    """(feedparser's Feed, the fast path's Feed, whether the fast path was taken); a
    NotAFeed is compared by its message."""
    used: list[bool] = []
    read = xmlfeed.read

    def spy(*args: object, **kwargs: object) -> object:
        found = read(*args, **kwargs)  # type: ignore[arg-type]
        used.append(found is not None)
        return found

    def run() -> Feed | str:
        try:
            return parse.parse(_result(body, content_type))
        except NotAFeed as exc:
            return f"NotAFeed: {exc}"

    assert monkeypatch is not None
    monkeypatch.setattr(xmlfeed, "ENABLED", False)
    slow = run()
    monkeypatch.setattr(xmlfeed, "ENABLED", True)
    monkeypatch.setattr(xmlfeed, "read", spy)
    fast = run()
    monkeypatch.setattr(xmlfeed, "read", read)
    return slow, fast, bool(used and used[0])


@pytest.mark.parametrize("name", FILES)
def test_data_feeds_equal_or_declined(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    slow, fast, used = _both((DATA / name).read_bytes(), monkeypatch=monkeypatch)
    assert fast == slow
    assert used == (name not in DECLINED), "the fast path's declines changed"


def test_real_corpus_is_in_tests_data() -> None:
    real = SHARED_CORPUS
    if not real.is_dir():
        pytest.skip("no shared corpus beside this clone (tests/data/corpus is its copy)")
    for path in real.glob("*.xml"):
        assert (DATA / "corpus" / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize(
    "content_type",
    ["", "application/rss+xml", "text/xml", "text/html", "text/xml; charset=iso-8859-1"],
)
@pytest.mark.parametrize(
    "name",
    [
        "corpus/gb2312-kc0011-chinese.xml",
        "corpus/iso8859-1-encoding-pixels.xml",
        "corpus/windows-1251-oren-ru.xml",
        "corpus/malformed-uol-latin1-undeclared.xml",
        "feeds/feedx-rfi-gbk.xml",
    ],
)
def test_charsets_by_content_type(
    name: str, content_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow, fast, _ = _both((DATA / name).read_bytes(), content_type, monkeypatch)
    assert fast == slow


def _rss(items: str, channel: str = "", ns: str = "", root: str = 'version="2.0"') -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss {root} {NAMESPACES}{ns}><channel>'
        f"<title>T</title><link>https://site.test/</link><description>D</description>"
        f"{channel}{items}</channel></rss>"
    ).encode()


def _atom(entries: str, feed: str = "", ns: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        f"{NAMESPACES}{ns}><title>T</title><id>urn:feed</id>"
        f'<link href="https://site.test/"/><updated>2024-01-01T00:00:00Z</updated>'
        f"{feed}{entries}</feed>"
    ).encode()


NAMESPACES = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd" '
    'xmlns:atom="http://www.w3.org/2005/Atom" '
)

HOSTILE: dict[str, bytes] = {
    "entities": _rss(
        "<item><title>Tom &amp; Jerry &lt;b&gt; &#233; &#x80;&#x9f; caf\u00c3\u00a9</title>"
        "<link>https://a.test/?x=1&amp;y=2&amp;z;</link><guid>g&amp;1</guid>"
        "<description>&lt;p&gt;hi&lt;/p&gt;</description></item>"
    ),
    "cdata": _rss(
        "<item><title><![CDATA[A <b>bold</b> title]]></title>"
        "<link><![CDATA[ https://a.test/1 ]]></link><guid><![CDATA[id-1]]></guid>"
        "<description><![CDATA[<p>x</p>]]></description>"
        "<content:encoded><![CDATA[<p>full</p>]]></content:encoded></item>"
    ),
    "odd-prefixes": _rss(
        '<item><title>t</title><m:content url="https://a.test/v.mp4" type="video/mp4"/>'
        "<DC:creator>Ann</DC:creator><d:date>2024-02-03T04:05:06Z</d:date>"
        '<i:image href="https://a.test/i.jpg"/><c:encoded>&lt;p&gt;c&lt;/p&gt;</c:encoded></item>',
        ns='xmlns:m="http://search.yahoo.com/mrss" xmlns:DC="http://purl.org/dc/elements/1.1/" '
        'xmlns:d="http://purl.org/dc/elements/1.1/" '
        'xmlns:i="http://www.itunes.com/DTDs/PodCast-1.0.dtd" '
        'xmlns:c="http://purl.org/rss/1.0/modules/content/"',
    ),
    "dc-prefix-wrong-uri": (
        b'<rss version="2.0" xmlns:dc="http://example.com/not-dc"><channel><title>T</title>'
        b"<item><title>t</title><dc:creator>Bob</dc:creator><dc:date>2024-01-01</dc:date>"
        b"</item></channel></rss>"
    ),
    "two-prefixes-one-uri-attributes": _rss(
        '<item><title>t</title><x:thing x:a="1" y:b="2"/></item>',
        ns='xmlns:x="http://x.test/" xmlns:y="http://x.test/"',
    ),
    "unknown-namespace-attributes": _rss(
        '<item><title>t</title><enclosure x:url="https://a.test/x.mp3" url="https://a.test/u.mp3"'
        ' x:type="a/b"/><media:content xml:lang="fr" x:medium="image" url="https://a.test/m"/>'
        "</item>",
        ns='xmlns:x="http://x.test/"',
    ),
    "userland-default-namespace": (
        b'<rss version="2.0" xmlns="http://backend.userland.com/rss2"><channel><title>T'
        b"</title><link>https://s.test/</link><item><title>t</title><link>https://s.test/1"
        b"</link><pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item></channel></rss>"
    ),
    "atom-prefixed": (
        b'<a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:title>T</a:title><a:id>f</a:id>'
        b'<a:entry><a:title type="html">&lt;b&gt;x&lt;/b&gt;</a:title><a:id>e1</a:id>'
        b'<a:link href="https://a.test/1"/><a:content type="html">&lt;p&gt;y&lt;/p&gt;'
        b"</a:content><a:updated>2024-01-01T00:00:00Z</a:updated></a:entry></a:feed>"
    ),
    "xml-base": (
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://base.test/dir/">'
        b'<title>T</title><id>feed</id><link href="home"/>'
        b'<entry xml:base="sub/"><title>a</title><id>rel-id</id><link href="page.html"/>'
        b'<content type="html" xml:base="https://other.test/c/">&lt;img src="i.png"&gt;'
        b"</content><author><name>N</name><uri>me</uri></author></entry>"
        b'<entry><title>b</title><id>b</id><link rel="enclosure" href="a.mp3" length="5"/>'
        b'<summary type="text">plain &lt; text</summary></entry></feed>'
    ),
    "rss-xml-base": _rss(
        '<item xml:base="https://b.test/x/"><title>t</title><link>rel</link>'
        '<guid>g</guid><comments>c</comments><enclosure url="e.mp3" length="1" type="Audio/MPEG"/>'
        "<description>d</description></item>"
    ),
    "duplicates": _rss(
        "<item><title></title><title>second</title><title>third</title>"
        "<link>https://a.test/1</link><link>https://a.test/2</link>"
        "<guid>g1</guid><guid>g2</guid>"
        "<pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate>"
        "<pubDate>Tue, 02 Jan 2024 00:00:00 GMT</pubDate>"
        "<description>one</description><description>two</description>"
        "<category>a</category><category>a</category><category domain='d'>a</category>"
        "<category domain='d'></category><category>b</category></item>"
    ),
    "empty-items": _rss("<item/><item>  </item><item><title>real</title></item><item></item>"),
    "nested-items": _rss(
        "<item><title>outer</title><item/><link>https://a.test/o</link></item>"
        "<item><title>2</title><item><title>inner</title></item></item>"
    ),
    "atom-content-types": _atom(
        '<entry><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">X <b>t</b>'
        "</div></title><id>1</id>"
        '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>a<br/>b</p>'
        "<div>inner</div></div></content></entry>"
        '<entry><title>2</title><id>2</id><content type="text">a &lt; b</content>'
        '<summary type="html">&lt;i&gt;s&lt;/i&gt;</summary></entry>'
        '<entry><title>3</title><id>3</id><content type="text/html">&lt;p&gt;h&lt;/p&gt;'
        "</content></entry>"
        '<entry><title>4</title><id>4</id><content src="https://a.test/c" type="text/html"/>'
        "</entry>"
        '<entry><title>5</title><id>5</id><content type="application/octet-stream">'
        "PHA+YmFzZTY0PC9wPg==</content></entry>"
        '<entry><title>6</title><id>6</id><content type="html" mode="base64">'
        "PHA+YmFzZTY0PC9wPg==</content></entry>"
        '<entry><title>7</title><id>7</id><content type="html">   </content>'
        "<summary>s</summary></entry>"
        '<entry><title>8</title><id>8</id><content type="application/xhtml+xml">&lt;p&gt;'
        "full type&lt;/p&gt;</content></entry>"
        '<entry><title>9</title><id>9</id><content type="html" src="https://a.test/s">text'
        "</content></entry>"
    ),
    "rss-description-and-content": _rss(
        "<item><title>1</title><description>short</description>"
        "<content:encoded>&lt;p&gt;long&lt;/p&gt;</content:encoded></item>"
        "<item><title>2</title><content:encoded>&lt;p&gt;long&lt;/p&gt;</content:encoded>"
        "<description>short</description></item>"
        "<item><title>3</title><content:encoded></content:encoded>"
        "<description>d</description><itunes:summary>is</itunes:summary></item>"
        "<item><title>4</title><description>d</description><itunes:summary>s</itunes:summary>"
        "</item>"
        "<item><title>5</title><description><p>unescaped <div>xhtml</div></p></description>"
        "<pubDate>Mon, 01 Jan 2024 00:00:00 GMT</pubDate></item>"
    ),
    "itunes": _rss(
        '<item><title>ep</title><enclosure url="https://a.test/e.mp3" length="123" '
        'type="audio/mpeg"/><itunes:author>Host Name</itunes:author>'
        '<itunes:image href="https://a.test/ep.jpg"/><itunes:duration>1:00</itunes:duration>'
        "<itunes:keywords>a, b</itunes:keywords><itunes:subtitle>sub</itunes:subtitle>"
        "<itunes:explicit>no</itunes:explicit></item>",
        channel="<itunes:author>Pod</itunes:author><itunes:owner><itunes:name>Owner"
        "</itunes:name><itunes:email>o@pod.test</itunes:email></itunes:owner>"
        '<itunes:image href="https://a.test/show.jpg"/><itunes:category text="Tech">'
        '<itunes:category text="Gadgets"/></itunes:category>'
        "<itunes:subtitle>show sub</itunes:subtitle><itunes:summary>show sum</itunes:summary>"
        "<image><url>https://a.test/rss.png</url><title>img</title><link>https://a.test/"
        "</link></image><managingEditor>ed@pod.test (Ed)</managingEditor>",
    ),
    "image-after-itunes-image": _rss(
        "<item><title>t</title></item>",
        channel="<image><url>https://a.test/first.png</url></image>"
        '<itunes:image href="https://a.test/then.jpg"/>',
    ),
    "media-group": _rss(
        "<item><title>t</title><media:group><media:title>mt</media:title>"
        "<media:description>md</media:description>"
        '<media:content url="https://a.test/1.mp4" type="video/mp4" medium="video" '
        'width="640" height="360" fileSize="99" duration="12"/>'
        '<media:content url="https://a.test/2.mp4"><media:thumbnail url="https://a.test/t.jpg"'
        ' width="1" height="2"/></media:content></media:group>'
        '<media:thumbnail url=" https://a.test/t2.jpg "/><media:thumbnail>https://a.test/t3'
        "</media:thumbnail></item>"
        "<item><media:title>only media title</media:title><link>https://a.test/2</link></item>"
    ),
    "youtube-atom": _atom(
        "<entry><id>yt:video:1</id><title>V</title>"
        '<link rel="alternate" href="https://www.youtube.com/watch?v=1"/>'
        "<author><name>Chan</name><uri>https://www.youtube.com/channel/x</uri></author>"
        "<published>2024-01-01T00:00:00+00:00</published>"
        '<media:group><media:title>V</media:title><media:content url="https://y.test/v/1" '
        'type="application/x-shockwave-flash" width="640" height="390"/>'
        '<media:thumbnail url="https://i.ytimg.test/1.jpg" width="480" height="360"/>'
        "<media:description>desc</media:description></media:group></entry>"
    ),
    "comments-pis-case": _rss(
        "<item><title>a<!-- c -->b<?pi x?>c</title><Title>upper</Title>"
        '<enclosure URL="https://a.test/u.mp3" Length="3"/><guid isPermaLink="TRUE">g</guid>'
        '<atom:link rel="alternate" href="https://a.test/alt"/>'
        '<atom:link rel="enclosure" href="https://a.test/enc.mp3" type="audio/mpeg"/>'
        "<comments>https://a.test/c</comments></item>"
        '<item><guid isPermaLink="true">https://a.test/g</guid><title>g</title></item>'
        '<item><link>https://a.test/l</link><guid isPermaLink="true">https://a.test/g2</guid>'
        '</item><item><guid isPermaLink="false">https://a.test/g3</guid></item>'
    ),
    "dates": _rss(
        "<item><title>1</title><pubDate>2020/1/10 14:33:00</pubDate></item>"
        "<item><title>2</title><pubDate>2020年1月10日 14:33</pubDate></item>"
        "<item><title>3</title><pubDate>not a date</pubDate><dc:date>2021-03-04</dc:date></item>"
        "<item><title>4</title><pubDate>Seg, 24 Set 2018 19:42:40 -0300</pubDate>"
        "<atom:updated>2024-05-06T07:08:09+02:00</atom:updated></item>"
        "<item><title>5</title><pubDate></pubDate></item>",
        channel="<lastBuildDate>Mon, 01 Jan 2024 00:00:00 GMT</lastBuildDate>"
        "<pubDate>Sun, 31 Dec 2023 00:00:00 GMT</pubDate>",
    ),
    "authors": _rss(
        "<item><title>1</title><author>jo@example.com (Jo Smith)</author>"
        "<dc:creator>Ann</dc:creator><dc:creator>Bob</dc:creator></item>"
        "<item><title>2</title><author>plain@example.com</author></item>"
        "<item><title>3</title><author></author><dc:creator> </dc:creator></item>",
        channel="<managingEditor>me@x.test (Me)</managingEditor><webMaster>w@x.test</webMaster>"
        "<dc:creator>Chan Author</dc:creator>",
    ),
    "atom-authors-categories": _atom(
        "<entry><title>1</title><id>1</id><author><name>A</name><email>a@x.test</email>"
        "</author><author><name>B</name></author><contributor><name>C</name></contributor>"
        '<category term="t1" label="L"/><category term="t1"/><category scheme="s" term="t2"/>'
        "<category>text-cat</category><dc:subject>subj</dc:subject></entry>",
        feed="<author><name>Feed Author</name><uri>https://a.test/</uri></author>"
        '<subtitle type="html">&lt;b&gt;sub&lt;/b&gt;</subtitle>'
        "<logo>https://a.test/logo.png</logo>",
    ),
    "atom-links": _atom(
        '<entry><id>urn:1</id><title>no alternate</title><link rel="related" href="https://r/"/>'
        "</entry>"
        '<entry><link href="https://a.test/before"/><id>https://a.test/id</id><title>t</title>'
        "</entry>"
        '<entry><id>https://a.test/id2</id><link href="https://a.test/after"/>'
        '<link rel="alternate" type="application/pdf" href="https://a.test/pdf"/>'
        '<link href="https://a.test/last"/></entry>'
        "<entry><id></id><title>empty id</title></entry>"
    ),
    "language": _rss(
        "<item><title>t</title><language>fr</language></item>",
        channel="<language>en_GB</language>",
        root='version="2.0" xml:lang="de"',
    ),
    "rss091-items-beside-channel": (
        b'<rss version="0.91"><channel><title>T</title><link>https://s.test/</link>'
        b"<description>D</description></channel><item><title>beside</title>"
        b"<link>https://s.test/b</link></item></rss>"
    ),
    "rdf": (
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b'<channel rdf:about="https://s.test/"><title>T</title><link>https://s.test/</link>'
        b"<description>D</description></channel>"
        b'<item rdf:about="https://s.test/1"><title>one</title><link>https://s.test/1</link>'
        b"<dc:date>2024-01-01T00:00:00Z</dc:date><dc:subject>s</dc:subject></item></rdf:RDF>"
    ),
    "doctype-entities": (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY who "World">]><rss version="2.0">'
        b"<channel><title>Hello &who;</title><item><title>&who;</title></item></channel></rss>"
    ),
    "malformed": _rss("<item><title>a & b &nbsp; c</title></item>"),
    "truncated": _rss("<item><title>a</title></item>")[:-40],
    "not-a-feed": b"<html><body>hello</body></html>",
    "unknown-root": b"<?xml version='1.0'?><opml><body/></opml>",
    "cp1252-bytes": (
        b'<?xml version="1.0" encoding="windows-1252"?><rss version="2.0"><channel>'
        b"<title>\x93quoted\x94 \x80</title><item><title>\x85 caf\xe9</title></item>"
        b"</channel></rss>"
    ),
    "latin1-undeclared": (
        b'<rss version="2.0"><channel><title>caf\xe9</title><item><title>\xe9t\xe9</title>'
        b"</item></channel></rss>"
    ),
    "utf16-bom": "\ufeff<?xml version='1.0' encoding='utf-16'?><rss version='2.0'><channel>"
    "<title>\u4e2d\u6587</title><item><title>\u00e9</title></item></channel></rss>".encode(
        "utf-16-le"
    ),
    "utf16-namespace-inside-item": "\ufeff<?xml version='1.0' encoding='utf-16'?><rss "
    "version='2.0'><channel><title>T</title><item><title>t</title>"
    "<a:date xmlns:a='http://purl.org/dc/elements/1.1/'>2024-01-01</a:date>"
    "<b:x xmlns:b='http://b.test/'>1</b:x><b:link xmlns:b='http://www.w3.org/2005/Atom' "
    "href='https://b.test/alt'/></item><item><title>2</title><b:x>2</b:x></item>"
    "</channel></rss>".encode("utf-16-le"),
    "namespace-inside-item": _rss(
        "<item><title>t</title><q:creator xmlns:q='http://purl.org/dc/elements/1.1/'>Q"
        "</q:creator></item><item><title>2</title><comments>c</comments></item>"
    ),
    "whitespace-before-declaration": b"\n\n  " + _rss("<item><title>t</title></item>"),
    "cjk-and-c1-in-html": _rss(
        "<item><title>\u4e2d\u6587\u0085</title><description>\u4e2d\u6587\u0080 &#x85;"
        "</description></item>"
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_documents(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    slow, fast, _ = _both(HOSTILE[name], monkeypatch=monkeypatch)
    assert fast == slow


def test_fast_path_taken_for_plain_feeds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("cdata", "xml-base", "itunes", "media-group", "atom-content-types", "rdf"):
        _, _, used = _both(HOSTILE[name], monkeypatch=monkeypatch)
        assert used, name
    for name in ("nested-items", "doctype-entities", "malformed", "not-a-feed"):
        _, _, used = _both(HOSTILE[name], monkeypatch=monkeypatch)
        assert not used, name


# Generated items: snippets picked at random (duplicates and order included).
_RSS_PARTS = [
    "<title>t &amp; u</title>",
    "<title></title>",
    "<link>https://g.test/1?a=1&amp;b=2</link>",
    "<link> </link>",
    '<guid isPermaLink="false">g-1</guid>',
    "<guid>https://g.test/p</guid>",
    "<pubDate>Mon, 01 Jan 2024 10:00:00 +0100</pubDate>",
    "<dc:date>2024-02-02T02:02:02Z</dc:date>",
    "<description>&lt;p&gt;d&lt;/p&gt;</description>",
    "<content:encoded><![CDATA[<p>c</p>]]></content:encoded>",
    "<category>c1</category>",
    '<category domain="x">c2</category>',
    "<author>a@g.test (A)</author>",
    "<dc:creator>B</dc:creator>",
    '<enclosure url="https://g.test/e.mp3" length="1" type="audio/mpeg"/>',
    '<media:content url="https://g.test/m.jpg" medium="image"/>',
    '<media:thumbnail url="https://g.test/t.jpg"/>',
    '<itunes:image href="https://g.test/i.jpg"/>',
    "<itunes:summary>s</itunes:summary>",
    "<comments>https://g.test/c</comments>",
    '<atom:link rel="replies" href="https://g.test/r"/>',
    "<source url='https://src.test/'>Src</source>",
    "<unknown>u</unknown>",
    "<x:y xmlns:x='http://x.test/'>z<title>in unknown</title></x:y>",
    "<item/>",
]
_ATOM_PARTS = [
    "<title>t</title>",
    '<title type="html">&lt;b&gt;t&lt;/b&gt;</title>',
    "<id>urn:x:1</id>",
    '<link href="https://g.test/a"/>',
    '<link rel="enclosure" href="https://g.test/e.mp3" length="2"/>',
    '<link rel="self" href="https://g.test/s"/>',
    "<published>2024-01-01T00:00:00Z</published>",
    "<updated>2024-01-02T00:00:00Z</updated>",
    '<content type="html">&lt;p&gt;c&lt;/p&gt;</content>',
    "<summary>s</summary>",
    '<summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div></summary>',
    "<author><name>N</name><email>n@g.test</email></author>",
    '<category term="k"/>',
    '<media:group><media:thumbnail url="https://g.test/t.jpg"/></media:group>',
    "<source><title>S</title><id>s</id></source>",
]


@pytest.mark.parametrize("seed", range(60))
def test_generated_documents(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    atom = seed % 3 == 2
    parts = _ATOM_PARTS if atom else _RSS_PARTS
    items = "".join(
        ("<entry>" if atom else "<item>")
        + "".join(rng.choice(parts) for _ in range(rng.randint(0, 9)))
        + ("</entry>" if atom else "</item>")
        for _ in range(rng.randint(1, 4))
    )
    body = _atom(items) if atom else _rss(items)
    slow, fast, _ = _both(body, monkeypatch=monkeypatch)
    assert fast == slow


# Items of only the elements xmlitems reads itself (and inert extensions), in any order.
_PLAIN_PARTS = [
    "<title>t &amp; u</title>",
    "<title>  caf\u00c3\u00a9 \u0080</title>",
    "<title> </title>",
    "<link>https://g.test/1?a=1&amp;b=2&amp;c;</link>",
    "<link>http:///g.test/slashes</link>",
    "<link></link>",
    "<link>https://g.test/?a=1&amp;amp;b=2</link>",
    "<guid>https://g.test/p</guid>",
    '<guid isPermaLink="false">http:///g.test/not-a-permalink</guid>',
    '<guid isPermaLink="false">  g-1 </guid>',
    '<guid isPermaLink="true"></guid>',
    "<guid>http:///g.test/odd</guid>",
    "<pubDate>Mon, 01 Jan 2024 10:00:00 +0100</pubDate>",
    "<pubDate>2020/1/10</pubDate>",
    "<dc:date>2024-02-02T02:02:02Z</dc:date>",
    "<dc:date>garbage</dc:date>",
    "<description>&lt;p&gt;d&lt;/p&gt;</description>",
    "<description>  </description>",
    "<content:encoded><![CDATA[<p>c</p>]]></content:encoded>",
    "<content:encoded></content:encoded>",
    "<category>c1</category>",
    "<category>c1</category>",
    '<category domain="x">c2</category>',
    '<category domain="x"></category>',
    "<category></category>",
    "<author>a@g.test (A)</author>",
    "<author>Just A Name</author>",
    "<author></author>",
    "<dc:creator>B &lt;b@g.test&gt;</dc:creator>",
    '<enclosure url="https://g.test/e.mp3" length="1" type="Audio/MPEG"/>',
    '<enclosure url="" type="x"/>',
    "<enclosure/>",
    "<comments>https://g.test/c</comments>",
    "<comments></comments>",
    "<wfw:commentRss>https://g.test/feed</wfw:commentRss>",
    "<slash:comments>3</slash:comments>",
    '<x:thing a="b">v</x:thing>',
    "<!-- a comment -->",
    '<media:thumbnail url="https://g.test/t.jpg" width="10"/>',
    "<media:thumbnail> https://g.test/text-url.jpg </media:thumbnail>",
    '<media:thumbnail url="" />',
    '<media:content url="https://g.test/m.jpg" medium="image" Type="Image/JPEG">'
    '<media:title type="html">media title</media:title></media:content>',
    '<media:content url="https://g.test/v.mp4" fileSize="9" duration="3">'
    '<media:thumbnail url="https://g.test/vt.jpg"/><media:title>mt</media:title>'
    "</media:content>",
    "<media:content>https://g.test/no-attributes</media:content>",
    '<media:content url="https://g.test/d"><media:description>md</media:description>'
    "</media:content>",
]
_PLAIN_NAMESPACES = (
    'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
    'xmlns:slash="http://purl.org/rss/1.0/modules/slash/" xmlns:x="http://x.test/"'
)


@pytest.mark.parametrize("seed", range(80))
def test_generated_plain_items(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(1000 + seed)
    items = "".join(
        "<item>" + "".join(rng.choice(_PLAIN_PARTS) for _ in range(rng.randint(0, 8))) + "</item>"
        for _ in range(rng.randint(1, 5))
    )
    # A channel title after the items: feedparser's title depth carries over from them.
    channel = "<title>late</title>" if seed % 4 == 0 else ""
    body = _rss(items + channel, ns=_PLAIN_NAMESPACES)
    slow, fast, used = _both(body, monkeypatch=monkeypatch)
    assert fast == slow
    assert used


_ATOM_PLAIN_PARTS = [
    "<title>t &amp; u</title>",
    '<title type="html">&lt;b&gt;caf\u00c3\u00a9&lt;/b&gt;</title>',
    '<title type="HTML"> </title>',
    "<id>urn:x:1</id>",
    "<id>http:///g.test/odd-id</id>",
    "<id></id>",
    '<link href="https://g.test/a"/>',
    '<link rel="alternate" type="text/html" href="https://g.test/b"/>',
    '<link rel="Alternate" type="application/pdf" href="https://g.test/pdf"/>',
    '<link rel="enclosure" href="https://g.test/e.mp3" length="2" type="Audio/MPEG"/>',
    '<link rel="replies" href="https://g.test/r" title="R"/>',
    '<link href=""/>',
    "<published>2024-01-01T00:00:00Z</published>",
    "<updated>2024-01-02T00:00:00+02:00</updated>",
    "<updated>bad date</updated>",
    '<content type="html">&lt;p&gt;c&lt;/p&gt;</content>',
    "<content>plain text</content>",
    "<content></content>",
    '<summary type="html">&lt;i&gt;s&lt;/i&gt;</summary>',
    "<summary> </summary>",
    "<author><name>N</name><email>n@g.test</email><uri>https://g.test/n</uri></author>",
    "<author><name> Only Name </name></author>",
    "<author><name>M</name><uri> http:///g.test/u-caf\u00c3\u00a9 </uri></author>",
    "<author><email>e@g.test</email></author>",
    "<author></author>",
    '<category term="k"/>',
    '<category term="k" scheme="s" label="L"/>',
    "<category>text</category>",
    '<category scheme="s"/>',
    '<media:thumbnail url="https://g.test/t.jpg"/>',
    "<thr:total>3</thr:total>",
    "<feedburner:origLink>https://g.test/o</feedburner:origLink>",
    "<!-- c -->",
]


@pytest.mark.parametrize("seed", range(80))
def test_generated_plain_atom_entries(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(5000 + seed)
    entries = "".join(
        "<entry>"
        + "".join(rng.choice(_ATOM_PLAIN_PARTS) for _ in range(rng.randint(0, 8)))
        + "</entry>"
        for _ in range(rng.randint(1, 5))
    )
    late = "<title>late</title>" if seed % 4 == 0 else ""
    body = _atom(
        entries + late,
        ns='xmlns:thr="http://purl.org/syndication/thread/1.0" '
        'xmlns:feedburner="http://rssnamespace.org/feedburner/ext/1.0"',
    )
    slow, fast, used = _both(body, monkeypatch=monkeypatch)
    assert fast == slow
    assert used


def _mutated(body: bytes, rng: random.Random) -> bytes:
    """A real feed with a few random edits: an element dropped, doubled or moved, the
    elements of an item shuffled, a text emptied."""
    root = etree.fromstring(body.lstrip(), etree.XMLParser(resolve_entities=False, huge_tree=True))
    elements = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
    for _ in range(rng.randint(1, 6)):
        victim = rng.choice(elements)
        parent = victim.getparent()
        if parent is None:
            continue
        action = rng.randrange(5)
        if action == 0:
            parent.remove(victim)
        elif action == 1:
            parent.insert(parent.index(victim), copy.deepcopy(victim))
        elif action == 2:
            children = list(victim)
            rng.shuffle(children)
            for child in children:
                victim.append(child)
        elif action == 3:
            victim.text = rng.choice(["", " ", "x", "caf\u00c3\u00a9"])
        else:
            target = rng.choice(elements)
            if victim not in list(target.iterancestors()) and target is not victim:
                target.append(victim)
        elements = [e for e in root.iter() if isinstance(e.tag, str) and e is not root]
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


_WELL_FORMED = [
    n for n in FILES if n.startswith("corpus/") and n not in DECLINED and "malformed" not in n
]


@pytest.mark.parametrize("seed", range(40))
def test_mutated_real_feeds(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    name = rng.choice(_WELL_FORMED)
    body = _mutated((DATA / name).read_bytes(), rng)
    slow, fast, _ = _both(body, monkeypatch=monkeypatch)
    assert fast == slow, name


@pytest.mark.parametrize("name", [n for n in FILES if n.startswith(("corpus/", "feeds/"))])
def test_same_format_output_identical(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The document edited in place (or rebuilt) is byte for byte what feedparser's Feed
    and a tree of its own gave."""
    body = (DATA / name).read_bytes()

    def render() -> bytes:
        feed = parse.parse(_result(body))
        return build_output(
            body, feed, lambda f: f, feed.kind, self_url="https://p.test/f", fallback_date=WHEN
        )

    monkeypatch.setattr(xmlfeed, "ENABLED", False)
    monkeypatch.setattr(xmldoc, "_HANDED_OVER", BoundedMap(1, 0.0))  # nothing kept
    before = render()
    monkeypatch.undo()
    assert render() == before


def test_output_identical_and_tree_loaded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-place edit gets parse's tree (no second load) and writes the same bytes."""
    body = (DATA / "corpus" / "podcast-cre-feedburner-enclosures.xml").read_bytes()

    def render() -> bytes:
        feed = parse.parse(_result(body))
        return build_output(
            body, feed, lambda f: f, "rss", self_url="https://p.test/f", fallback_date=WHEN
        )

    loads: list[int] = []
    load = xmldoc.load

    def counting(*args: object) -> object:
        loads.append(1)
        return load(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(xmlfeed, "ENABLED", False)
    monkeypatch.setattr(xmldoc, "_HANDED_OVER", BoundedMap(1, 0.0))  # nothing kept
    before = render()
    monkeypatch.undo()
    monkeypatch.setattr(xmldoc, "load", counting)
    after = render()
    assert after == before
    assert len(loads) == 1
    # Taken once: a second edit of the same body loads its own tree, and the same bytes.
    feed = parse.parse(_result(body))
    assert xmldoc.take(body, feed.encoding) is not xmldoc.take(body, feed.encoding)


def test_decline_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="proxy.xmlfeed"):
        parse.parse(_result(HOSTILE["doctype-entities"]))
    assert any("declined: DOCTYPE" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("name", FILES + [f"hostile:{n}" for n in sorted(HOSTILE)])
def test_tree_from_feedparsers_utf8_is_the_same(name: str) -> None:
    """parse loads the tree from feedparser's UTF-8 conversion; the output stage (when it
    loads its own) from the body: the same tree."""
    raw = HOSTILE[name[8:]] if name.startswith("hostile:") else (DATA / name).read_bytes()
    body = raw.lstrip()
    encoding, _, converted = xmlfeed.sniff({}, body)
    ours = xmldoc.load(body, encoding or None, converted)
    theirs = xmldoc.load(body, encoding or None)
    assert (ours is None) == (theirs is None)
    if ours is not None and theirs is not None:
        assert etree.tostring(ours.root) == etree.tostring(theirs.root)
        assert (ours.family, ours.strict, len(ours.items)) == (
            theirs.family,
            theirs.strict,
            len(theirs.items),
        )


def test_a_big_documents_tree_is_not_handed_over(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over HAND_OVER_MAX_BYTES the tree is not kept through the clean stage: the output stage
    loads its own (a tree weighs several times its body)."""
    body = (DATA / FILES[0]).read_bytes()
    feed = parse.parse(_result(body))
    kept = xmldoc.take(body, feed.encoding)
    monkeypatch.setattr(xmldoc, "HAND_OVER_MAX_BYTES", len(body) - 1)
    feed = parse.parse(_result(body))
    loaded: list[int] = []
    load = xmldoc.load

    def counting(*args: object) -> object:
        loaded.append(1)
        return load(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(xmldoc, "load", counting)
    assert xmldoc.take(body, feed.encoding) is not None
    assert loaded == [1]  # loaded afresh: nothing was kept
    assert kept is not None

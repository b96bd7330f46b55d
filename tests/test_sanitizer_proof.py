"""The sanitiser proof: XSS vectors through the WHOLE pipeline, checked as a reader sees them.

Each vector of ``tests/data/xss/vectors.txt`` becomes one item of a feed served by the local
upstream; the proxy fetches, cleans, rewrites, sanitises and renders it; feedparser reads the
result with its own sanitiser OFF. Every item's HTML is then parsed by two different HTML
parsers (lxml and the standard library's tokenizer), and neither may find a script, an event
handler, a javascript:/vbscript:/data:text/html (or any non-web) URL, <base>, <meta refresh>,
a form, a style expression, srcdoc, an object/embed or a foreign iframe. The served XML itself
must carry no markup elements, and item-level fields (title, link, enclosure, author,
comments, the feed's link and logo) are checked as well (research §D1–§D6).

Unlike tests/test_sanitize.py (sanitize_html alone), nothing here knows how the pipeline is
built: a stage that re-parsed HTML after the sanitiser, or a field that skipped it, fails here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from xml.sax.saxutils import escape

import feedparser
import lxml.html
import pytest
from aiohttp.test_utils import TestClient
from lxml import etree
from pytest_aiohttp import AiohttpClient

from proxy.server import create_app
from tests.helpers import DATA
from tests.html5view import html5_problems
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
XSS = DATA / "xss"

ATOM = "http://www.w3.org/2005/Atom"
RSS_CONTENT = "http://purl.org/rss/1.0/modules/content/"
FEED_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}

FORBIDDEN_TAGS = frozenset(
    {
        "script",
        "style",
        "base",
        "meta",
        "link",
        "form",
        "input",
        "button",
        "select",
        "option",
        "textarea",
        "isindex",
        "keygen",
        "object",
        "embed",
        "applet",
        "param",
        "frame",
        "frameset",
        "noscript",
        "noembed",
        "noframes",
        "template",
        "xmp",
        "plaintext",
        "svg",
        "foreignobject",
        "animate",
        "set",
        "use",
        "bgsound",
        "title",
        "head",
        "body",
        "html",
    }
)
URL_ATTRIBUTES = frozenset(
    {
        "href",
        "src",
        "srcset",
        "action",
        "formaction",
        "poster",
        "cite",
        "background",
        "data",
        "codebase",
        "dynsrc",
        "lowsrc",
        "longdesc",
        "usemap",
        "manifest",
        "ping",
        "xlink:href",
        "classid",
        "archive",
        "icon",
        "profile",
        "to",
        "from",
        "values",
        "code",
    }
)
WEB_SCHEMES = frozenset({"http", "https", "mailto"})
SAFE_DATA = re.compile(r"data:image/(png|gif|jpe?g|webp|avif)[;,]")
CSS_DANGER = (
    "expression(",
    "javascript:",
    "vbscript:",
    "behavior:",
    "-moz-binding",
    "@import",
    "position:fixed",
    "position:absolute",
)
# What must still be there: the proof would be empty if the sanitiser dropped everything.
KEPT_TEXT = {
    "owasp-script-alert": "after",
    "fp-style-overlay": "never trust your upstream platypus",
    "fp-onclick": "x",
    "javascript-cite": "q",
    "owasp-a-onmouseover": "xxs link",
    "a-ping-and-target": "ok",
    "math-formula-kept": "eiπ+1=0",
    "math-attributes": "x",
    "mxss-annotation-xml-img": "x",
}


# --- the vectors and the feeds they are served in --------------------------------------------


def load_vectors() -> list[tuple[str, str]]:
    vectors: list[tuple[str, str]] = []
    current: list[str] | None = None
    for line in (XSS / "vectors.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("=== "):
            current = []
            vectors.append((line[4:].strip(), ""))
        elif current is not None:
            vid, text = vectors[-1]
            vectors[-1] = (vid, f"{text}\n{line}" if text else line)
    return vectors


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def rss_feed(vectors: list[tuple[str, str]]) -> bytes:
    items = "".join(
        f"<item><title>{escape(vid)}</title><link>https://ok.example/{vid}</link>"
        f'<guid isPermaLink="false">{escape(vid)}</guid>'
        f"<description>{escape(text)}</description>"
        f"<content:encoded>{_cdata(text)}</content:encoded></item>\n"
        for vid, text in vectors
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<rss version="2.0" xmlns:content="{RSS_CONTENT}"><channel><title>xss</title>'
        "<link>https://ok.example/</link><description>vectors</description>\n"
        f"{items}</channel></rss>\n"
    ).encode()


def atom_feed(vectors: list[tuple[str, str]]) -> bytes:
    entries = "".join(
        f"<entry><id>urn:feedscrub:xss:{escape(vid)}</id><title>{escape(vid)}</title>"
        "<updated>2024-01-01T00:00:00Z</updated>"
        f'<link href="https://ok.example/{vid}"/>'
        f'<content type="html">{escape(text)}</content></entry>\n'
        for vid, text in vectors
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="{ATOM}"><title>xss</title><id>urn:feedscrub:xss</id>'
        '<updated>2024-01-01T00:00:00Z</updated><link href="https://ok.example/"/>\n'
        f"{entries}</feed>\n"
    ).encode()


# --- what counts as unsafe --------------------------------------------------------------------


@dataclass
class Tag:
    name: str
    attrs: list[tuple[str, str]] = field(default_factory=list)


def tags_by_lxml(fragment: str) -> list[Tag]:
    if not fragment.strip():
        return []
    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    return [
        Tag(str(el.tag).lower(), [(str(k).lower(), str(v)) for k, v in el.attrib.items()])
        for el in root.iter()
        if isinstance(el.tag, str) and el is not root
    ]


class _Tokens(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[Tag] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(Tag(tag.lower(), [(k.lower(), v or "") for k, v in attrs]))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def tags_by_tokenizer(fragment: str) -> list[Tag]:
    tokens = _Tokens()
    tokens.feed(fragment)
    tokens.close()
    return tokens.tags


def bad_url(value: str) -> str | None:
    """The scheme, if a browser would read this URL as something other than a web URL."""
    # Decoded once more than the parsers did, and without the characters browsers skip:
    # stricter than a browser, never looser.
    cleaned = re.sub(r"[\x00-\x20\x7f]+", "", html.unescape(value)).lower()
    match = re.match(r"([a-z][a-z0-9+.\-]*):", cleaned)
    if match is None or match.group(1) in WEB_SCHEMES or SAFE_DATA.match(cleaned):
        return None
    return match.group(1)


def bad_css(value: str) -> str | None:
    decoded = re.sub(
        r"\\([0-9a-fA-F]{1,6})\s?",
        lambda m: chr(int(m.group(1), 16)) if int(m.group(1), 16) < 0x110000 else "",
        value,
    )
    decoded = re.sub(r"\\(.)", r"\1", decoded)
    decoded = re.sub(r"/\*.*?\*/", "", decoded, flags=re.S)
    decoded = re.sub(r"\s+", "", decoded).lower()
    return next((word for word in CSS_DANGER if word in decoded), None)


def problems(fragment: str) -> list[str]:
    """Everything unsafe any of three parsers finds in an HTML fragment: lxml, the standard
    library's tokenizer, and html5lib for the tree a browser builds (foreign content: MathML
    is kept, so a <style> inside it must not be there either)."""
    found: list[str] = html5_problems(fragment)
    for parser, tags in (
        ("lxml", tags_by_lxml(fragment)),
        ("tokenizer", tags_by_tokenizer(fragment)),
    ):
        for tag in tags:
            if tag.name in FORBIDDEN_TAGS:
                found.append(f"{parser}: <{tag.name}>")
            attrs = dict(tag.attrs)
            for name, value in tag.attrs:
                if name.startswith("on") or name in ("srcdoc", "http-equiv"):
                    found.append(f"{parser}: <{tag.name} {name}>")
                elif name == "style" and bad_css(value):
                    found.append(f"{parser}: <{tag.name} style> has {bad_css(value)}")
                elif name in URL_ATTRIBUTES:
                    parts = value.split(",") if name == "srcset" else [value]
                    for part in parts:
                        words = part.split()
                        scheme = bad_url(words[0] if words and name == "srcset" else part)
                        if scheme:
                            found.append(f"{parser}: <{tag.name} {name}> is a {scheme}: URL")
            if tag.name == "iframe":
                src = attrs.get("src", "")
                if not src.lower().startswith("https://") or "sandbox" not in attrs:
                    found.append(f"{parser}: iframe without an https src and a sandbox: {src!r}")
    return found


def xml_problems(body: bytes) -> list[str]:
    """The served document must hold feed elements only: item HTML is escaped text."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    root = etree.fromstring(body, parser)
    found = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        qname = etree.QName(element)
        if qname.namespace in (
            "http://www.w3.org/1999/xhtml",
            "http://www.w3.org/2000/svg",
            "http://www.w3.org/1998/Math/MathML",
        ) or qname.localname.lower() in FORBIDDEN_TAGS - {"title", "link"}:
            found.append(f"XML element {element.tag}")
    return found


def served_html(body: bytes) -> dict[str, list[str]]:
    """Item title → the HTML strings the document carries for it, read straight from the XML."""
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    found: dict[str, list[str]] = {}
    if root.tag == f"{{{ATOM}}}feed":
        for entry in root.iter(f"{{{ATOM}}}entry"):
            title = entry.findtext(f"{{{ATOM}}}title") or ""
            found[title] = [
                el.text or ""
                for el in entry
                if el.tag in (f"{{{ATOM}}}content", f"{{{ATOM}}}summary")
            ]
    else:
        for item in root.iter("item"):
            title = item.findtext("title") or ""
            found[title] = [
                el.text or ""
                for el in item
                if el.tag in ("description", f"{{{RSS_CONTENT}}}encoded")
            ]
    return found


def reader_html(body: bytes) -> dict[str, list[str]]:
    """Item title → the HTML feedparser (its sanitiser off) hands to a reader."""
    parsed = feedparser.parse(body, sanitize_html=False)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return {
        entry.title: [c.value for c in entry.get("content", [])] + [entry.get("summary", "")]
        for entry in parsed.entries
    }


# --- the app ----------------------------------------------------------------------------------


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, make_settings: Any) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(make_settings(**changes)))

    return build


async def serve(
    upstream: Upstream,
    client: TestClient[Any, Any],
    path: str,
    body: bytes,
    source: str,
    out: str,
) -> bytes:
    url = upstream.route(path, body, content_type=FEED_TYPES[source])
    response = await client.get("/feed", params={"url": url, "format": out})
    served = await response.read()
    assert response.status == 200, served[:300]
    assert response.headers["Content-Type"].startswith(FEED_TYPES[out])
    return served


def test_the_corpus_is_big_enough() -> None:
    vectors = load_vectors()
    assert len(vectors) >= 80
    assert len({vid for vid, _ in vectors}) == len(vectors)
    assert all(text.strip() for _, text in vectors)
    # The unsafe-markup checks themselves catch what they are meant to catch.
    for vid, text in vectors:
        if vid.startswith(("owasp-script", "fp-on", "owasp-meta", "mxss-svg-style", "mxss-math")):
            assert problems(text) or problems(html.unescape(text)), vid


@pytest.mark.parametrize(
    ("source", "out"), [("rss", "rss"), ("atom", "atom"), ("rss", "atom"), ("atom", "rss")]
)
async def test_no_vector_survives_the_pipeline(
    upstream: Upstream, make_client: MakeClient, source: str, out: str
) -> None:
    vectors = load_vectors()
    feed = rss_feed(vectors) if source == "rss" else atom_feed(vectors)
    client = await make_client()
    body = await serve(upstream, client, f"/xss.{source}", feed, source, out)
    failures = xml_problems(body)
    from_xml = served_html(body)
    from_reader = reader_html(body)
    ids = [vid for vid, _ in vectors]
    assert sorted(from_xml) == sorted(ids), "every vector's item is served, none dropped"
    assert sorted(from_reader) == sorted(ids)
    for vid in ids:
        for fragment in from_xml[vid] + from_reader[vid]:
            failures.extend(f"{vid}: {problem}" for problem in problems(fragment))
        if vid in KEPT_TEXT:
            text = lxml.html.fragment_fromstring(from_reader[vid][0], create_parent="div")
            if KEPT_TEXT[vid] not in text.text_content():
                failures.append(f"{vid}: the article text {KEPT_TEXT[vid]!r} was lost")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("out", ["atom", "rss"])
async def test_xhtml_content_is_sanitised_too(
    upstream: Upstream, make_client: MakeClient, out: str
) -> None:
    client = await make_client()
    body = await serve(
        upstream, client, "/xhtml.atom", (XSS / "atom-xhtml.xml").read_bytes(), "atom", out
    )
    failures = xml_problems(body)
    reader = reader_html(body)
    assert len(reader) == 7
    for title, fragments in reader.items():
        for fragment in fragments + served_html(body)[title]:
            failures.extend(f"{title}: {problem}" for problem in problems(fragment))
    assert not failures, "\n".join(failures)
    assert "kept" in reader["xhtml-script"][0]


def _web(value: str | None) -> bool:
    return value is None or bad_url(value) is None


def _harmless(value: str | None) -> bool:
    # feedparser makes an entry's link from its id when it has none: a urn:/tag: id then
    # shows up as the link. Such a link goes nowhere, which is fine; a script URL is not.
    return _web(value) or bad_url(value or "") in ("urn", "tag")


def url_fields(body: bytes) -> list[tuple[str, str]]:
    """(where, URL) for every field of the document a reader opens as it is."""
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    found: list[tuple[str, str]] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element).localname
        if name == "link" and element.get("href") is not None:
            found.append((f"link@{element.get('rel', 'alternate')}", element.get("href", "")))
        elif name in ("link", "comments", "url", "logo", "icon", "uri", "docs"):
            found.append((name, element.text or ""))
        elif name == "enclosure":
            found.append(("enclosure", element.get("url", "")))
        elif name == "guid" and element.get("isPermaLink", "true") == "true":
            found.append(("guid(permalink)", element.text or ""))
    return found


@pytest.mark.parametrize(
    ("source", "out"), [("rss", "rss"), ("rss", "atom"), ("atom", "atom"), ("atom", "rss")]
)
async def test_item_level_fields(
    upstream: Upstream, make_client: MakeClient, source: str, out: str
) -> None:
    client = await make_client()
    body = await serve(
        upstream,
        client,
        f"/fields.{source}",
        (XSS / f"item-fields.{source}.xml").read_bytes(),
        source,
        out,
    )
    assert xml_problems(body) == []
    # Fields readers open: only web URLs (or nothing) are left.
    bad = [(where, url) for where, url in url_fields(body) if not _web(url)]
    assert bad == []
    root = etree.fromstring(body)
    # Titles are text: no elements inside, the markup escaped in the document.
    titles = [
        el for el in root.iter() if isinstance(el.tag, str) and etree.QName(el).localname == "title"
    ]
    assert titles and all(len(el) == 0 for el in titles)
    # Issue 9.5: the title's characters are all there, with a WORD JOINER after each "<" that
    # would open a tag, so a reader that sniffs titles for HTML (feedparser) reads text.
    assert "&lt;\u2060img src=x onerror=alert(1)&gt;".encode() in body
    assert b"<img" not in body and b"<script" not in body and b"<svg" not in body
    # What a reader gets (feedparser, its sanitiser off).
    parsed = feedparser.parse(body, sanitize_html=False)
    assert not parsed.bozo
    for detail in [parsed.feed.get("title_detail")] + [e.get("title_detail") for e in parsed.entries]:
        assert detail is not None and detail.type == "text/plain", detail
    assert _web(parsed.feed.get("link"))
    assert _web((parsed.feed.get("image") or {}).get("href"))
    for entry in parsed.entries:
        assert _harmless(entry.get("link")), entry.get("link")
        assert all(_harmless(link.get("href")) for link in entry.get("links", []))
        assert all(_web(e.get("href")) for e in entry.get("enclosures", []))
        assert _web(entry.get("comments"))
        assert _web((entry.get("author_detail") or {}).get("href"))
        for fragment in [c.value for c in entry.get("content", [])] + [entry.get("summary", "")]:
            assert problems(fragment) == [], fragment
    # Nothing good was thrown out with the bad: the normal item keeps its link and enclosure.
    normal = [e for e in parsed.entries if e.title.startswith("A normal")][0]
    assert normal.link == "https://ok.example/post"
    assert [e.href for e in normal.enclosures] == ["https://ok.example/a.mp3"]
    # The guid stays byte for byte, it only stops claiming to be a link.
    if source == "rss":
        ids = [e.get("id") for e in parsed.entries]
        assert "javascript:alert('guid')" in ids

"""Issue 11's six problems, one test each (and more), plus 9.5 titles and descriptions, and
OpenCC. Through the real pieces: the CLI as a subprocess, the app against a local upstream,
feedparser and podcastparser reading what we serve."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from aiohttp.test_utils import TestClient
from lxml import etree
from pytest_aiohttp import AiohttpClient

from proxy import dates, parse, rewrite
from proxy.models import FetchResult
from proxy.pipeline import process
from proxy.server import create_app
from tests import corpus
from tests.helpers import seed_feed
from tests.output.test_corpus import check_json_feed
from tests.upstream import Upstream

MakeClient = Callable[..., Awaitable[TestClient[Any, Any]]]
ITUNES = "http://www.itunes.com/dtds/podcast-1.0.dtd"
PODLOVE = "http://podlove.org/simple-chapters"
ATOM = "{http://www.w3.org/2005/Atom}"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def make_client(aiohttp_client: AiohttpClient, make_settings: Any) -> MakeClient:
    async def build(**changes: Any) -> TestClient[Any, Any]:
        return await aiohttp_client(create_app(make_settings(**changes)))

    return build


def in_namespace(body: bytes, namespace: str) -> int:
    root = etree.fromstring(body)
    return sum(
        1 for e in root.iter() if isinstance(e.tag, str) and etree.QName(e).namespace == namespace
    )


def build(
    body: bytes, fmt: str | None = None, *, url: str = corpus.SOURCE_URL, **options: Any
) -> bytes:
    feed = parse.parse(FetchResult(url=url, status=200, body=body, content_type=""))
    return process.build_output(
        feed,
        fmt or feed.kind,
        policy=rewrite.ImagePolicy(mode=options.pop("mode", "none")),
        self_url=options.pop("self_url", corpus.SELF_URL),
        fallback_date=WHEN,
        body=body,
        **options,
    )


# --- 11.1 podcasts ------------------------------------------------------------------------


def test_11_1_clean_keeps_every_itunes_element_and_the_chapters(tmp_path: Path) -> None:
    source = corpus.CORPUS / "podcast-cre-feedburner-enclosures.xml"
    done = subprocess.run(
        [sys.executable, "-m", "proxy", "clean", str(source)],
        capture_output=True,
        timeout=120,
        env={"FEEDSCRUB_CACHE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    upstream = source.read_bytes()
    assert in_namespace(upstream, ITUNES) >= 70
    assert in_namespace(done.stdout, ITUNES) == in_namespace(upstream, ITUNES)
    assert in_namespace(done.stdout, PODLOVE) == in_namespace(upstream, PODLOVE) > 0
    # Apple's directory requires these three at channel level.
    channel = etree.fromstring(done.stdout).find("channel")
    assert channel is not None
    for name in ("image", "category", "explicit"):
        assert channel.find(f"{{{ITUNES}}}{name}") is not None, name


def test_11_1_itunes_and_chapters_are_carried_into_atom() -> None:
    body = corpus.served("podcast-cre-feedburner-enclosures.xml", "atom")
    entries = etree.fromstring(body).findall(f"{ATOM}entry")
    assert len(entries) == 30
    assert all(e.find(f"{{{ITUNES}}}duration") is not None for e in entries)
    assert sum(1 for e in entries if e.find(f"{{{PODLOVE}}}chapters") is not None) == 12
    # The episode image follows the image mode like any other image.
    images = [e.find(f"{{{ITUNES}}}image") for e in entries]
    assert all(
        i is not None and i.get("href", "").startswith("https://proxy.example/img/") for i in images
    )


# --- 11.2 updated-only dates --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_11_2_rdf_dates_survive_every_format(fmt: str) -> None:
    body = corpus.served("zh-dw-rdf-rss10.xml", fmt)
    if fmt == "json":
        items = json.loads(body)["items"]
        assert sum(1 for i in items if i.get("date_modified") or i.get("date_published")) == 85
        return
    entries = feedparser.parse(body).entries
    assert len(entries) == 85
    assert all(dict.get(e, "published_parsed") or dict.get(e, "updated_parsed") for e in entries)
    if fmt == "rss":
        # The same format: RSS 1.0 in place, dc:date as the upstream wrote it.
        root = etree.fromstring(body)
        assert etree.QName(root).localname == "RDF"
        dc_dates = root.findall(
            "{http://purl.org/rss/1.0/}item/{http://purl.org/dc/elements/1.1/}date"
        )
        assert len(dc_dates) == 85


def test_11_2_an_updated_only_atom_entry_gets_a_pubdate_in_rss() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x:f</id>
<updated>2024-05-01T10:00:00Z</updated><author><name>A</name></author>
<entry><id>urn:x:1</id><title>one</title><updated>2024-05-01T10:00:00Z</updated>
<link href="https://example.org/1"/><content type="html">x</content></entry></feed>"""
    entry = feedparser.parse(build(body, "rss")).entries[0]
    assert entry.published_parsed[:4] == (2024, 5, 1, 10)


# --- 11.3 invented dates ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020/1/10 14:33:00", datetime(2020, 1, 10, 14, 33, tzinfo=UTC)),
        ("2020-01-10 14:33", datetime(2020, 1, 10, 14, 33, tzinfo=UTC)),
        ("2020年1月10日", datetime(2020, 1, 10, tzinfo=UTC)),
        ("2020年01月10日 08:05", datetime(2020, 1, 10, 8, 5, tzinfo=UTC)),
        ("Seg, 24 Set 2018 19:42:40 -0300", datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)),
        ("Mo, 3 Mär 2020 10:00:00 +0100", datetime(2020, 3, 3, 9, 0, tzinfo=UTC)),
        ("Wed, 17 Jan 2018 15:50:00 EST", None),  # English: feedparser's own
        ("2020/13/40", None),
        ("next tuesday", None),
    ],
)
def test_11_3_loose_dates(text: str, expected: datetime | None) -> None:
    assert dates.parse_loose(text) == expected


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_11_3_no_date_comes_from_the_clock(fmt: str) -> None:
    entries = feedparser.parse(corpus.served("gb2312-kc0011-chinese.xml", fmt)).entries
    assert len(entries) == 20
    first = entries[0]
    stamp = dict.get(first, "published_parsed") or dict.get(first, "updated_parsed")
    assert stamp is not None and stamp[:5] == (2020, 1, 10, 14, 33)
    assert all((dict.get(e, "published_parsed") or ())[:3] == (2020, 1, 10) for e in entries)


def test_11_3_an_unreadable_date_is_omitted_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    body = b"""<rss version="2.0"><channel><title>t</title><link>https://example.org/</link>
<description>d</description><item><title>one</title><link>https://example.org/1</link>
<pubDate>someday soon</pubDate></item></channel></rss>"""
    with caplog.at_level(logging.WARNING, logger="proxy.parse"):
        feed = parse.parse(FetchResult(url="u", status=200, body=body, content_type=""))
    assert feed.entries[0].published is None
    assert "published='someday soon' unreadable; omitted" in caplog.text
    item = json.loads(build(body, "json"))["items"][0]
    assert "date_published" not in item and "date_modified" not in item


def test_11_3_portuguese_dates_are_read() -> None:
    entries = feedparser.parse(corpus.served("malformed-uol-latin1-undeclared.xml", "atom")).entries
    assert len(entries) == 15
    assert all(e.published_parsed[:3] == (2018, 9, 24) for e in entries)


# --- malformed documents -------------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in corpus.FEED_FILES if n.startswith("malformed-")])
def test_a_malformed_document_keeps_all_its_items_in_place(name: str) -> None:
    upstream = feedparser.parse(corpus.upstream(name))
    assert upstream.bozo  # not well-formed indeed
    expected = [e.title for e in upstream.entries if e.get("title") or e.get("link")]
    ours = corpus.served(name)
    root = etree.fromstring(ours)  # well-formed now, and UTF-8
    assert [item.findtext("title") for item in root.iter("item")] == expected
    read = feedparser.parse(ours)
    assert not read.bozo
    assert [e.title for e in read.entries] == expected


# --- 11.4 phantom items -------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_11_4_empty_nested_items_are_not_published(fmt: str) -> None:
    body = corpus.served("feedburner-pcmag-unescaped-html-in-description.xml", fmt)
    items = json.loads(body)["items"] if fmt == "json" else feedparser.parse(body).entries
    assert len(items) == 10
    assert b"da39a3ee" not in body and b"(untitled)" not in body
    assert all((i["title"] if fmt == "json" else i.title) for i in items)


# --- 11.5 Atom authors and ids --------------------------------------------------------------

RSS_BARE_GUID = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Seed</title>
<link>https://example.org/</link><description>d</description>
<item><title>local</title><guid>seed-local-img</guid><link>https://example.org/a</link>
<description>x</description></item>
<item><title>url guid</title><guid>https://example.org/b</guid><description>y</description></item>
</channel></rss>"""


def test_11_5_every_atom_entry_has_an_author() -> None:
    # The feed-level author of a valid upstream stays (in place) and is every entry's.
    name = "atom-neverworkintheory-empty-divs-relative.xml"
    root = etree.fromstring(corpus.served(name))
    assert root.find(f"{ATOM}author") is not None
    # An RSS source with no author at all: the feed title, on every entry.
    converted = etree.fromstring(build(RSS_BARE_GUID, "atom"))
    names = [e.findtext(f"{ATOM}author/{ATOM}name") for e in converted.iter(f"{ATOM}entry")]
    assert names == ["Seed", "Seed"]


def test_11_5_ids_are_iris_stable_and_the_same_in_every_format() -> None:
    atom = etree.fromstring(build(RSS_BARE_GUID, "atom"))
    ids = [e.findtext(f"{ATOM}id") for e in atom.iter(f"{ATOM}entry")]
    assert ids[0] is not None and ids[0].startswith("urn:uuid:")
    assert ids[1] == "https://example.org/b"  # an IRI guid is the id itself
    again = etree.fromstring(build(RSS_BARE_GUID, "atom", self_url="https://other.example/f"))
    assert [e.findtext(f"{ATOM}id") for e in again.iter(f"{ATOM}entry")] == ids
    assert [i["id"] for i in json.loads(build(RSS_BARE_GUID, "json"))["items"]] == ids
    # Another feed with the same bare guid does not collide.
    other = etree.fromstring(build(RSS_BARE_GUID, "atom", url="https://elsewhere.example/feed"))
    assert next(other.iter(f"{ATOM}entry")).findtext(f"{ATOM}id") != ids[0]


def test_11_5_is_permalink_only_for_url_guids() -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x:f</id>
<updated>2024-05-01T10:00:00Z</updated><author><name>A</name></author>
<entry><id>tag:example.org,2024:1</id><title>one</title><updated>2024-05-01T10:00:00Z</updated>
<link href="https://example.org/1"/></entry>
<entry><id>https://example.org/2</id><title>two</title><updated>2024-05-01T10:00:00Z</updated>
<link href="https://example.org/2"/></entry></feed>"""
    guids = etree.fromstring(build(body, "rss")).iter("guid")
    assert [(g.text, g.get("isPermaLink")) for g in guids] == [
        ("tag:example.org,2024:1", "false"),
        ("https://example.org/2", "true"),
    ]


# --- 11.6 tracking parameters on links; JSON Feed in ------------------------------------


@pytest.mark.parametrize("fmt", [None, "atom", "json"])
def test_11_6_item_and_feed_links_lose_tracking_parameters(fmt: str | None) -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
<link>https://example.org/?utm_source=rss&amp;id=7</link><description>d</description>
<item><title>one</title><link>https://example.org/1?utm_medium=feed&amp;utm_campaign=x</link>
<guid>https://example.org/1?utm_medium=feed</guid><description>x</description></item>
</channel></rss>"""
    out = build(body, fmt)
    if fmt == "json":
        data = json.loads(out)
        assert data["home_page_url"] == "https://example.org/?id=7"
        assert data["items"][0]["url"] == "https://example.org/1"
        return
    parsed = feedparser.parse(out)
    assert parsed.feed.link == "https://example.org/?id=7"
    assert parsed.entries[0].link == "https://example.org/1"
    assert parsed.entries[0].id == "https://example.org/1?utm_medium=feed"  # ids stay


async def test_11_6_json_feed_is_served_in_all_three_formats(
    upstream: Upstream, make_client: MakeClient
) -> None:
    body = corpus.upstream("jsonfeed-3960-youtube-iframe-srcdoc.json")
    url = upstream.route("/feed.json", body, content_type="application/feed+json")
    plain = upstream.route("/plain.json", body, content_type="application/json")
    client = await make_client()
    served: dict[str, Any] = {}
    for fmt in ("", "rss", "atom", "json"):
        response = await client.get(
            "/feed", params={"url": url, **({"format": fmt} if fmt else {})}
        )
        assert response.status == 200, await response.text()
        served[fmt] = (response.headers["Content-Type"], await response.read())
    assert served[""][0] == "application/feed+json; charset=utf-8"
    assert served["json"][0] == "application/feed+json; charset=utf-8"
    check_json_feed(json.loads(served["json"][1]))
    assert len(json.loads(served["json"][1])["items"]) == 20
    for fmt in ("rss", "atom"):
        assert served[fmt][0].startswith(f"application/{fmt}+xml")
        assert len(feedparser.parse(served[fmt][1]).entries) == 20
    # The same cleaning: the stats pixel and its utm_ link are gone.
    assert b"stats.3960.org" not in served["json"][1]
    response = await client.get("/feed", params={"url": plain})
    assert response.status == 200


async def test_named_feed_json_suffix(
    tmp_path: Path, upstream: Upstream, make_client: MakeClient
) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    config = tmp_path / "feedscrub.toml"
    config.write_text(f'[[feeds]]\nname = "rfi"\nurl = "{url}"\nopencc = "s2t"\n', encoding="utf-8")
    client = await make_client(config=str(config))
    response = await client.get("/feeds/rfi.json")
    assert response.status == 200
    assert response.headers["Content-Type"] == "application/feed+json; charset=utf-8"
    data = json.loads(await response.read())
    check_json_feed(data)
    assert data["feed_url"] == "http://proxy.test/feeds/rfi.json"
    assert data["items"][0]["title"] == "美中會談同意再談  重大議題無突破"  # opencc per feed


# --- OpenCC ---------------------------------------------------------------------------------


async def test_opencc_converts_text_never_urls(upstream: Upstream, make_client: MakeClient) -> None:
    url = upstream.route("/rfi.xml", seed_feed())
    client = await make_client()
    response = await client.get("/feed", params={"url": url, "opencc": "s2t"})
    assert response.status == 200
    parsed = feedparser.parse(await response.read())
    entry = parsed.entries[0]
    assert entry.title == "美中會談同意再談  重大議題無突破"
    assert "國務卿" in entry.description
    assert [t.term for t in entry.tags][0] == "中國"
    assert parsed.feed.title.startswith("法廣")
    # Attributes and URLs are not text: image links keep their bytes.
    assert "/img/" in entry.description
    link = [link.href for link in parsed.feed.links if link.rel == "self"][0]
    assert "opencc=s2t" in link
    bad = await client.get("/feed", params={"url": url, "opencc": "klingon"})
    assert bad.status == 400
    assert "opencc must be one of" in await bad.text()


# --- 9.5: titles are text, the channel description is sanitised -------------------------

HOSTILE = b"""<?xml version="1.0"?><rss version="2.0"><channel>
<title>&lt;a href="#" onmouseover="alert(1)"&gt;feed&lt;/a&gt;</title>
<link>https://example.org/</link>
<description>&lt;img src=x onerror=alert(1)&gt;About us</description>
<image><url>https://example.org/i.png</url><title>&lt;b onclick=x&gt;i&lt;/b&gt;</title><link>https://example.org/</link></image>
<item><title>&lt;a href="#" onmouseover="alert(1)"&gt;hover&lt;/a&gt;</title>
<link>https://example.org/1</link><description>x</description></item>
</channel></rss>"""


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_9_5_titles_are_text_and_the_description_is_sanitised(fmt: str) -> None:
    out = build(HOSTILE, fmt)
    parsed = feedparser.parse(out, sanitize_html=False)
    details = [parsed.feed.title_detail, parsed.entries[0].title_detail]
    assert all(d.type == "text/plain" for d in details), details
    # Every character is still there for the reader to see.
    assert (
        parsed.entries[0].title.replace("\u2060", "")
        == '<a href="#" onmouseover="alert(1)">hover</a>'
    )
    assert b"onerror" not in out
    # The image title's markup is text too (feedparser keeps no image title_detail).
    assert b"<b onclick" not in out
    if fmt == "rss":
        assert "&lt;\u2060b onclick".encode() in out
    assert "About us" in (parsed.feed.get("subtitle") or parsed.feed.get("description"))


@pytest.mark.parametrize("fmt", [None, "rss", "json"])
def test_9_5_a_script_id_stays_but_never_as_a_link(fmt: str | None) -> None:
    body = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x:f</id>
<updated>2024-01-01T00:00:00Z</updated><link href="https://example.org/"/>
<author><name>a</name></author><entry><id>javascript:alert(1)</id><title>x</title>
<updated>2024-01-01T00:00:00Z</updated><content type="html">c</content></entry></feed>"""
    out = build(body, fmt)
    if fmt == "json":
        item = json.loads(out)["items"][0]
        assert item["id"] == "javascript:alert(1)" and item["url"] == "https://example.org/"
        return
    entry = feedparser.parse(out).entries[0]
    assert entry.id == "javascript:alert(1)"
    assert entry.link == "https://example.org/"


def test_9_5_json_feed_in_place_keeps_only_web_urls_and_sanitised_html() -> None:
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "t",
            "home_page_url": "javascript:alert(1)",
            "items": [
                {
                    "id": "1",
                    "url": "javascript:alert(2)",
                    "title": "<b onclick=x>t</b>",
                    "content_html": "<img src=x onerror=alert(1)>ok",
                    "attachments": [
                        {"url": "vbscript:x", "mime_type": "audio/mpeg"},
                        {"url": "https://e.org/a.mp3", "mime_type": "audio/mpeg"},
                    ],
                }
            ],
        }
    ).encode()
    data = json.loads(build(body))
    check_json_feed(data)
    assert "home_page_url" not in data
    item = data["items"][0]
    assert "url" not in item and "onerror" not in item["content_html"]
    assert item["title"] == "<\u2060b onclick=x>t<\u2060/b>"
    assert [a["url"] for a in item["attachments"]] == ["https://e.org/a.mp3"]


async def test_11_1_served_in_place_through_the_cache_with_limit(
    upstream: Upstream, make_client: MakeClient
) -> None:
    body = corpus.upstream("podcast-cre-feedburner-enclosures.xml")
    url = upstream.route("/cre.xml", body)
    client = await make_client()
    whole = await client.get("/feed", params={"url": url})
    assert whole.status == 200
    served = await whole.read()
    assert in_namespace(served, ITUNES) == in_namespace(body, ITUNES)
    assert in_namespace(served, PODLOVE) == in_namespace(body, PODLOVE)
    # limit= after the cached cleaning: fewer items, the channel's own elements all there.
    cut = await client.get("/feed", params={"url": url, "limit": "5"})
    root = etree.fromstring(await cut.read())
    channel = root.find("channel")
    assert channel is not None and len(channel.findall("item")) == 5
    assert sum(1 for e in channel if etree.QName(e).namespace == ITUNES) == 9
    images = [i.get("href", "") for i in root.iter(f"{{{ITUNES}}}image")]
    assert images and all(i.startswith("http://proxy.test/img/") for i in images)
    assert upstream.hits["/cre.xml"] == 1

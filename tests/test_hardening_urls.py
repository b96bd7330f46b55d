"""Issue 9.5 (URL part): a scheme is judged after every Unicode space and format character is
removed, everywhere a URL is judged; an Atom id that is not a web URL stays, byte for byte,
as an id and never becomes a link."""

from __future__ import annotations

import html as html_lib
import re
import sys
import unicodedata
from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest

from proxy import parse, rewrite, sanitize, urlscheme
from proxy.models import FetchResult
from proxy.pipeline.process import build_output

DISGUISES = [
    "\u00a0",
    "\u1680",
    "\u2000",
    "\u2005",
    "\u200a",
    "\u3000",
    "\ufeff",
    "\u180e",
    "\u200b",
    "\u200d",
    "\u2028",
    "\u202e",
    "\u2060",
    "\u00ad",
    "\t",
    "\x01",
]


def _atom(disguise: str) -> bytes:
    ref = f"&#x{ord(disguise):X};" if disguise not in "\t\x01" else "&#x9;"
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>javascript:alert(0)</id>
<link href="{ref}javascript:alert(1)"/><updated>2024-01-01T00:00:00Z</updated>
<logo>{ref}javascript:alert(5)</logo>
<author><name>a</name><uri>{ref}javascript:alert(6)</uri></author>
<entry><title>e</title><id>javascript:alert(2)</id><link href="{ref}javascript:alert(3)"/>
<link rel="enclosure" href="{ref}javascript:alert(7)" type="audio/mpeg" length="1"/>
<updated>2024-01-01T00:00:00Z</updated><content type="html">&lt;p&gt;&lt;a
href="{ref}javascript:alert(4)"&gt;x&lt;/a&gt; &lt;img src="{ref}javascript:alert(8)"&gt;
&lt;video poster="{ref}vbscript:x" src="{ref}data:text/html,x"&gt;&lt;/video&gt;&lt;/p&gt;
</content></entry></feed>""".encode()


def _links(parsed: Any) -> list[str]:
    found = [parsed.feed.get("link"), (parsed.feed.get("image") or {}).get("href")]
    found += [link.get("href") for link in parsed.feed.get("links", [])]
    for entry in parsed.entries:
        found += [entry.get("link"), entry.get("comments")]
        found += [link.get("href") for link in entry.get("links", [])]
        found += [e.get("href") for e in entry.get("enclosures", [])]
        found += [a.get("href") for a in entry.get("authors", []) if isinstance(a, dict)]
    return [link for link in found if link]


@pytest.mark.parametrize("disguise", DISGUISES, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("fmt", ["rss", "atom", "atom-in-place"])
def test_disguised_javascript_links_never_come_out(disguise: str, fmt: str) -> None:
    body = _atom(disguise)
    feed = parse.parse(
        FetchResult(url="http://up.test/feed", status=200, body=body, content_type="")
    )
    policy = rewrite.ImagePolicy(mode="none", public_base="http://p.test", key=b"k", template="")
    out = build_output(
        feed,
        fmt.removesuffix("-in-place"),
        policy=policy,
        self_url="http://p.test/f",
        fallback_date=datetime.now(UTC),
        # Atom in, Atom out: the upstream document edited in place (what the server does).
        body=body if fmt.endswith("-in-place") else None,
    )
    parsed = feedparser.parse(out)
    for link in _links(parsed):
        assert urlscheme.scheme(link) in (None, "http", "https"), (link, out)
    entry = parsed.entries[0]
    html = "".join(c.get("value", "") for c in entry.get("content", [])) + entry.get("summary", "")
    values = re.findall(r'(?:href|src|poster|cite)="([^"]*)"', html)
    assert "<img" in html and "<video" in html  # the elements stay, their bad URLs go
    for value in values:
        assert urlscheme.scheme(html_lib.unescape(value)) in (None, "http", "https"), html
    # The ids stay as they were, and readers do not link to them.
    assert entry.id == "javascript:alert(2)"
    assert entry.get("link") != entry.id
    if fmt == "rss":
        assert not entry.get("guidislink")  # isPermaLink="false"
    else:
        assert parsed.feed.id == "javascript:alert(0)"


@pytest.mark.parametrize("disguise", DISGUISES, ids=lambda c: f"U+{ord(c):04X}")
def test_sanitiser_judges_the_scheme_without_invisible_characters(disguise: str) -> None:
    for html in (
        f'<a href="{disguise}javascript:alert(1)">x</a>',
        f'<a href="java{disguise}script:alert(1)">x</a>',
        f'<img src="{disguise}javascript:alert(1)">',
        f'<blockquote cite="{disguise}javascript:x">q</blockquote>',
        f'<img srcset="{disguise}javascript:x 1x">',
    ):
        cleaned = sanitize.sanitize_html(html)
        assert "script:" not in urlscheme.INVISIBLE.sub("", cleaned), cleaned
    kept = sanitize.sanitize_html(f'<a href="{disguise}https://example.org/">x</a>')
    assert "example.org" in kept


def test_invisible_covers_every_space_control_and_format_character() -> None:
    missing = [
        f"U+{code:04X}"
        for code in range(sys.maxunicode + 1)
        if (
            chr(code).isspace() or unicodedata.category(chr(code)) in ("Cc", "Cf", "Zs", "Zl", "Zp")
        )
        and not urlscheme.INVISIBLE.fullmatch(chr(code))
    ]
    assert missing == []


_JSON_URL_KEYS = {"url", "external_url", "home_page_url", "feed_url", "icon", "favicon", "image"}


@pytest.mark.parametrize("disguise", DISGUISES, ids=lambda c: f"U+{ord(c):04X}")
def test_disguised_javascript_links_never_come_out_in_json_feed(disguise: str) -> None:
    import json

    feed = parse.parse(
        FetchResult(url="http://up.test/feed", status=200, body=_atom(disguise), content_type="")
    )
    policy = rewrite.ImagePolicy(mode="none", public_base="http://p.test", key=b"k", template="")
    out = build_output(
        feed, "json", policy=policy, self_url="http://p.test/f", fallback_date=datetime.now(UTC)
    )
    urls: list[str] = []

    def walk(value: Any, key: str = "") -> None:
        if isinstance(value, dict):
            for name, inner in value.items():
                walk(inner, name)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, key)
        elif isinstance(value, str) and key in _JSON_URL_KEYS:
            urls.append(value)

    document = json.loads(out)
    walk(document)
    assert urls and all(urlscheme.scheme(u) in (None, "http", "https") for u in urls), urls
    assert document["items"][0]["id"] == "javascript:alert(2)"  # the id stays an id

"""Turns fetched bytes into a Feed. The only module importing feedparser; does no network I/O.

Item HTML is taken raw (feedparser's sanitiser and relative-URI resolution are off): the
clean and sanitize stages decide what stays, and the rewrite stage resolves URLs.
"""

from __future__ import annotations

import calendar
import re
import time
from datetime import UTC, datetime
from typing import Any

import feedparser

from proxy.errors import NotAFeed
from proxy.models import Enclosure, Entry, Feed, FetchResult, Image, Media, Person

_NOT_A_FEED_HINT = "upstream did not return a feed"
# expat's words for a document that ends early.
_TRUNCATION = re.compile(r"no element found|unclosed token|unclosed CDATA section")


def parse(result: FetchResult) -> Feed:
    """Parse an upstream response into a Feed.

    Parameters:
        result: the fetched body with its Content-Type, which decides the charset together
            with the XML declaration (GB2312/GBK/Big5/ISO-8859-1 feeds come out as text).

    Raises NotAFeed (502) for an HTML page, garbage or an empty body.
    """
    # Without a Content-Type, feedparser falls back to the XML declaration, else UTF-8.
    # (Passing other headers alone would make it assume ISO-8859-1.)
    headers = {"content-type": result.content_type} if result.content_type else {}
    body = result.body
    if not body.strip():
        raise NotAFeed(f"{_NOT_A_FEED_HINT}: the body is empty ({result.url})")
    if body[:1].isspace() and body.lstrip().startswith(b"<?xml"):
        # Whitespace before the XML declaration (a common WordPress plugin bug) makes the
        # document ill-formed and hides its declared encoding from feedparser.
        body = body.lstrip()
    try:
        parsed = feedparser.parse(
            body,
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser has crashed on odd documents (found by fuzzing)
        raise NotAFeed(
            f"{_NOT_A_FEED_HINT}: the feed parser failed on it ({type(exc).__name__}) "
            f"({result.url})"
        ) from exc
    version = parsed.get("version") or ""
    if not version:
        what = _describe_non_feed(result)
        raise NotAFeed(f"{_NOT_A_FEED_HINT}: {what} ({result.url})")
    problem = parsed.get("bozo_exception")
    if problem is not None and _TRUNCATION.search(str(problem)):
        # The document stops before its root element closes (a dropped connection behind a
        # proxy, a generator that died): serving the items that parsed would silently lose
        # the rest, and must not replace a good cached copy.
        raise NotAFeed(f"upstream sent a truncated feed: {problem} ({result.url})")
    meta = parsed.feed
    kind = "atom" if version.startswith("atom") else "rss"
    entries = tuple(_entry(raw) for raw in parsed.entries)
    return Feed(
        kind=kind,
        source_url=result.url,
        title=_text(meta.get("title")),
        link=_text(meta.get("link")),
        description=_text(meta.get("subtitle") or meta.get("description")),
        language=_text(meta.get("language")),
        image=_image(meta),
        updated=_date(_raw(meta, "updated_parsed") or _raw(meta, "published_parsed")),
        entries=entries,
        feed_id=_text(meta.get("id")),
    )


def _describe_non_feed(result: FetchResult) -> str:
    head = result.body[:512].lstrip().lower()
    if b"<html" in head or b"<!doctype html" in head:
        return "it sent an HTML page"
    if result.content_type:
        return f"it sent {result.content_type.split(';')[0].strip()} that is not RSS or Atom"
    return "the body is not RSS or Atom"


def _raw(mapping: Any, key: str) -> Any:
    # Plain dict lookup: FeedParserDict.get() maps updated_parsed to published_parsed
    # behind our back (with a DeprecationWarning); we want each date only where it is.
    return dict.get(mapping, key)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _date(value: time.struct_time | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _image(meta: Any) -> Image | None:
    image = meta.get("image")
    if not image or not image.get("href"):
        return None
    return Image(url=image["href"], title=_text(image.get("title")), link=_text(image.get("link")))


def _entry(raw: Any) -> Entry:
    contents = raw.get("content") or []
    # RSS content:encoded and Atom <content>; html/xhtml parts only, in document order.
    html_parts = [c for c in contents if "html" in (c.get("type") or "text/html")]
    content = "".join(c.get("value", "") for c in html_parts) or None
    summary_detail = raw.get("summary_detail") or {}
    summary = raw.get("summary")
    if summary and "html" not in (summary_detail.get("type") or "text/html"):
        summary = _escape_plain(summary)
    if content is not None and summary is not None and content == summary:
        summary = None  # feedparser copies a lone <content> into summary; keep it once
    base = (html_parts[0].get("base") if html_parts else None) or summary_detail.get("base")
    guid = raw.get("id")
    link = _text(raw.get("link"))
    return Entry(
        guid=guid if guid else None,
        # feedparser only keeps "the guid served as the link"; never claim a permalink
        # the upstream did not give (readers would open it).
        guid_is_permalink=bool(guid) and (bool(raw.get("guidislink")) or guid == link),
        title=_text(raw.get("title")),
        link=link,
        published=_date(_raw(raw, "published_parsed")),
        updated=_date(_raw(raw, "updated_parsed")),
        authors=tuple(
            Person(name=_text(a.get("name")), email=_text(a.get("email")), uri=_text(a.get("href")))
            for a in raw.get("authors") or []
            if a.get("name") or a.get("email")
        ),
        categories=tuple(t["term"] for t in raw.get("tags") or [] if t.get("term")),
        summary=summary,
        content=content,
        enclosures=tuple(
            Enclosure(url=e["href"], length=_text(e.get("length")), type=_text(e.get("type")))
            for e in raw.get("enclosures") or []
            if e.get("href")
        ),
        base_url=_text(base),
        comments=_text(raw.get("comments")),
        media=_media(raw),
    )


def _media(raw: Any) -> tuple[Media, ...]:
    """Media RSS: media:content, then media:thumbnail (media:group members included)."""
    found: list[Media] = []
    for item in raw.get("media_content") or []:
        if _text(item.get("url")):
            found.append(
                Media(
                    url=item["url"].strip(),
                    kind="content",
                    type=_text(item.get("type")),
                    medium=_text(item.get("medium")),
                    width=_text(item.get("width")),
                    height=_text(item.get("height")),
                    file_size=_text(item.get("filesize")),
                    duration=_text(item.get("duration")),
                )
            )
    for item in raw.get("media_thumbnail") or []:
        if _text(item.get("url")):
            found.append(
                Media(
                    url=item["url"].strip(),
                    kind="thumbnail",
                    width=_text(item.get("width")),
                    height=_text(item.get("height")),
                )
            )
    return tuple(found)


def _escape_plain(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

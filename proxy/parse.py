"""Turns fetched bytes into a Feed. With ``xmlfeed``, the only module importing feedparser;
does no network I/O.

XML feeds: the tree is loaded once (``xmldoc``, with the charset feedparser settles on) and
replayed into feedparser's parser (``xmlfeed``, identical results, a fraction of the cost);
``feedparser.parse`` runs only where that declines. The tree is then handed to the output
stage's in-place edit (``xmldoc.hand_over``), which would otherwise load it again.

Item HTML is taken raw (feedparser's sanitiser and relative-URI resolution are off): the
clean and sanitize stages decide what stays, and the rewrite stage resolves URLs.

XML feeds are also read as an lxml tree (``xmldoc``): each Entry records its position among
the document's top-level items (the output stage edits that item in place), its HTML fields
are taken from exactly the elements they will be written back to, and its extension
elements are kept as XML for conversions. JSON Feed (1.0, 1.1) is read here too.

Dates: a few common non-RFC forms are read by ``dates`` (feedparser would fill in the month
from today's clock); a date nobody can read is omitted and logged, never guessed. Items with
no title, link, id, content or enclosure (an empty ``<item/>`` nested inside a real one) are
not items: dropped and logged.
"""

from __future__ import annotations

import calendar
import dataclasses
import json
import logging
import re
import time
from datetime import UTC, datetime
from html import escape as html_escape
from typing import Any

import feedparser
import feedparser.datetimes
from lxml import etree

from proxy import dates, xmldoc, xmlfeed
from proxy.errors import NotAFeed
from proxy.models import Enclosure, Entry, Feed, FetchResult, Image, Media, Person

logger = logging.getLogger(__name__)

# Ours first: feedparser tries handlers newest first. Its ISO 8601 handler takes a prefix
# ("2020" of "2020/1/10") and fills the rest from the clock: only whole, dated strings reach it.
# Anchored and possessive (fullmatch only): linear on any input (tests/test_patterns.py).
_ISO8601 = re.compile(r"\A\s*+(\d{4}-?\d{2}-?\d{2}|\d{4}-?\d{3})(?:[T ].*+)?\s*\Z")


def _iso8601_whole(text: str) -> time.struct_time | None:
    if not _ISO8601.fullmatch(text):
        return None
    parsed: time.struct_time | None = feedparser.datetimes._parse_date_iso8601(text)
    return parsed


_handlers = feedparser.datetimes._date_handlers
if dates.feedparser_handler not in _handlers:
    _handlers[:] = [
        _iso8601_whole if h is feedparser.datetimes._parse_date_iso8601 else h for h in _handlers
    ]
    feedparser.registerDateHandler(dates.feedparser_handler)
JSON_FEED_VERSIONS = ("https://jsonfeed.org/version/1", "https://jsonfeed.org/version/1.1")

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
    if is_json(result):
        return parse_json(result)
    if body[:1].isspace() and body.lstrip().startswith(b"<?xml"):
        # Whitespace before the XML declaration (a common WordPress plugin bug) makes the
        # document ill-formed and hides its declared encoding from feedparser.
        body = body.lstrip()
    parsed, document = _read(body, headers, result.url)
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
    context = result.url or "-"
    entries = [_entry(raw, context) for raw in parsed.entries]
    encoding = parsed.get("encoding") or None
    feed_extensions: tuple[str, ...] = ()
    if document is not None:
        # An empty top-level <item/> is one of the document's items; one nested inside a
        # real item is not: line up before or after dropping the empty ones.
        if len(document.items) != len(entries):
            entries = [e for e in entries if not _phantom(e)]
        if len(document.items) == len(entries):
            entries = [
                _from_element(entry, element, document.family, index)
                for index, (entry, element) in enumerate(zip(entries, document.items, strict=True))
            ]
            feed_extensions = xmldoc.extensions(
                xmldoc.channel(document), document.family, feed_level=True
            )
            xmldoc.hand_over(result.body, encoding, document)  # for the in-place edit
        else:
            logger.warning(
                "parse feed_url=%s items=%d tree_items=%d: the document's items do not line "
                "up with the parser's; it will be rebuilt, not edited in place",
                context,
                len(entries),
                len(document.items),
            )
    kept = [e for e in entries if not _phantom(e)]
    if len(kept) < len(parsed.entries):
        logger.warning(
            "parse feed_url=%s dropped=%d empty items (no title, link, id or content)",
            context,
            len(parsed.entries) - len(kept),
        )
    return Feed(
        kind=kind,
        source_url=result.url,
        title=_text(meta.get("title")),
        link=_text(meta.get("link")),
        description=_text(meta.get("subtitle") or meta.get("description")),
        language=_text(meta.get("language")),
        image=_image(meta),
        updated=_date(_raw(meta, "updated_parsed") or _raw(meta, "published_parsed")),
        entries=tuple(kept),
        feed_id=_text(meta.get("id")),
        authors=_people(meta),
        extensions=feed_extensions,
        encoding=encoding,
    )


def _read(body: bytes, headers: dict[str, str], url: str) -> tuple[Any, xmldoc.Document | None]:
    """feedparser's result for the body, and the document's tree. The tree is loaded once,
    with the encoding feedparser settles on; feedparser itself runs only where the fast
    path (``xmlfeed``) declines."""
    encoding, problem, converted = xmlfeed.sniff(headers, body)
    document = xmldoc.load(body, encoding or None, converted)
    parsed = xmlfeed.read(document, encoding, problem, converted) if document is not None else None
    if parsed is None:
        try:
            parsed = feedparser.parse(
                body,
                response_headers=headers,
                sanitize_html=False,
                resolve_relative_uris=False,
            )
        except Exception as exc:  # feedparser has crashed on odd documents (found by fuzzing)
            raise NotAFeed(
                f"{_NOT_A_FEED_HINT}: the feed parser failed on it ({type(exc).__name__}) ({url})"
            ) from exc
        if (parsed.get("encoding") or "") != encoding:
            document = xmldoc.load(body, parsed.get("encoding") or None)
    return parsed, document


def _phantom(entry: Entry) -> bool:
    return not (
        entry.title
        or entry.link
        or entry.guid
        or entry.summary
        or entry.content
        or entry.enclosures
    )


def _from_element(entry: Entry, element: etree._Element, family: str, index: int) -> Entry:
    fields = xmldoc.html_fields(element, family)
    values: dict[str, str | None] = {"summary": None, "content": None}
    for name, child in fields.items():
        html = xmldoc.field_html(child, family)
        values[name] = html if html and html.strip() else None
    if "content" in fields and values["content"] is None and entry.content:
        values["content"] = entry.content  # a form only feedparser reads (base64…)
    return dataclasses.replace(
        entry,
        index=index,
        summary=values["summary"],
        content=values["content"],
        extensions=xmldoc.extensions(element, family),
    )


def _people(meta: Any) -> tuple[Person, ...]:
    return tuple(
        Person(name=_text(a.get("name")), email=_text(a.get("email")), uri=_text(a.get("href")))
        for a in meta.get("authors") or []
        if a.get("name") or a.get("email")
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


def _logged_date(raw: Any, key: str, context: str) -> datetime | None:
    when = _date(_raw(raw, key + "_parsed"))
    text = _raw(raw, key)
    if when is None and text and str(text).strip():
        logger.warning("parse feed_url=%s %s=%r unreadable; omitted", context, key, str(text)[:80])
    return when


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


def _entry(raw: Any, context: str = "-") -> Entry:
    contents = raw.get("content") or []
    # RSS content:encoded and Atom <content>; html/xhtml parts only, in document order.
    html_parts = [c for c in contents if "html" in (c.get("type") or "text/html")]
    content = "".join(c.get("value", "") for c in html_parts) or None
    summary_detail = raw.get("summary_detail") or {}
    summary = raw.get("summary")
    if summary and "html" not in (summary_detail.get("type") or "text/html"):
        summary = html_escape(summary, quote=False)
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
        published=_logged_date(raw, "published", context),
        updated=_logged_date(raw, "updated", context),
        authors=_people(raw),
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


# The Media RSS elements feedparser lists, each with the attributes it carries into Media
# (field: feedparser's key); a thumbnail has a size only.
_MEDIA_ATTRIBUTES: dict[str, dict[str, str]] = {
    "content": {
        "type": "type",
        "medium": "medium",
        "width": "width",
        "height": "height",
        "file_size": "filesize",
        "duration": "duration",
    },
    "thumbnail": {"width": "width", "height": "height"},
}


def _media(raw: Any) -> tuple[Media, ...]:
    """Media RSS: media:content, then media:thumbnail (media:group members included)."""
    found = [
        Media(
            url=item["url"].strip(),
            kind=kind,
            **{name: _text(item.get(key)) for name, key in attributes.items()},
        )
        for kind, attributes in _MEDIA_ATTRIBUTES.items()
        for item in raw.get(f"media_{kind}") or []
        if _text(item.get("url"))
    ]
    image = raw.get("image")
    if isinstance(image, dict) and _text(image.get("href")):
        # itunes:image of an episode: an image like media:thumbnail (the image mode applies).
        found.append(Media(url=image["href"].strip(), kind="thumbnail"))
    return tuple(found)


# --- JSON Feed ---------------------------------------------------------------------------


def is_json(result: FetchResult) -> bool:
    """JSON Feed by its media type (application/feed+json, application/json), or a body
    that is a JSON object when the type says nothing useful."""
    media_type = result.content_type.split(";")[0].strip().lower()
    if media_type in ("application/feed+json", "application/json"):
        return True
    if media_type in ("", "text/plain", "application/octet-stream"):
        return result.body.lstrip()[:1] == b"{"
    return False


def _json_date(value: Any, context: str) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    parsed = feedparser.datetimes._parse_date(value)
    when = _date(parsed)
    if when is None:
        logger.warning("parse feed_url=%s date=%r unreadable; omitted", context, value[:80])
    return when


def _json_people(value: Any, single: Any) -> tuple[Person, ...]:
    people = value if isinstance(value, list) else ([single] if isinstance(single, dict) else [])
    found = []
    for person in people:
        if not isinstance(person, dict):
            continue
        name, url = _text(person.get("name")), _text(person.get("url"))
        email = url.removeprefix("mailto:") if url and url.startswith("mailto:") else None
        if name or url:
            found.append(Person(name=name, email=email, uri=None if email else url))
    return tuple(found)


def parse_json(result: FetchResult) -> Feed:
    """JSON Feed 1.0/1.1 → Feed (kind "json"); 502 for JSON that is not a JSON Feed."""
    try:
        data = json.loads(result.body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise NotAFeed(
            f"{_NOT_A_FEED_HINT}: the JSON does not parse ({exc}) ({result.url})"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise NotAFeed(f"{_NOT_A_FEED_HINT}: JSON without a JSON Feed items list ({result.url})")
    version = str(data.get("version") or "")
    if not version.startswith("https://jsonfeed.org/version/"):
        raise NotAFeed(f"{_NOT_A_FEED_HINT}: JSON that is not a JSON Feed ({result.url})")
    context = result.url or "-"
    entries = []
    for index, item in enumerate(data["items"]):
        if not isinstance(item, dict):
            continue
        attachments = [a for a in item.get("attachments") or [] if isinstance(a, dict)]
        html = _text(item.get("content_html"))
        plain = _text(item.get("content_text"))
        image = _text(item.get("image"))
        entry = Entry(
            guid=_text(item.get("id")) if item.get("id") is not None else None,
            guid_is_permalink=False,
            title=_text(item.get("title")),
            link=_text(item.get("url")) or _text(item.get("external_url")),
            published=_json_date(item.get("date_published"), context),
            updated=_json_date(item.get("date_modified"), context),
            authors=_json_people(item.get("authors"), item.get("author")),
            categories=tuple(str(t) for t in item.get("tags") or [] if str(t).strip()),
            summary=html_escape(str(item["summary"]), quote=False)
            if _text(item.get("summary"))
            else None,
            content=html or (html_escape(plain, quote=False) if plain else None),
            enclosures=tuple(
                Enclosure(
                    url=str(a["url"]),
                    length=str(a["size_in_bytes"]) if a.get("size_in_bytes") else None,
                    type=_text(a.get("mime_type")),
                )
                for a in attachments
                if _text(a.get("url"))
            ),
            media=(Media(url=image, kind="thumbnail"),) if image else (),
            index=index,
        )
        if not _phantom(entry):
            entries.append(entry)
    icon = _text(data.get("icon")) or _text(data.get("favicon"))
    return Feed(
        kind="json",
        source_url=result.url,
        title=_text(data.get("title")),
        link=_text(data.get("home_page_url")),
        description=_text(data.get("description")),
        language=_text(data.get("language")),
        image=Image(url=icon) if icon else None,
        entries=tuple(entries),
        authors=_json_people(data.get("authors"), data.get("author")),
        encoding="utf-8",
    )

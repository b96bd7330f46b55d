"""Plain RSS 2.0 items read without feedparser's parser: part of the parse stage's fast path
(``xmlfeed``). Does no I/O.

Most items of real RSS feeds hold a handful of plain elements: title, link, guid, pubDate,
description, content:encoded, category, author, dc:creator, dc:date, comments, enclosure,
and extension elements feedparser has no rule for (wfw:commentRss, slash:comments, a
publisher's own namespace). Replaying those into feedparser costs ≈ 20 µs an element; this
module writes the entry feedparser would write, with feedparser's own helpers where its rules
are subtle (authors, tags, hrefs, URL joining, dates), and the text steps of its ``pop``
(strip, join against xml:base, the Latin-1/UTF-8 round trip, the cp1252 map) in the same
order. An item with anything else — another element, an attribute it does not expect, a
second title, link, guid or date, a namespace declared inside it, an xml:base — is
replayed into the parser as before. tests/test_parse_fast.py holds both ways equal.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

import feedparser.datetimes
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin
from feedparser.util import FeedParserDict
from lxml import etree

from proxy import xmldoc

_DC = "{" + xmldoc.DC + "}"
_MEDIA = "{http://search.yahoo.com/mrss/}"
_THUMBNAIL = _MEDIA + "thumbnail"
_MEDIA_TITLE = _MEDIA + "title"
_MEDIA_TAGS = frozenset({_MEDIA + "content", _THUMBNAIL})
# lxml tag → (what it is, the attributes it may carry); anything else is not plain.
_PLAIN: dict[str, tuple[str, frozenset[str]]] = {
    "title": ("title", frozenset()),
    "link": ("link", frozenset()),
    "guid": ("guid", frozenset({"isPermaLink"})),
    "pubDate": ("published", frozenset()),
    _DC + "date": ("updated", frozenset()),
    "description": ("description", frozenset()),
    "{" + xmldoc.CONTENT + "}encoded": ("content", frozenset()),
    "category": ("category", frozenset({"domain"})),
    "comments": ("comments", frozenset()),
    "author": ("author", frozenset()),
    _DC + "creator": ("author", frozenset()),
    "enclosure": ("enclosure", frozenset({"url", "length", "type"})),
}
# At most one of each in a plain item (feedparser's choice between two depends on depths
# and order: left to it).
_ONCE = frozenset({"title", "link", "guid", "published", "updated", "description", "content"})
_ONCE |= {"comments"}
# Keys feedparser's handlers or parse read from an entry: an extension element whose name
# feedparser would store under one of them is not inert.
_READ_KEYS = frozenset(
    {
        *("id", "guid", "guidislink", "title", "title_detail", "link", "links", "href"),
        *("published", "published_parsed", "updated", "updated_parsed", "date", "date_parsed"),
        *("modified", "modified_parsed", "issued", "issued_parsed", "created", "created_parsed"),
        *("author", "authors", "author_detail", "publisher", "publisher_detail", "contributors"),
        *("tags", "category", "content", "summary", "summary_detail", "description"),
        *("description_detail", "comments", "media_content", "media_thumbnail", "image"),
        *("enclosures", "source", "language"),
    }
)
_LINK_REFERENCE = re.compile("&([A-Za-z0-9_]+);")


class Plain:
    """Reads the document's plain top-level RSS items into ``parser`` as feedparser would."""

    def __init__(self, parser: Any, document: xmldoc.Document, body: bytes) -> None:
        self.parser = parser
        self.rss = document.family == "rss"
        channel = xmldoc.channel(document)
        self.nsmap = channel.nsmap
        # Namespaces declared only on the root and the channel (the usual case, checked once
        # by counting): then no element inside an item declares one.
        declared = len(self.nsmap) + sum(
            1 for p, u in document.root.nsmap.items() if self.nsmap.get(p) != u
        )
        self.declarations_inside = body.count(b"xmlns") != declared
        self._inert: dict[str, bool] = {}

    def read(self, item: etree._Element) -> bool:
        """Write ``item`` as feedparser's next entry; False (nothing written) when it is not
        plain, and the caller replays it."""
        parser = self.parser
        if not self.rss or parser.baseuri or parser.inentry or item.attrib:
            return False
        if self.declarations_inside and item.nsmap != self.nsmap:
            return False
        plan = self._plan(item)
        if plan is None:
            return False
        # What the item's start tag does to feedparser's state (unknown_starttag, _start_item),
        # the entry, then what its end tag does (_end_item).
        parser.inimage = 0
        parser.intextinput = 0
        entry = FeedParserDict()
        parser.entries.append(entry)
        parser.inentry = 1
        parser.guidislink = 0
        try:
            titled = self._write(entry, plan)
        finally:
            parser.inentry = 0
        parser.hasContent = 0
        parser.title_depth = parser.depth + 2 if titled else -1
        return True

    def _plan(self, item: etree._Element) -> list[tuple[str, etree._Element]] | None:
        plan = []
        seen = set()
        titled_media = False
        for child in item:
            tag = child.tag
            if not isinstance(tag, str):
                continue  # a comment: feedparser ignores it (its tail is the item's text)
            if self.declarations_inside and child.nsmap != self.nsmap:
                return None
            if tag in _MEDIA_TAGS:
                media = self._media_titles(child)
                if media is None:
                    return None
                titled_media = titled_media or media
                plan.append(("media", child))
                continue
            if len(child):
                return None
            known = _PLAIN.get(tag)
            if known is None:
                if child.attrib.get(_XML_BASE) is not None or not self._is_inert(tag):
                    return None
                continue
            kind, allowed = known
            if child.attrib and not allowed.issuperset(child.attrib.keys()):
                return None
            if kind in _ONCE:
                if kind in seen:
                    return None
                seen.add(kind)
            plan.append((kind, child))
        if titled_media and "title" not in seen:
            return None  # a media:title is the entry's title only without a title
        return plan

    def _media_titles(self, element: etree._Element) -> bool | None:
        """For a plain media:content (media:title and media:thumbnail inside) or
        media:thumbnail: whether it holds a media:title; None when it is not plain."""
        if any(k[0] == "{" for k in element.attrib):
            return None
        if element.tag == _THUMBNAIL:
            return None if len(element) else False
        titled = False
        for sub in element:
            if not isinstance(sub.tag, str):
                continue
            if len(sub) or self.declarations_inside and sub.nsmap != self.nsmap:
                return None
            if sub.tag == _MEDIA_TITLE and set(sub.attrib.keys()) <= {"type"}:
                titled = True
            elif sub.tag != _THUMBNAIL or any(k[0] == "{" for k in sub.attrib):
                return None
        return titled

    def _is_inert(self, tag: str) -> bool:
        """An extension element feedparser only stores under its own name."""
        found = self._inert.get(tag)
        if found is None:
            found = self._name_is_inert(tag)
            if not self.declarations_inside:  # else the names may change as it goes
                self._inert[tag] = found
        return found

    def _name_is_inert(self, tag: str) -> bool:
        if tag[0] != "{":
            return False  # a core element of no handler here: left to feedparser
        ns, _, local = tag[1:].partition("}")
        lowered = ns.lower()
        parser = self.parser
        # feedparser's naming (StrictFeedParser.startElementNS, then unknown_starttag).
        prefix = parser._matchnamespaces.get(lowered)
        if not prefix:
            # Expat mode: the first prefix tracked for the URI names it (none: a bare name).
            prefix = next((p for p, u in parser.namespaces_in_use.items() if p and u == ns), None)
        if not prefix or "backend.userland.com/rss" in lowered:
            return False
        prefix = parser.namespacemap.get(prefix, prefix)
        if not prefix:
            return False
        name = f"{prefix}_{local.lower()}"
        cls = type(parser)
        return not (
            hasattr(cls, "_start_" + name) or hasattr(cls, "_end_" + name) or name in _READ_KEYS
        )

    def _write(self, entry: Any, plan: list[tuple[str, etree._Element]]) -> bool:
        parser = self.parser
        titled = False
        for kind, element in plan:
            text = (element.text or "").strip()
            if kind == "title":
                entry["title"] = value = _fixed(text)
                titled = bool(value)
            elif kind == "link":
                entry.setdefault("links", []).append(
                    FeedParserDict(rel="alternate", type="text/html")
                )
                value = _fixed(_urljoin("", text) if text else text)
                value = _LINK_REFERENCE.sub(r"&\g<1>", value.replace("&amp;", "&"))
                entry["link"] = value
                if value:
                    entry["links"][-1]["href"] = value
            elif kind == "guid":
                permalink = element.get("isPermaLink", "true") == "true"
                value = _fixed(_urljoin("", text) if text and permalink else text)
                entry["id"] = value
                entry.setdefault("guidislink", permalink and "link" not in entry)
                if permalink:
                    entry.setdefault("link", value)
                parser.guidislink = permalink
            elif kind in ("published", "updated"):
                entry[kind] = value = _fixed(text)
                entry[kind + "_parsed"] = feedparser.datetimes._parse_date(value)
            elif kind in ("description", "content"):
                # The value is the tree's (parse._from_element): a stand-in, as in xmlfeed.
                value = "x" if text else ""
                params = FeedParserDict(type="text/html", language=parser.lang, base="")
                if kind == "content":
                    parser.hasContent = 1
                    entry.setdefault("content", []).append(FeedParserDict(params, value=value))
                    entry.setdefault("summary", value)
                else:
                    entry["summary"] = value
                    entry["summary_detail"] = FeedParserDict(params, value=value)
            elif kind == "category":
                _category(parser, entry, element, _fixed(text))
            elif kind == "comments":
                entry["comments"] = _fixed(_urljoin("", text) if text else text)
            elif kind == "author":
                entry.setdefault("authors", []).append(FeedParserDict())
                entry["author"] = _fixed(text)
                parser._sync_author_detail()
            elif kind == "enclosure":
                attrs = _FeedParserMixin._enforce_href(_attributes(element))
                attrs["rel"] = "enclosure"
                entry.setdefault("links", []).append(FeedParserDict(attrs))
            elif kind == "media":
                if element.tag == _THUMBNAIL:
                    _thumbnail(entry, element)
                    continue
                # _start_media_content; a media:title inside is not stored (the item has
                # a title: feedparser's title depth keeps it), thumbnails are.
                entry.setdefault("media_content", []).append(_attributes(element))
                for sub in element:
                    if sub.tag == _THUMBNAIL:
                        _thumbnail(entry, sub)
        return titled


def _attributes(element: etree._Element) -> dict[str, str]:
    """The attributes as feedparser's handlers get them (names lowercased, and the values
    of rel and type)."""
    found = {}
    for key, value in element.attrib.items():
        key = key.lower()
        found[key] = value.lower() if key in ("rel", "type") else value
    return found


def _thumbnail(entry: Any, element: etree._Element) -> None:
    # _start_media_thumbnail, _end_media_thumbnail: its text is a URL when it has no url=.
    thumbnails = entry.setdefault("media_thumbnail", [])
    thumbnails.append(_attributes(element))
    text = (element.text or "").strip()
    url = _fixed(_urljoin("", text) if text else text)
    if url.strip() and "url" not in thumbnails[-1]:
        thumbnails[-1]["url"] = url


def _category(parser: Any, entry: Any, element: etree._Element, value: str) -> None:
    # feedparser's _start_category, then _end_category (their logic, on a popped value).
    domain = element.get("domain")
    parser._add_tag(None, domain, None)
    if not value:
        return
    tags = entry["tags"]
    if len(tags) and not tags[-1]["term"]:
        tags[-1]["term"] = value
    else:
        parser._add_tag(value, None, None)


def _fixed(text: str) -> str:
    """feedparser pop's last text steps: text that is UTF-8 read as Latin-1 is read again,
    then cp1252's C1 characters become the characters cp1252 means."""
    if text.isascii():
        return text
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return text.translate(_cp1252)


_XML_BASE = "{" + xmldoc.XML_NS + "}base"

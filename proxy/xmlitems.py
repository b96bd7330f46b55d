"""Plain RSS 2.0 items and Atom entries read without feedparser's parser: part of the parse
stage's fast path (``xmlfeed``). Does no I/O.

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
_ATOM = "{" + xmldoc.ATOM + "}"
_ATOM_PLAIN: dict[str, tuple[str, frozenset[str]]] = {
    _ATOM + "title": ("title", frozenset({"type"})),
    _ATOM + "id": ("atom_id", frozenset()),
    _ATOM + "link": (
        "atom_link",
        frozenset({"rel", "type", "href", "title", "hreflang", "length"}),
    ),
    _ATOM + "published": ("published", frozenset()),
    _ATOM + "updated": ("updated", frozenset()),
    _ATOM + "author": ("atom_author", frozenset()),
    _ATOM + "category": ("atom_category", frozenset({"term", "scheme", "label"})),
    _ATOM + "summary": ("summary", frozenset({"type"})),
    _ATOM + "content": ("atom_content", frozenset({"type"})),
}
# Atom text constructs read as text or escaped HTML (xhtml has elements; other types are
# base64 to feedparser).
_ATOM_TYPES = frozenset({"text", "html"})
_AUTHOR_PARTS = {_ATOM + "name": "name", _ATOM + "email": "email", _ATOM + "uri": "href"}
# At most one of each in a plain item (feedparser's choice between two depends on depths
# and order: left to it).
_ONCE = frozenset({"title", "link", "guid", "published", "updated", "description", "content"})
_ONCE |= {"comments", "atom_id", "summary", "atom_content"}
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
    """Reads the document's plain top-level items into ``parser`` as feedparser would."""

    def __init__(self, parser: Any, document: xmldoc.Document, utf8: bytes) -> None:
        self.parser = parser
        self.table = {"rss": _PLAIN, "atom": _ATOM_PLAIN}.get(document.family)
        channel = xmldoc.channel(document)
        self.nsmap = channel.nsmap
        # Namespaces declared only on the root and the channel (the usual case, checked once
        # by counting in the UTF-8 text, whatever the body's charset): then no element inside
        # an item declares one, and feedparser's namespace state cannot change in one.
        declared = len(self.nsmap) + sum(
            1 for p, u in document.root.nsmap.items() if self.nsmap.get(p) != u
        )
        self.declarations_inside = utf8.count(b"xmlns") != declared
        self._inert: dict[str, bool] = {}

    def read(self, item: etree._Element) -> bool:
        """Write ``item`` as feedparser's next entry; False (nothing written) when it is not
        plain, and the caller replays it."""
        parser = self.parser
        if self.table is None or parser.baseuri or parser.inentry or item.attrib:
            return False
        if parser.inpublisher or parser.incontributor or parser.inauthor:
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
            known = self.table.get(tag)  # type: ignore[union-attr]
            if len(child) and not (known and known[0] == "atom_author"):
                return None
            if known is None:
                if child.attrib.get(_XML_BASE) is not None or not self._is_inert(tag):
                    return None
                continue
            kind, allowed = known
            if child.attrib and not allowed.issuperset(child.attrib.keys()):
                return None
            if "type" in allowed and tag[:1] == "{" and not _atom_text(child):
                return None
            if kind == "atom_link" and child.get("href") is None:
                return None  # a link without href takes its text: left to feedparser
            if kind == "atom_author" and not self._plain_author(child):
                return None
            if kind in _ONCE:
                if kind in seen:
                    return None
                seen.add(kind)
            plan.append((kind, child))
        if titled_media and "title" not in seen:
            return None  # a media:title is the entry's title only without a title
        return plan

    def _plain_author(self, element: etree._Element) -> bool:
        """An Atom author of name, email and uri (text only), and no text of its own."""
        if (element.text or "").strip():
            return False
        for sub in element:
            if not isinstance(sub.tag, str):
                if (sub.tail or "").strip():
                    return False
                continue
            if sub.tag not in _AUTHOR_PARTS or len(sub) or sub.attrib or (sub.tail or "").strip():
                return False
            if self.declarations_inside and sub.nsmap != self.nsmap:
                return False
        return True

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
                _category(parser, entry, None, element.get("domain"), None, _fixed(text))
            elif kind == "atom_category":
                term, scheme, label = (element.get(a) for a in ("term", "scheme", "label"))
                _category(parser, entry, term, scheme, label, _fixed(text))
            elif kind == "atom_id":
                # _start_id is _start_guid: an Atom id is "a permalink" to feedparser.
                entry["id"] = value = _fixed(_urljoin("", text) if text else text)
                entry.setdefault("guidislink", "link" not in entry)
                entry.setdefault("link", value)
                parser.guidislink = True
            elif kind == "atom_link":
                parser._start_link(_attributes(element))  # href given: nothing pushed
            elif kind == "atom_author":
                _atom_author(parser, entry, element)
            elif kind in ("summary", "atom_content"):
                value = "x" if text else ""  # the tree's, as for RSS
                kind_of = parser.map_content_type((element.get("type") or "text").lower())
                params = FeedParserDict(type=kind_of, language=parser.lang, base="")
                if kind == "atom_content":
                    parser.hasContent = 1
                    entry.setdefault("content", []).append(FeedParserDict(params, value=value))
                    entry.setdefault("summary", value)  # text/plain and HTML are copied
                else:
                    entry["summary"] = value
                    entry["summary_detail"] = FeedParserDict(params, value=value)
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


def _atom_author(parser: Any, entry: Any, element: etree._Element) -> None:
    # _start_author, _end_name/_end_email (pushed without expecting text: stripped only),
    # _end_url (a URI: joined and fixed), then _end_author (its own text, blank).
    entry.setdefault("authors", []).append(FeedParserDict())
    parser.inauthor = 1
    try:
        for sub in element:
            if not isinstance(sub.tag, str):
                continue
            key = _AUTHOR_PARTS[sub.tag]
            text = (sub.text or "").strip()
            if key == "href":
                text = _fixed(_urljoin("", text) if text else text)
            parser._save_author(key, text)
    finally:
        parser.inauthor = 0
    entry["author"] = ""
    parser._sync_author_detail()


def _atom_text(element: etree._Element) -> bool:
    kind = element.get("type")
    return kind is None or kind.lower() in _ATOM_TYPES


def _category(
    parser: Any, entry: Any, term: str | None, scheme: str | None, label: str | None, value: str
) -> None:
    # feedparser's _start_category, then _end_category (their logic, on a popped value).
    parser._add_tag(term, scheme, label)
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

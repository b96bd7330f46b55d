"""The parse stage's fast path for XML feeds: feedparser's model read from the lxml tree,
without feedparser's own parse. Part of the parse stage; does no I/O.

feedparser.parse spends most of its time outside its model: expat callbacks through
``xml.sax``, and a ``str.translate`` (and a Latin-1 round trip) over every element's text,
the big item HTML fields included (issue 15: ≈ 430–490 µs per item, half of it that
translate on CJK text). Yet the item HTML fields are taken from the lxml tree anyway
(``parse._from_element``), and the tree is loaded regardless. So this module replays the
tree, as the SAX events expat would have sent, into feedparser's own parser object
(``StrictFeedParser``: its namespace mapping, date handlers, author, category, link and
guid rules, run unchanged), with one difference: the text of an item HTML field that holds
no elements (the usual escaped or CDATA HTML) is replaced by a one-character stand-in
(empty stays empty), since parse replaces it with the tree's own text.

Identical results by construction, for documents where expat and libxml2 agree. Declines
(returns None: the caller runs feedparser.parse) whenever that is not certain: a document
lxml had to repair, a DOCTYPE or internal DTD (feedparser rewrites entity declarations),
no encoding, or any error while replaying. The differential test (tests/test_parse_fast.py)
holds every feed in tests/data and hostile inputs to field-by-field equality.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
from typing import Any
from xml.sax.xmlreader import AttributesNSImpl

import feedparser.api
import feedparser.encodings
from feedparser.util import FeedParserDict
from lxml import etree

from proxy import xmldoc, xmlitems

logger = logging.getLogger(__name__)

# Benchmarks and the differential test turn the fast path off to compare (never settings:
# the result is the same either way, only the cost differs).
ENABLED = os.environ.get("FEEDSCRUB_BENCH_FEEDPARSER_ONLY", "") != "1"

_STAND_IN = "x"
_XML_NS = xmldoc.XML_NS


def sniff(headers: dict[str, str], body: bytes) -> tuple[str, Any, bytes | None]:
    """The encoding feedparser would read ``body`` with (HTTP header, XML declaration,
    BOM, fallbacks: its own ``convert_to_utf8``), the bozo exception that step sets, and
    the text as UTF-8 (None when no encoding worked)."""
    result: dict[str, Any] = {}
    data = as_utf8_converts(dict(headers), body, result) if ENABLED else None
    if data is None:
        result = {}
        data = feedparser.encodings.convert_to_utf8(dict(headers), body, result)
    encoding = str(result.get("encoding") or "")
    return encoding, result.get("bozo_exception"), data if encoding else None


_NEW_DECLARATION = b"<?xml version='1.0' encoding='utf-8'?>"
# feedparser's RE_XML_DECLARATION, over bytes (it finds the same span: no byte of a UTF-8
# sequence for a character outside ASCII is ">").
_XML_DECLARATION = re.compile(feedparser.encodings.RE_XML_DECLARATION.pattern.encode())
# What makes feedparser decode with a BOM's or marker's encoding first: its own way, then.
_MARKED = (
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF16_BE,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF8,
    feedparser.encodings.EBCDIC_MARKER,
    feedparser.encodings.UTF16BE_MARKER,
    feedparser.encodings.UTF16LE_MARKER,
    feedparser.encodings.UTF32BE_MARKER,
    feedparser.encodings.UTF32LE_MARKER,
)


def as_utf8_converts(headers: dict[str, str], body: bytes, result: dict[str, Any]) -> bytes | None:
    """feedparser's ``convert_to_utf8(headers, body, result)`` for a body without BOM that
    it reads as UTF-8 (the usual feed), None for any other (the caller asks feedparser).

    feedparser decodes the whole body, puts its own XML declaration in and encodes it all
    again (issue 15: ~80k instructions per item of a 500-item feed); a body that decodes as
    UTF-8 encodes back to itself, so here the declaration is put in the bytes. The choice of
    encoding is feedparser 6.0's, step by step (tests/test_parse_fast.py holds the two
    equal over tests/data and generated bodies and headers).
    """
    if body.startswith(_MARKED):
        return None
    match = feedparser.encodings.RE_XML_PI_ENCODING.match(body)
    try:
        xml_encoding = match.groups()[0].decode("utf-8").lower() if match else ""
    except UnicodeDecodeError:
        return None  # (feedparser raises it: let it)
    content_type, http_encoding = feedparser.encodings.parse_content_type(
        headers.get("content-type") or ""
    )
    acceptable = True
    if content_type in _APPLICATION_TYPES or (
        content_type.startswith("application/") and content_type.endswith("+xml")
    ):
        encoding = http_encoding or xml_encoding or "utf-8"
    elif content_type in _TEXT_TYPES or (
        content_type.startswith("text/") and content_type.endswith("+xml")
    ):
        encoding = http_encoding or "us-ascii"
    elif content_type.startswith("text/"):
        acceptable = False
        encoding = http_encoding or "us-ascii"
    elif headers and "content-type" not in headers:
        acceptable = False
        encoding = xml_encoding or "iso-8859-1"
    else:
        acceptable = False
        encoding = xml_encoding or "utf-8"
    try:
        if not encoding or codecs.lookup(encoding).name != "utf-8":
            return None  # (gb2312, which feedparser swaps for gb18030, is not UTF-8 either)
        body.decode(encoding)  # feedparser's first try, which must work
    except (UnicodeDecodeError, LookupError):
        return None
    result["encoding"] = encoding
    if headers and not acceptable:
        result["bozo"] = True
        if "content-type" in headers:
            message = f"{headers['content-type']} is not an XML media type"
        else:
            message = "no Content-type specified"
        result["bozo_exception"] = feedparser.encodings.NonXMLContentType(message)
    declaration = _XML_DECLARATION.match(body)
    if declaration is None:
        return _NEW_DECLARATION + b"\n" + body
    return _NEW_DECLARATION + body[declaration.end() :]


_APPLICATION_TYPES = (
    "application/xml",
    "application/xml-dtd",
    "application/xml-external-parsed-entity",
)
_TEXT_TYPES = ("text/xml", "text/xml-external-parsed-entity")


def read(
    document: xmldoc.Document, encoding: str, problem: Any = None, utf8: bytes | None = None
) -> Any | None:
    """feedparser's result (a FeedParserDict with feed, entries, version, encoding) for
    the document, or None when the fast path declines. With the document's text as UTF-8
    (``sniff``), plain items are read without the parser (``xmlitems``)."""
    if not ENABLED:
        return None
    reason = _unsure(document, encoding)
    if reason is None:
        try:
            parser = _parser()
            plain = xmlitems.Plain(parser, document, utf8) if utf8 is not None else None
            _replay(parser, document.root, {}, _Walk(document, plain))
        except Exception as exc:  # a handler feedparser would also have failed in
            reason = f"replay failed ({type(exc).__name__})"
    if reason is not None:
        logger.debug("parse fast path declined: %s", reason)
        return None
    result = FeedParserDict(
        bozo=problem is not None,
        entries=parser.entries,
        feed=parser.feeddata,
        headers={},
        encoding=encoding,
        version=parser.version,
        namespaces=parser.namespaces_in_use,
    )
    if problem is not None:
        result["bozo_exception"] = problem
    if len(result["entries"]) != len(document.items):
        # Items nested in items: parse lines them up with feedparser's own values.
        logger.debug("parse fast path declined: nested items")
        return None
    return result


def _unsure(document: xmldoc.Document, encoding: str) -> str | None:
    if not encoding:
        return "no encoding"
    if not document.strict:
        return "not well-formed (lxml repaired it; feedparser's loose parser differs)"
    info = document.root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        return "DOCTYPE (feedparser rewrites its entity declarations)"
    return None


class _Params(FeedParserDict):  # type: ignore[misc]
    """Content parameters (type, language, base, base64, src: strings and ints) that copy
    themselves shallowly: feedparser deep-copies them into every title and HTML field
    (``copy.deepcopy``, a fifth of its time here), and a shallow copy of immutable values is
    the same value."""

    def __deepcopy__(self, memo: dict[int, Any]) -> FeedParserDict:
        return FeedParserDict(self)


class _Parser(feedparser.api.StrictFeedParser):  # type: ignore[misc]
    contentparams: Any

    def push_content(self, *args: Any) -> None:
        super().push_content(*args)
        self.contentparams = _Params(self.contentparams)


def _parser() -> Any:
    parser = _Parser("", None, "utf-8")
    parser.resolve_relative_uris = False
    parser.sanitize_html = False
    return parser


# feedparser fills its class-wide namespace table in the first parser's __init__: done here,
# at import, so builds in two threads never read it half filled.
_parser()


class _Walk:
    """What the replay needs besides the parser: the top-level items, the item HTML fields
    replayed with a stand-in text (found item by item, as each is replayed), and the plain
    item reader (None: every item is replayed)."""

    def __init__(self, document: xmldoc.Document, plain: xmlitems.Plain | None) -> None:
        self.family = document.family
        self.items = frozenset(document.items)
        self.plain = plain
        self.skip: set[etree._Element] = set()

    def stand_ins(self, item: etree._Element) -> None:
        """The item's HTML fields whose text parse takes from the tree: text only (an
        element inside changes feedparser's state, so those are replayed whole)."""
        atom = self.family == "atom"
        for element in xmldoc.html_fields(item, self.family).values():
            if len(element) or atom and not _tree_html(element):
                continue
            self.skip.add(element)


def _tree_html(element: etree._Element) -> bool:
    """True when parse takes this Atom field from the tree (``xmldoc.field_html`` reads
    it); otherwise (``src``, a type it does not read, base64) feedparser's value is used."""
    kind = (element.get("type") or "text").lower()
    return element.get("src") is None and element.get("mode") is None and kind in _TREE_TYPES


_TREE_TYPES = frozenset({"html", "text/html", "text", "text/plain"})


def _replay(
    parser: Any,
    element: etree._Element,
    outer: dict[str | None, str],
    walk: _Walk,
) -> None:
    """One element as expat reports it through xml.sax with namespaces on: prefix
    mappings it declares, start (name, attributes with their qualified names), text,
    children, tails, end. Comments and processing instructions: feedparser ignores them."""
    nsmap = element.nsmap
    if nsmap != outer:
        for prefix, uri in nsmap.items():
            if outer.get(prefix) != uri:
                parser.startPrefixMapping(prefix, uri)
    tag = element.tag
    if tag[0] == "{":
        ns, _, local = tag[1:].partition("}")
        name: tuple[str | None, str] = (ns, local)
    else:
        name = (None, tag)
    values: dict[tuple[str | None, str], str] = {}
    qnames: dict[tuple[str | None, str], str] = {}
    for key, value in element.attrib.items():
        if key[0] == "{":
            ns, _, local = key[1:].partition("}")
            prefix = "xml" if ns == _XML_NS else _prefix(nsmap, ns)
            pair: tuple[str | None, str] = (ns, local)
            qnames[pair] = f"{prefix}:{local}"
        else:
            pair = (None, key)
            qnames[pair] = key
        values[pair] = value
    parser.startElementNS(name, None, AttributesNSImpl(values, qnames))
    if element in walk.skip:
        text = element.text
        if text and text.strip():
            parser.characters(_STAND_IN)
    else:
        if element.text:
            parser.characters(element.text)
        for child in element:
            if child in walk.items:
                plain = walk.plain
                if plain is None or not plain.read(child):
                    walk.stand_ins(child)
                    _replay(parser, child, nsmap, walk)
            elif isinstance(child.tag, str):
                _replay(parser, child, nsmap, walk)
            if child.tail:
                parser.characters(child.tail)
    parser.endElementNS(name, None)


def _prefix(nsmap: dict[str | None, str], uri: str) -> str:
    found = [p for p, u in nsmap.items() if u == uri and p]
    if len(found) != 1:
        # Expat names the prefix written; the tree does not keep it when two map to one URI.
        raise _Ambiguous(uri)
    return found[0]


class _Ambiguous(Exception):
    """An attribute's prefix cannot be recovered from the tree."""

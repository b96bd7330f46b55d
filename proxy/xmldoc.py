"""The upstream XML document as an lxml tree: decoding, strict-then-recovering parse, the
top-level items, the elements an item's HTML fields and extensions are in. Shared by the
parse stage (which reads fields from it) and the output stage (which edits it in place).
Does no I/O.

The bytes are decoded with the charset feedparser settled on (HTTP header, XML declaration,
BOM, fallbacks), re-encoded as UTF-8 and parsed without the declaration, so lxml and
feedparser read the same characters, and a GB2312 or undeclared Latin-1 body comes out as
UTF-8 text (parse passes feedparser's own UTF-8 conversion, which saves doing it twice;
else as_utf8 decodes a megabyte at a time, so no one call holds the GIL for the whole body).
The tree parse loaded is handed to the output stage's in-place edit (``hand_over``/``take``)
so a build loads it once.
"""

from __future__ import annotations

import codecs
import html
import html.entities
import re
import threading
from dataclasses import dataclass

from lxml import etree

from proxy.bounded import BoundedMap

ATOM = "http://www.w3.org/2005/Atom"
RSS1 = "http://purl.org/rss/1.0/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
DC = "http://purl.org/dc/elements/1.1/"
XML_NS = "http://www.w3.org/XML/1998/namespace"
# Namespaces an RSS 2.0 document's core elements may carry (UserLand's default namespace).
RSS2_NAMESPACES = frozenset(
    {"", "http://backend.userland.com/rss2", "http://backend.userland.com/rss"}
)

_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Bounded like the server's body limit; entities are never expanded (billion laughs).
_STRICT = etree.XMLParser(resolve_entities=False, huge_tree=True, no_network=True)
_RECOVER = etree.XMLParser(resolve_entities=False, huge_tree=True, no_network=True, recover=True)


@dataclass(frozen=True, slots=True)
class Document:
    root: etree._Element
    family: str  # "rss" (RSS 0.9x/2.0), "rdf" (RSS 1.0) or "atom"
    strict: bool  # False: the upstream was not well-formed and lxml repaired it
    items: tuple[etree._Element, ...]  # top-level items in document order


# A bare "&" and HTML-only entities (&uuml;, &nbsp;) are the usual reasons a real feed is not
# well-formed (corpus malformed-*): written as XML they parse strictly and nothing is lost.
_BAD_AMPERSAND = re.compile(
    r"&(?!(?:[A-Za-z][A-Za-z0-9]{0,31}|#[0-9]{1,8}|#[xX][0-9A-Fa-f]{1,8});)"
)
_NAMED = re.compile(r"&([A-Za-z][A-Za-z0-9]{0,31});")
_XML_ENTITIES = frozenset({"amp", "lt", "gt", "quot", "apos"})


def _named(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _XML_ENTITIES:
        return match.group(0)
    code = html.entities.name2codepoint.get(name)
    return f"&#{code};" if code is not None else "&amp;" + name + ";"


def repair(text: str) -> str:
    """Escape bare ampersands and turn HTML entities into character references."""
    return _NAMED.sub(_named, _BAD_AMPERSAND.sub("&amp;", text))


# From the tag string ("{ns}local" or "local"), as etree.QName would give them: a QName per
# call cost a tenth of parse's own per-item time.
def local(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag[tag.index("}") + 1 :] if tag[:1] == "{" else tag


def namespace(element: etree._Element) -> str:
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag[1 : tag.index("}")] if tag[:1] == "{" else ""


# Bytes decoded at a time: one decode of a whole 16 MB body holds the GIL for ~60 ms, and
# the event loop waits that long (issue 15.5); a megabyte takes ~4 ms.
CHUNK = 1024 * 1024


def as_utf8(body: bytes, encoding: str | None) -> bytes | memoryview:
    """The body as UTF-8 without its BOM and XML declaration: exactly
    ``_DECLARATION.sub("", body.decode(encoding).lstrip("\ufeff"), count=1).encode()``, a body
    that does not decode read as UTF-8 with replacement characters, worked through in pieces
    of ``CHUNK`` bytes so no single call holds the GIL for the whole document. Valid UTF-8
    is only checked, not copied: what follows the declaration is a view of the body (lxml
    parses a memoryview as it does bytes; a 130 MB body was copied here before)."""
    try:
        return _recoded(body, encoding or "utf-8", "strict")
    except (LookupError, UnicodeDecodeError):
        return _recoded(body, "utf-8", "replace")


def _recoded(body: bytes, encoding: str, errors: str) -> bytes | memoryview:
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    size = len(body)
    head = decoder.decode(body[:CHUNK], final=size <= CHUNK)
    if size > CHUNK and ">" not in head:
        # The declaration might run past the first piece (never in a real feed): whole.
        text = body.decode(encoding, errors)
        return _DECLARATION.sub("", text.lstrip("\ufeff"), count=1).encode("utf-8")
    # `[^>]*` stops at the first ">", which is in the head: the cut is the head's alone.
    kept = _DECLARATION.sub("", head.lstrip("\ufeff"), count=1)
    rest = range(CHUNK, size, CHUNK)
    if errors == "strict" and codecs.lookup(encoding).name == "utf-8":
        for start in rest:
            decoder.decode(body[start : start + CHUNK], final=start + CHUNK >= size)
        cut = len(head.encode("utf-8")) - len(kept.encode("utf-8"))
        return memoryview(body)[cut:] if cut else body
    pieces = [kept.encode("utf-8")]
    for start in rest:
        text = decoder.decode(body[start : start + CHUNK], final=start + CHUNK >= size)
        pieces.append(text.encode("utf-8"))
    return b"".join(pieces)


def load(body: bytes, encoding: str | None, converted: bytes | None = None) -> Document | None:
    """The document's tree, or None when it is not RSS/Atom XML lxml can read.

    converted: the same text as UTF-8 with its declaration saying so (feedparser's
    ``convert_to_utf8`` output for this encoding), tried first: it saves decoding and
    encoding the body again."""
    if converted is not None:
        try:
            return _document(etree.fromstring(converted, _STRICT), strict=True)
        except etree.XMLSyntaxError:
            pass  # two declarations, or not well-formed: the usual way below
    data = as_utf8(body, encoding)
    strict = True
    try:
        root = etree.fromstring(data, _STRICT)
    except etree.XMLSyntaxError:
        strict = False
        try:
            root = etree.fromstring(repair(str(data, "utf-8")).encode("utf-8"), _STRICT)
        except etree.XMLSyntaxError:
            try:
                # Last resort: libxml2's recovery may drop what it cannot place.
                root = etree.fromstring(data, _RECOVER)
            except etree.XMLSyntaxError:
                return None
    return _document(root, strict)


def _document(root: etree._Element | None, strict: bool) -> Document | None:
    if root is None:
        return None
    name, ns = local(root), namespace(root)
    if name == "feed" and ns == ATOM:
        family, items = "atom", [c for c in root if local(c) == "entry" and namespace(c) == ATOM]
    elif name == "RDF":
        family = "rdf"
        items = [c for c in root if local(c) == "item"]
    elif name == "rss":
        family = "rss"
        channel = next((c for c in root if local(c) == "channel"), None)
        items = [c for c in (channel if channel is not None else []) if local(c) == "item"]
        # RSS 0.9x allowed items beside the channel.
        items += [c for c in root if local(c) == "item"]
    else:
        return None
    return Document(root=root, family=family, strict=strict, items=tuple(items))


# The tree parse read, left for the output stage's in-place edit of the same body (loading
# it costs ≈ 50–100 µs per item; parse only reads it). Taken once: the editor mutates the
# tree it gets, so a second edit of the same body loads its own. Keyed by the body object
# itself (identity, never contents: no hashing of megabytes); few and short-lived, since
# a tree weighs several times its body.
_HANDED_OVER: BoundedMap[int, tuple[bytes, str | None, Document]] = BoundedMap(2, 60.0)
_HANDED_OVER_LOCK = threading.Lock()
# A big document's tree is not kept: it would live through the clean stage's peak, when
# every item's HTML tree is alive too (a tree weighs several times its body), and loading
# it again costs the output stage a fraction of what cleaning the same items costs
# (bench/run.py 5, 20,000 items: peak RSS 1,363 -> 1,200 MB, build time within noise).
HAND_OVER_MAX_BYTES = 8 * 1024 * 1024


def hand_over(body: bytes, encoding: str | None, document: Document) -> None:
    """Keep ``document`` (loaded from ``body`` with ``encoding``, unmodified) for one
    ``take``."""
    if len(body) > HAND_OVER_MAX_BYTES:
        return
    with _HANDED_OVER_LOCK:
        _HANDED_OVER.set(id(body), (body, encoding, document))


def take(body: bytes, encoding: str | None) -> Document | None:
    """The tree ``hand_over`` kept for this very body object (now the caller's to edit),
    else a freshly loaded one."""
    with _HANDED_OVER_LOCK:
        kept = _HANDED_OVER.pop(id(body))
    if kept is not None and kept[0] is body and kept[1] == encoding:
        return kept[2]
    return load(body, encoding)


def peek(body: bytes) -> Document | None:
    """The tree ``hand_over`` keeps for this very body object, left in place (None: none)."""
    with _HANDED_OVER_LOCK:
        kept = _HANDED_OVER.get(id(body))
    return kept[2] if kept is not None and kept[0] is body else None


def channel(document: Document) -> etree._Element:
    """The element holding feed-level metadata (the channel, or the Atom feed)."""
    if document.family == "atom":
        return document.root
    found = next((c for c in document.root if local(c) == "channel"), None)
    return found if found is not None else document.root


def is_core(element: etree._Element, family: str) -> bool:
    """True for the format's own elements (not an extension namespace)."""
    ns = namespace(element)
    if family == "atom":
        return ns == ATOM
    if family == "rdf":
        return ns in (RSS1, RDF)
    return ns in RSS2_NAMESPACES


def inner_xml(element: etree._Element) -> str:
    """An element's children and text as markup (Atom type="xhtml" content, minus its div)."""
    parts = [element.text or ""]
    for child in element:
        parts.append(etree.tostring(child, encoding="unicode", with_tail=True))
    return "".join(parts)


def xhtml_div(element: etree._Element) -> etree._Element | None:
    return next((c for c in element if local(c) == "div"), None)


# Extension elements the conversion writes itself from the model (the rest is carried).
_MAPPED = frozenset(
    {
        (CONTENT, "encoded"),
        (DC, "date"),
        (DC, "creator"),
        (DC, "subject"),
    }
)


def extensions(parent: etree._Element, family: str, *, feed_level: bool = False) -> tuple[str, ...]:
    """parent's extension elements as markup, for conversions to carry (feed_level: the
    channel's, less the Atom links ours replace)."""
    found = []
    for child in parent:
        if not isinstance(child.tag, str) or is_core(child, family):
            continue
        if (namespace(child), local(child)) in _MAPPED:
            continue
        if feed_level and namespace(child) == ATOM:
            continue  # atom:link rel=self/hub in RSS: ours replace them
        found.append(etree.tostring(child, encoding="unicode", with_tail=False))
    return tuple(found)


def html_fields(element: etree._Element, family: str) -> dict[str, etree._Element]:
    """The item's HTML elements by Entry field: "summary" and "content"."""
    fields: dict[str, etree._Element] = {}
    for child in element:
        name, ns = local(child), namespace(child)
        if family == "atom" and ns == ATOM and name in ("summary", "content"):
            fields.setdefault(name, child)
        elif family != "atom" and name == "description" and is_core(child, family):
            fields.setdefault("summary", child)
        elif ns == CONTENT and name == "encoded":
            fields.setdefault("content", child)
    return fields


def field_html(element: etree._Element, family: str) -> str | None:
    """The HTML an item field holds (None: not HTML, e.g. an out-of-line Atom content)."""
    if family != "atom":
        return element.text or ""
    kind = (element.get("type") or "text").lower()
    if element.get("src") is not None:
        return None
    if kind == "xhtml":
        div = xhtml_div(element)
        return inner_xml(div if div is not None else element)
    if kind in ("html", "text/html"):
        return element.text or ""
    if kind in ("text", "text/plain"):
        return html.escape(element.text or "", quote=False)  # plain text as HTML
    return None

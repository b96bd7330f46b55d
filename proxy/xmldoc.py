"""The upstream XML document as an lxml tree: decoding, strict-then-recovering parse, the
top-level items. Shared by the parse stage (which reads fields from it) and the output stage
(which edits it in place). Does no I/O.

The bytes are decoded with the charset feedparser settled on (HTTP header, XML declaration,
BOM, fallbacks), re-encoded as UTF-8 and parsed without the declaration, so lxml and
feedparser read the same characters, and a GB2312 or undeclared Latin-1 body comes out as
UTF-8 text.
"""

from __future__ import annotations

import html.entities
import re
from dataclasses import dataclass

from lxml import etree

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


def local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def namespace(element: etree._Element) -> str:
    return (etree.QName(element).namespace or "") if isinstance(element.tag, str) else ""


def load(body: bytes, encoding: str | None) -> Document | None:
    """The document's tree, or None when it is not RSS/Atom XML lxml can read."""
    try:
        text = body.decode(encoding or "utf-8")
    except (LookupError, UnicodeDecodeError):
        text = body.decode("utf-8", errors="replace")
    data = _DECLARATION.sub("", text.lstrip("\ufeff"), count=1).encode("utf-8")
    strict = True
    try:
        root = etree.fromstring(data, _STRICT)
    except etree.XMLSyntaxError:
        strict = False
        try:
            root = etree.fromstring(repair(data.decode("utf-8")).encode("utf-8"), _STRICT)
        except etree.XMLSyntaxError:
            try:
                # Last resort: libxml2's recovery may drop what it cannot place.
                root = etree.fromstring(data, _RECOVER)
            except etree.XMLSyntaxError:
                return None
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

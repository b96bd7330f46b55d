"""One item's HTML as a tree and back: parse once, serialise once. Part of the clean stage."""

from __future__ import annotations

import html as html_lib
import logging
import re
import threading

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import html_parser
from proxy.sanitize import drop_non_xml_chars

logger = logging.getLogger("proxy.clean")

# lxml parsers must not be shared between threads, and the pipeline may clean in a pool.
_parsers = threading.local()


def _parser() -> etree.HTMLParser:
    parser = getattr(_parsers, "parser", None)
    if parser is None:
        # Comments go at parse time (MS Word conditional comments, <!--more-->); libxml2's
        # default limits stay on (no huge_tree): nesting deeper than 256 is cut off there.
        parser = html_parser(remove_comments=True, remove_pis=True, no_network=True)
        _parsers.parser = parser
    return parser


def parse_fragment(html: str) -> HtmlElement:
    """Parse an item's HTML into a container <div> holding the fragment. Never raises.

    Parameters:
        html: the item HTML as text (a fragment, or a whole document whose body is used).

    Returns the container; empty for empty or unparseable input. Characters XML cannot
    carry (C0 controls, lone surrogates) are dropped first: the output must become XML,
    and lxml refuses them when a rule edits text. Content past libxml2's limits (nesting
    deeper than 256, a text node over 10 MB) is cut off and logged.
    """
    return parse_source(drop_non_xml_chars(html))


def parse_source(source: str) -> HtmlElement:
    """parse_fragment for text already through drop_non_xml_chars."""
    parser = _parser()
    try:
        # Open <html><body> ourselves so that everything, including a leading <title>,
        # <meta> or <style>, lands in the body instead of an implied <head>.
        document = etree.fromstring("<html><body>" + source, parser)
    except (etree.LxmlError, ValueError, TypeError) as exc:
        logger.warning("clean: unparseable item HTML, using an empty item: %r", exc)
        return parser.makeelement("div")
    limits = [e.message for e in parser.error_log if e.type_name == "ERR_RESOURCE_LIMIT"]
    if limits:
        logger.warning("clean: item HTML hit a parser limit, rest dropped: %s", limits[0])
    container: HtmlElement = parser.makeelement("div")
    body = document.find("body") if document is not None else None
    if body is not None:
        container.text = body.text
        container.extend(list(body))  # moves the children, tails included
    if XHTML_NAMESPACE in source:
        _unprefix_xhtml(container, source)
    return container


XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"
# xmlns:<prefix>="http://www.w3.org/1999/xhtml" (a name, then the namespace: linear).
_XHTML_PREFIX = re.compile(
    r"""xmlns:([A-Za-z_][\w.-]{0,40})\s*=\s*["']http://www\.w3\.org/1999/xhtml["']"""
)


def _unprefix_xhtml(container: HtmlElement, source: str) -> None:
    """Atom `type="xhtml"` content written with a prefix (`<xhtml:p>`, `<xhtml:img>`) comes
    from the parse stage as such; an HTML parser reads `xhtml:img` as an unknown element and
    the sanitiser drops it, image and markup lost (typepad in the real corpus). Elements in
    a prefix bound to the XHTML namespace get their HTML name back; other prefixes (Office's
    `o:p`, a custom namespace) are left to the rules and the sanitiser."""
    prefixes = {prefix.lower() for prefix in _XHTML_PREFIX.findall(source)}
    if not prefixes:
        return
    for element in container.iter():
        tag = element.tag
        if isinstance(tag, str) and ":" in tag:
            prefix, _, local = tag.partition(":")
            if local and prefix.lower() in prefixes:
                element.tag = local.lower()


def serialise(root: HtmlElement) -> str:
    """The inner HTML of the container: its text and children, without the wrapper <div>."""
    if root.tag == "div" and not root.attrib:
        # The container parse_fragment makes: serialise it whole and cut "<div>"/"</div>",
        # one call into libxml2 instead of one per child.
        whole = str(etree.tostring(root, method="html", encoding="unicode", with_tail=False))
        return whole[len("<div>") : -len("</div>")]
    parts = [html_lib.escape(root.text, quote=False)] if root.text else []
    parts.extend(
        str(etree.tostring(child, method="html", encoding="unicode", with_tail=True))
        for child in root
    )
    return "".join(parts)

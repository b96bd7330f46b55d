"""The blocks of an item's edges for auto.boilerplate: what may be one, its text and its
fingerprint. Part of the clean stage; no I/O (proxy/clean/boilerplate.py walks the edges,
decides and removes).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import (
    MEDIA_TAGS,
    SEPARATOR_TAGS,
    has_media,
    has_text,
    holds_any,
    iter_tags,
    short_text,
    tag_of,
    text_of,
)

# How long a block's text may be: site footers and banners are short; a long block is an
# article's own paragraph.
MAX_BLOCK_CHARS = 800

# Elements that are content by nature: never a block, never inside one. Players are here
# too: a video that opens every item is the channel's, but it is still something to watch;
# media-only boilerplate is images (banners, badges, buttons).
SACRED_TAGS = (
    "pre",
    "code",
    "table",
    "blockquote",
    "q",
    "figure",
    "math",
    "ol",
    "ul",
    "dl",
    "iframe",
    "video",
    "audio",
    "object",
    "embed",
)


def collapse(text: str) -> str:
    return " ".join(text.split())


@dataclass(slots=True)
class Block:
    nodes: list[HtmlElement]  # the elements, in document order
    text: str  # their text (tails inside a run included)
    fingerprint: str
    tails: list[HtmlElement]  # elements whose tail text belongs to the block (runs)


def _links(nodes: Sequence[HtmlElement]) -> list[str]:
    return _hrefs([a for node in nodes for a in iter_tags(node, "a")])


def _hrefs(anchors: Sequence[HtmlElement]) -> list[str]:
    """The host and path each <a> links to (a block's fingerprint has them)."""
    found = []
    for a in anchors:
        href = (a.get("href") or "").strip()
        try:
            parts = urlsplit(href)
        except ValueError:
            continue
        found.append((parts.hostname or "") + parts.path)
    return found


def media_keys(nodes: Sequence[HtmlElement]) -> list[str]:
    found = []
    for node in nodes:
        for inner in iter_tags(node, *MEDIA_TAGS):
            found.append(
                tag_of(inner) + "=" + (inner.get("src") or inner.get("data-src") or "").strip()
            )
    return found


def _structure(nodes: Sequence[HtmlElement]) -> str:
    return "/".join(tag_of(inner) for node in nodes for inner in node.iter(etree.Element))


def digest(*parts: str) -> str:
    data = "\0".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:20]


def is_separator(node: HtmlElement) -> bool:
    tag = tag_of(node)
    if tag in SEPARATOR_TAGS:
        return True
    if tag in MEDIA_TAGS or tag == "" or has_text(node) or has_media(node):
        return False  # (text first: it stops early, has_media reads the whole subtree)
    return all(tag_of(inner) in SEPARATOR_TAGS for inner in node.iterdescendants(etree.Element))


def is_empty(node: HtmlElement) -> bool:
    return tag_of(node) not in MEDIA_TAGS and not has_text(node) and not has_media(node)


def block_of(nodes: list[HtmlElement], tails: list[HtmlElement]) -> Block | None:
    """The block made of nodes (and the tails of `tails`), or None if it may not be one."""
    pieces = []
    for node in nodes:
        piece = short_text(node, MAX_BLOCK_CHARS)  # stops early in an article's paragraph
        if piece is None:
            return None
        pieces.append(piece)
    # (after the text, which stops early in a wrapper of the whole article)
    if any(holds_any(node, SACRED_TAGS) for node in nodes):
        return None
    text = "".join(pieces) + "".join(node.tail or "" for node in tails)
    words = collapse(text)
    if len(words) > MAX_BLOCK_CHARS:
        return None
    if words:
        fingerprint = "t:" + digest(words.casefold(), *_links(nodes))
    else:
        media = media_keys(nodes)
        if not media:
            return None  # empty: the `empty` pack's business
        fingerprint = "m:" + digest(_structure(nodes), *media)
    return Block(nodes, words, fingerprint, tails)


def look(node: HtmlElement) -> tuple[bool, Block | None]:
    """(passed over, its block) for an edge walk: a <br>/<hr> or an empty element is passed
    over (is_separator(node) or is_empty(node): an element that is neither is no
    separator either); anything else is block_of([node], []), None when it may not be one."""
    tag = node.tag
    if not isinstance(tag, str):
        passed = tag_of(node) in SEPARATOR_TAGS or is_empty(node)
        return passed, None if passed else block_of([node], [])
    lower = tag.lower()
    if lower in SEPARATOR_TAGS:
        return True, None
    if len(node):
        return _look_inside(node, tag, lower)
    # A leaf (most blocks: a paragraph, a line of text): _block and _is_empty on its one
    # piece of text, read once (reading .text decodes it again each time).
    text = node.text
    if not text or text.isspace():
        if lower in MEDIA_TAGS:
            return False, block_of([node], [])  # an image: fingerprinted by its URL
        return True, None
    if tag in SACRED_TAGS:
        return False, None
    words = collapse(text)  # (its length bounds short_text's count: one test for both)
    if len(words) > MAX_BLOCK_CHARS:
        return False, None
    links = _links([node]) if tag == "a" else []
    return False, Block([node], words, "t:" + digest(words.casefold(), *links), [])


def _look_inside(node: HtmlElement, tag: str, lower: str) -> tuple[bool, Block | None]:
    """look() for an element with children: has_text, has_media, short_text, holds_any of a
    sacred tag and _links' <a>s in one walk of its subtree. Each of those set up a walk of
    its own (a tag walk: ~2 µs to set up, more than a paragraph's whole subtree costs), and
    the walk stops where short_text would: a long block is no block, nor empty."""
    text = node.text
    texted = bool(text and not text.isspace())  # has_text so far
    media = tag in MEDIA_TAGS  # has_media so far (it counts node itself, like iter)
    sacred = tag in SACRED_TAGS
    anchors = [node] if tag == "a" else []
    count = 0  # short_text's count, of the pieces counted so far (see nodes.short_text)
    size = 0
    pending: list[str] = []
    if text:
        size = len(text)
        pending.append(text)
    for inner in node.iterdescendants():
        inner_tag = inner.tag
        if isinstance(inner_tag, str):
            if inner_tag in SACRED_TAGS:
                if texted:
                    return False, None  # not empty; no block (holds_any)
                sacred = True
            if inner_tag in MEDIA_TAGS:
                media = True
            elif inner_tag == "a":
                anchors.append(inner)
            if text := inner.text:
                size += len(text)
                pending.append(text)
                texted = texted or not text.isspace()
        if text := inner.tail:
            size += len(text)
            pending.append(text)
            texted = texted or not text.isspace()
        if count + size > MAX_BLOCK_CHARS:
            count += sum(map(len, "".join(pending).split()))
            if count > MAX_BLOCK_CHARS:
                return False, None  # text, so not empty; too long for a block (short_text)
            pending.clear()
            size = 0
    if lower not in MEDIA_TAGS and not texted and not media:
        return True, None  # empty (_is_empty)
    if sacred:
        return False, None
    words = collapse(text_of(node))
    if len(words) > MAX_BLOCK_CHARS:
        return False, None
    if words:
        return False, Block([node], words, "t:" + digest(words.casefold(), *_hrefs(anchors)), [])
    found = media_keys([node])
    if not found:
        return False, None  # empty: the `empty` pack's business
    return False, Block([node], words, "m:" + digest(_structure([node]), *found), [])

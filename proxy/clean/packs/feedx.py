"""The `feedx` pack: feedx.net's 获取更多RSS footer. Part of the clean stage; does no I/O."""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import (
    MEDIA_TAGS,
    SEPARATOR_TAGS,
    VOID_TAGS,
    cut_text,
    drop,
    elements,
    is_attached,
    is_blank,
    tag_of,
    text_bytes,
    text_owners,
)
from proxy.clean.packs.pixels import is_tracking_pixel
from proxy.clean.registry import declare_pack, item_rule
from proxy.clean.urls import host_of, split_url, unescape

PACK = declare_pack(
    "feedx", "feedx.net's 获取更多RSS footer with its feedx links and the <br>/<hr> before it"
)


# "获取更多RSS：" (simplified) / "獲取更多RSS：" (traditional), full-width or ASCII colon.
_FEEDX_MARKER = re.compile(r"[获獲]取更多\s*RSS\s*[：:]", re.IGNORECASE)
_FEEDX_HOST = re.compile(r"(?:^|\.)feedx\.[a-z]{2,}$")
# Every marker contains "取更多" (no case to fold): only the text nodes holding it matter.
_FEEDX_NEEDLE = "取更多"
_FEEDX_NEEDLE_UTF8 = _FEEDX_NEEDLE.encode()
_FEEDX_TEXTS = etree.XPath(f"descendant-or-self::text()[contains(., '{_FEEDX_NEEDLE}')]")


def is_feedx_link(node: HtmlElement) -> bool:
    """A link to one of feedx's hosts (feedx.net, .best, .site, .co, .xyz, …)."""
    if tag_of(node) != "a":
        return False
    href = node.get("href")
    if not href:
        return False
    lowered = unescape(href).lower()
    if "\t" in lowered or "\n" in lowered or "\r" in lowered:  # urlsplit drops these first
        lowered = lowered.replace("\t", "").replace("\n", "").replace("\r", "")
    if "feedx." not in lowered:
        return False  # the host (lower-cased, in the URL as urlsplit reads it) has "feedx."
    parts = split_url(href)
    return parts is not None and _FEEDX_HOST.search(host_of(parts)) is not None


@item_rule(PACK, "footer")
def remove_feedx_footer(root: HtmlElement) -> None:
    """Remove feedx.net's "获取更多RSS：" footer, its feedx links and the <br>/<hr> before it.

    It advertises the republisher, not the article. The marker text alone is not enough:
    it must be followed by feedx links and nothing else, so a sentence that mentions feedx
    or RSS stays.
    """
    if _FEEDX_NEEDLE_UTF8 not in text_bytes(root):
        return  # (the item's whole text, every .text and .tail joined, in UTF-8: one call)
    owners = text_owners(root, _FEEDX_TEXTS)
    hits: list[tuple[HtmlElement, bool]] = []
    for node in elements(root) if owners is None else owners:
        if node.text and _FEEDX_MARKER.search(node.text):
            hits.append((node, False))
        if node is not root and node.tail and _FEEDX_MARKER.search(node.tail):
            hits.append((node, True))
    # Last first: the footer ends the item, and cutting it never moves an earlier hit.
    for node, in_tail in reversed(hits):
        if is_attached(node, root):
            _cut_feedx_footer(root, node, in_tail)


def _cut_feedx_footer(root: HtmlElement, node: HtmlElement, in_tail: bool) -> None:
    text = (node.tail if in_tail else node.text) or ""
    marker = _FEEDX_MARKER.search(text)
    if marker is None or not is_blank(text[marker.end() :]):
        return
    before = text[: marker.start()]
    rest = list(node.itersiblings()) if in_tail else list(node)
    seen: list[bool] = []  # (whether the walks of _is_footer_part met a feedx link)
    if not all(_is_footer_part(part, seen) and is_blank(part.tail) for part in rest):
        return
    if not seen and not any(is_feedx_link(a) for part in rest for a in part.iter("a")):
        return  # (a feedx link met on the way is one of those: no second look at each)
    if not in_tail and node is not root and is_blank(before):
        # The marker opens its own element (the seed's <div>获取更多RSS：…</div>).
        block = node
        while (up := block.getparent()) is not None and up is not root and _only_child(up, block):
            block = up
        separators = _separators_before(block)
        drop(block)
        for separator in separators:
            drop(separator)
        return
    # The marker is loose text (`<hr/>获取更多RSS：<a …>`): cut from the marker to the end.
    for part in rest:
        drop(part)
    cut_text(node, text[marker.start() :])
    if not in_tail:
        node.text = before.rstrip() or None
        return
    node.tail = before.rstrip() or None
    if is_blank(before) and tag_of(node) in SEPARATOR_TAGS:
        # The marker followed a <br>/<hr> run (`…<br><hr/>获取更多RSS：`): it goes too.
        for separator in [node, *_separators_before(node)]:
            drop(separator)


def _is_footer_part(node: HtmlElement, seen: list[bool]) -> bool:
    """<br>/<hr>, a feedx link, a tracking pixel, or a wrapper holding only those. A feedx
    link it meets (node or below) is noted in seen."""
    stack = [node]
    while stack:
        current = stack.pop()
        tag = tag_of(current)
        if not tag or tag in SEPARATOR_TAGS:
            continue
        if is_feedx_link(current):
            seen.append(True)
            continue
        if tag == "img" and is_tracking_pixel(current):
            continue
        if tag in VOID_TAGS or tag in MEDIA_TAGS or not is_blank(current.text):
            return False
        for child in current:
            if not is_blank(child.tail):
                return False
            stack.append(child)
    return True


def _only_child(parent: HtmlElement, child: HtmlElement) -> bool:
    return len(parent) == 1 and is_blank(parent.text) and is_blank(child.tail)


def _separators_before(node: HtmlElement) -> list[HtmlElement]:
    """The run of <br>/<hr> right before node, with only whitespace between them."""
    run: list[HtmlElement] = []
    previous = node.getprevious()
    while previous is not None and tag_of(previous) in SEPARATOR_TAGS and is_blank(previous.tail):
        run.append(previous)
        previous = previous.getprevious()
    return run

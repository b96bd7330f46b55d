"""The built-in cleaning rules and their registry. Part of the clean stage; does no I/O.

Each rule is a small function that mutates one item's lxml tree (the container <div> made
by `proxy.clean.parse_fragment`) in place. Rules work on elements and text nodes, never on
the HTML string, and keep every attribute they do not remove: the rewrite stage still needs
`src`, `srcset` and the lazy-loading `data-*` attributes after cleaning.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import (
    LAZY_SRC_ATTRIBUTES,
    MEDIA_TAGS,
    SEPARATOR_TAGS,
    STRUCTURAL_TAGS,
    VOID_TAGS,
    domains_of,
    drop,
    elements,
    has_media,
    has_text,
    host_of,
    is_attached,
    is_blank,
    path_matches,
    split_url,
    tag_of,
    text_of,
    text_owners,
)
from proxy.clean.platforms import (
    remove_feedburner_junk,
    remove_medium_junk,
    remove_substack_junk,
    remove_wordpress_junk,
)
from proxy.clean.share import remove_share_markup
from proxy.clean.tracking import strip_tracking_parameters

Rule = Callable[[HtmlElement], None]

# --- feedx ------------------------------------------------------------------------------

# "获取更多RSS：" (simplified) / "獲取更多RSS：" (traditional), full-width or ASCII colon.
_FEEDX_MARKER = re.compile(r"[获獲]取更多\s*RSS\s*[：:]", re.IGNORECASE)
_FEEDX_HOST = re.compile(r"(?:^|\.)feedx\.[a-z]{2,}$")
# Every marker contains "取更多" (no case to fold): only the text nodes holding it matter.
_FEEDX_NEEDLE = "取更多"
_FEEDX_TEXTS = etree.XPath(f"descendant-or-self::text()[contains(., '{_FEEDX_NEEDLE}')]")


def is_feedx_link(node: HtmlElement) -> bool:
    """A link to one of feedx's hosts (feedx.net, .best, .site, .co, .xyz, …)."""
    if tag_of(node) != "a":
        return False
    parts = split_url(node.get("href"))
    return parts is not None and _FEEDX_HOST.search(host_of(parts)) is not None


def remove_feedx_footer(root: HtmlElement) -> None:
    """Remove feedx.net's "获取更多RSS：" footer, its feedx links and the <br>/<hr> before it.

    It advertises the republisher, not the article. The marker text alone is not enough:
    it must be followed by feedx links and nothing else, so a sentence that mentions feedx
    or RSS stays.
    """
    if _FEEDX_NEEDLE not in root.text_content():
        return  # (the item's whole text, every .text and .tail joined: one call into C)
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
    if not all(_is_footer_part(part) and is_blank(part.tail) for part in rest):
        return
    if not any(is_feedx_link(a) for part in rest for a in part.iter("a")):
        return
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
    if not in_tail:
        node.text = before.rstrip() or None
        return
    node.tail = before.rstrip() or None
    if is_blank(before) and tag_of(node) in SEPARATOR_TAGS:
        # The marker followed a <br>/<hr> run (`…<br><hr/>获取更多RSS：`): it goes too.
        for separator in [node, *_separators_before(node)]:
            drop(separator)


def _is_footer_part(node: HtmlElement) -> bool:
    """<br>/<hr>, a feedx link, a tracking pixel, or a wrapper holding only those."""
    stack = [node]
    while stack:
        current = stack.pop()
        tag = tag_of(current)
        if not tag or tag in SEPARATOR_TAGS or is_feedx_link(current):
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


# --- pixels -----------------------------------------------------------------------------

# (domain, path prefix) of images that only count views; see nodes.path_matches.
TRACKER_IMAGES: tuple[tuple[str, str], ...] = (
    ("feeds.feedburner.com", "/~r"),
    ("feeds.feedburner.com", "/~ff"),
    ("feeds.feedburner.com", "/~f"),
    ("feedproxy.google.com", "/~r"),
    ("pixel.wp.com", "/"),
    ("stats.wordpress.com", "/"),
    ("medium.com", "/_/stat"),
    ("hm.baidu.com", "/"),
    ("feedsportal.com", "/"),
    ("pheedo.com", "/"),
    ("tags.bluekai.com", "/"),
    ("insight.adsrvr.org", "/"),
    ("track.hubspot.com", "/"),
    ("google-analytics.com", "/"),
    ("scorecardresearch.com", "/"),
    ("pixel.quantserve.com", "/"),
    ("c.statcounter.com", "/"),
    ("cnzz.com", "/"),
    ("mc.yandex.ru", "/watch"),
    ("facebook.com", "/tr"),
)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$", re.IGNORECASE)
# `(?<![\w-])` so that "border-width: 0px" is not read as a width.
_STYLE_SIZE = {
    name: re.compile(
        rf"(?<![\w-]){name}\s*:\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*(?:!\s*important)?\s*(?:;|$)",
        re.IGNORECASE,
    )
    for name in ("width", "height")
}


def _size(node: HtmlElement, name: str) -> float | None:
    """The width or height of an image from its attribute, else from its style."""
    match = _SIZE.match(node.get(name) or "") or _STYLE_SIZE[name].search(node.get("style") or "")
    return float(match.group(1)) if match else None


# TRACKER_IMAGES by domain.
_TRACKERS: dict[str, tuple[str, ...]] = {}
for _domain, _prefix in TRACKER_IMAGES:
    _TRACKERS[_domain] = (*_TRACKERS.get(_domain, ()), _prefix)


def is_tracking_pixel(node: HtmlElement) -> bool:
    """A 1×1 / 0×0 image, or an image served by a known tracker."""
    for name in ("src", *LAZY_SRC_ATTRIBUTES):
        parts = split_url(node.get(name))
        if parts is None:
            continue
        host = host_of(parts)
        if host and any(
            path_matches(parts.path or "/", prefix)
            for domain in domains_of(host)
            for prefix in _TRACKERS.get(domain, ())
        ):
            return True
    if any(node.get(name) for name in LAZY_SRC_ATTRIBUTES):
        return False  # a lazy image's placeholder size says nothing about the real image
    width, height = _size(node, "width"), _size(node, "height")
    return width is not None and height is not None and width <= 1 and height <= 1


def remove_tracking_pixels(root: HtmlElement) -> None:
    """Remove 1×1 (or 0×0) images and images from tracker hosts: they only report a view."""
    for image in [img for img in root.iter("img") if is_tracking_pixel(img)]:
        drop(image)


# --- spans ------------------------------------------------------------------------------


# Spans that keep their tag: those with any attribute.
_KEPT_SPANS = etree.XPath("descendant::span/@*/..")
# Tag names the HTML parser never produces (it lower-cases them).
_KEEP_MARK = "FEEDSCRUB-KEEP"
# Text nodes right after another text node: what etree.strip_tags leaves.
_SPLIT_TEXT = etree.XPath("descendant-or-self::text()[preceding-sibling::node()[1][self::text()]]")


def unwrap_bare_spans(root: HtmlElement) -> None:
    """Unwrap <span>s without attributes, keeping their text: they style nothing."""
    kept = _KEPT_SPANS(root)
    for span in kept:
        span.tag = _KEEP_MARK
    # One pass in C instead of a drop_tag() per span (the seed item has 80 of them). Like
    # drop_tag it moves text and children into the parent…
    etree.strip_tags(root, "span")
    for span in kept:
        span.tag = "span"
    # …but it leaves the moved text as separate text nodes. Join them as drop_tag did, so
    # that an XPath `text()` test (here or in a feed's own rules) sees the text whole.
    for piece in _SPLIT_TEXT(root):
        owner = piece.getparent()
        if piece.is_tail:
            owner.tail = owner.tail  # lxml reads all adjacent text nodes, writes one
        else:
            owner.text = owner.text


# --- empty ------------------------------------------------------------------------------

# Inline elements: when one holds nothing but line breaks, unwrap it to keep the breaks.
_INLINE_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "bdi",
        "bdo",
        "big",
        "cite",
        "code",
        "data",
        "del",
        "dfn",
        "em",
        "font",
        "i",
        "ins",
        "kbd",
        "mark",
        "nobr",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strike",
        "strong",
        "sub",
        "sup",
        "time",
        "tt",
        "u",
        "var",
    }
)
# Children that do not make their parent worth keeping.
_NOT_CONTENT_TAGS = frozenset({"", "br", "wbr"})
# Never removed for being empty.
_KEPT_TAGS = STRUCTURAL_TAGS | VOID_TAGS | MEDIA_TAGS


def _is_empty(node: HtmlElement) -> bool:
    """No text and no remaining child except line breaks (children were visited first)."""
    return is_blank(node.text) and all(
        tag_of(child) in _NOT_CONTENT_TAGS and is_blank(child.tail) for child in node
    )


def remove_empty_elements(root: HtmlElement) -> None:
    """Remove elements with no text and no media, bottom-up (e.g. emptied share containers).

    Table and list structure (td, th, tr, li, …), <hr> and void elements always stay, and
    so does anything that holds them.
    """
    # Reversed document order visits every element after all of its descendants.
    for node in reversed(elements(root)):
        text = node.text
        if text and not text.isspace():
            continue  # not empty: the cheapest test first, it settles most elements
        tag = tag_of(node)
        if node is root or tag in _KEPT_TAGS or not _is_empty(node):
            continue
        if tag in _INLINE_TAGS and next(node.iter("br"), None) is not None:
            node.drop_tag()  # "a<span><br></span>b": the break is part of the text
            continue
        if text_of(node):
            # Its whitespace was a word boundary: "a<span> </span>b" must not become "ab".
            tail = node.tail or ""
            if not tail[:1].isspace():
                node.tail = " " + tail
        drop(node)


# --- separators -------------------------------------------------------------------------

# Do not look inside these for edge separators: a <br> in <pre> or a cell is content.
_NO_DESCENT_TAGS = STRUCTURAL_TAGS | VOID_TAGS | MEDIA_TAGS | {"pre", "table"}


def _is_separator_only(node: HtmlElement) -> bool:
    """<br>, <hr>, or an element holding nothing but those and whitespace."""
    tag = tag_of(node)
    if tag in SEPARATOR_TAGS:
        return True
    if tag in STRUCTURAL_TAGS or tag in VOID_TAGS or has_text(node) or has_media(node):
        return False
    return all(
        tag_of(inner) in SEPARATOR_TAGS
        or (tag_of(inner) not in STRUCTURAL_TAGS and tag_of(inner) not in VOID_TAGS)
        for inner in node.iterdescendants(etree.Element)
    )


def trim_separators(root: HtmlElement) -> None:
    """Trim <br>/<hr> and whitespace at the very start and end of the item.

    They separated the article from junk that is gone now; a <br> between lines stays.
    """
    _trim_edge(root, at_end=False)
    _trim_edge(root, at_end=True)
    if len(root):
        root.text = (root.text or "").lstrip() or None
        root[-1].tail = (root[-1].tail or "").rstrip() or None
    else:
        root.text = (root.text or "").strip() or None


def _trim_edge(root: HtmlElement, *, at_end: bool) -> None:
    container = root
    while True:  # iterative descent: trees can be a few hundred levels deep
        while len(container):
            edge = container[-1] if at_end else container[0]
            before_edge = edge.tail if at_end else container.text
            if not is_blank(before_edge) or not _is_separator_only(edge):
                break
            drop(edge)
        if not len(container):
            return
        edge = container[-1] if at_end else container[0]
        if not is_blank(edge.tail if at_end else container.text):
            return  # loose text is the edge
        if tag_of(edge) in _NO_DESCENT_TAGS:
            return
        container = edge


# The built-in packs, in their default run order (see proxy.clean.DEFAULT_RULES).
RULES: dict[str, Rule] = {
    "feedx": remove_feedx_footer,
    "share": remove_share_markup,
    "pixels": remove_tracking_pixels,
    "spans": unwrap_bare_spans,
    "wordpress": remove_wordpress_junk,
    "feedburner": remove_feedburner_junk,
    "medium": remove_medium_junk,
    "substack": remove_substack_junk,
    "tracking": strip_tracking_parameters,
    "empty": remove_empty_elements,
    "separators": trim_separators,
}

"""The `empty` pack: elements that cleaning left empty. Part of the clean stage; does no I/O."""

from __future__ import annotations

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import (
    MEDIA_TAGS,
    STRUCTURAL_TAGS,
    VOID_TAGS,
    drop,
    elements,
    is_blank,
    tag_of,
    text_of,
    unwrapped,
)
from proxy.clean.registry import declare_pack, item_rule
from proxy.sanitize import CLEAN_CONTENT_TAGS, CODE_TAGS, allowed_iframe_src

PACK = declare_pack(
    "empty", "elements left with no text and no media (never table or list structure)"
)


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
# Code and everything inside it (see proxy.sanitize.CODE_TAGS), and formulas: an empty
# <mspace width="1em"/> or <mo></mo> is part of the layout (proxy/mathml.py keeps MathML).
_KEPT_WHOLE_TAGS = (*CODE_TAGS, "math")
_IN_CODE = etree.XPath(
    "descendant-or-self::*[self::pre or self::code or self::kbd or self::samp or self::math]"
    "/descendant-or-self::*"
)
# Never removed for being empty.
_KEPT_TAGS = STRUCTURAL_TAGS | VOID_TAGS | MEDIA_TAGS
# Where the item's own links point (`#fn1`): an empty `<a id="fn1"></a>` is a footnote's or
# a heading's anchor, and the link to it would lead nowhere without it.
_FRAGMENT_LINKS = etree.XPath("descendant::a[starts-with(@href, '#')]/@href")


def _link_targets(root: HtmlElement) -> frozenset[str]:
    return frozenset(str(href)[1:] for href in _FRAGMENT_LINKS(root) if len(href) > 1)


def _sanitised_away(node: HtmlElement) -> bool:
    """The sanitiser removes node whole: an iframe from no allowed player (a WordPress
    embed, a Facebook like box), a Flash <object>/<embed>, a <script>. Its holder would be
    served empty (`<p></p>`), so it is empty here."""
    tag = tag_of(node)
    if tag == "iframe":
        return allowed_iframe_src(node.get("src")) is None
    return tag in CLEAN_CONTENT_TAGS


def _is_empty(node: HtmlElement) -> bool:
    """No text and no remaining child except line breaks, or what the sanitiser removes
    whole (children were visited first).

    A line break must be empty itself: libxml2 puts the text after an unclosed `<wbr>`
    inside it (`<p><wbr>李白曾说…</p>`), and that paragraph is not empty.
    """
    return (
        is_blank(node.text)
        and all(
            (
                tag_of(child) in _NOT_CONTENT_TAGS
                and (not tag_of(child) or (is_blank(child.text) and not len(child)))
            )
            or _sanitised_away(child)
            for child in node
        )
        and all(is_blank(child.tail) for child in node)
    )


@item_rule(PACK, "elements")
def remove_empty_elements(root: HtmlElement) -> None:
    """Remove elements with no text and no media, bottom-up (e.g. emptied share containers).

    Table and list structure (td, th, tr, li, …), <hr> and void elements always stay, and
    so does anything that holds them, and everything inside code (<pre>, <code>…): there an
    empty span is a highlighter's whitespace, byte for byte part of the code; and inside a
    formula (<math>: an empty <mspace> is spacing). So does an
    element a link of the item points to (`<a id="fn1"></a>` for `href="#fn1"`).
    """
    targets = _link_targets(root)
    # The code elements are held for the whole walk: lxml gives one Python proxy per node
    # only while one is alive, so an id() of a proxy that was freed can come back as the id
    # of another node's proxy. With the list gone, `id(node) in in_code` skipped random
    # elements and let others inside <pre> be removed (zh-netease lost spans and an NBSP in
    # its <pre> when served; the marked copy of the preview kept every proxy alive).
    code = _IN_CODE(root) if next(root.iter(*_KEPT_WHOLE_TAGS), None) is not None else []
    in_code = {id(node) for node in code}
    # Reversed document order visits every element after all of its descendants.
    for node in reversed(elements(root)):
        if in_code and id(node) in in_code:
            continue
        text = node.text
        if text and not text.isspace():
            continue  # not empty: the cheapest test first, it settles most elements
        tag = tag_of(node)
        if node is root or tag in _KEPT_TAGS or not _is_empty(node):
            continue
        if targets and (node.get("id") in targets or node.get("name") in targets):
            continue  # a link of the item leads here
        if tag in _INLINE_TAGS and next(node.iter("br"), None) is not None:
            unwrapped(root, tag)
            node.drop_tag()  # "a<span><br></span>b": the break is part of the text
            continue
        if text_of(node):
            # Its whitespace was a word boundary: "a<span> </span>b" must not become "ab".
            tail = node.tail or ""
            if not tail[:1].isspace():
                node.tail = " " + tail
        drop(node)

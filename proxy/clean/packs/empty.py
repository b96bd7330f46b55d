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
from proxy.sanitize import CODE_TAGS

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
# Code and everything inside it (see proxy.sanitize.CODE_TAGS).
_IN_CODE = etree.XPath(
    "descendant-or-self::*[self::pre or self::code or self::kbd or self::samp]"
    "/descendant-or-self::*"
)
# Never removed for being empty.
_KEPT_TAGS = STRUCTURAL_TAGS | VOID_TAGS | MEDIA_TAGS


def _is_empty(node: HtmlElement) -> bool:
    """No text and no remaining child except line breaks (children were visited first).

    A line break must be empty itself: libxml2 puts the text after an unclosed `<wbr>`
    inside it (`<p><wbr>李白曾说…</p>`), and that paragraph is not empty.
    """
    return is_blank(node.text) and all(
        tag_of(child) in _NOT_CONTENT_TAGS
        and is_blank(child.tail)
        and (not tag_of(child) or (is_blank(child.text) and not len(child)))
        for child in node
    )


@item_rule(PACK, "elements")
def remove_empty_elements(root: HtmlElement) -> None:
    """Remove elements with no text and no media, bottom-up (e.g. emptied share containers).

    Table and list structure (td, th, tr, li, …), <hr> and void elements always stay, and
    so does anything that holds them, and everything inside code (<pre>, <code>…): there an
    empty span is a highlighter's whitespace, byte for byte part of the code.
    """
    # The proxies are held while their ids are compared: lxml frees a proxy nobody holds
    # and a later one may get its id (the output then depended on memory allocation).
    code_nodes = _IN_CODE(root) if next(root.iter(*CODE_TAGS), None) is not None else []
    in_code = {id(node) for node in code_nodes}
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

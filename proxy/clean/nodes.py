"""Small helpers over lxml nodes, shared by the cleaning rules (URLs: `urls`). Does no I/O.

Cost model, for rules that must stay cheap on every item of every feed: a Python proxy
for an lxml element, an XPath predicate on a node and a Python loop step each cost about
as much as parsing that node did. So rules reach their candidates with `iter(tag)` or one
XPath of location paths, ask the item's `ItemHints` (a substring test on the source)
before looking for markup names that may well be absent, and run Python only on what they
found.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

from lxml import etree
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HtmlProcessingInstruction

from proxy import htmlurls
from proxy.clean import attribution
from proxy.clean.hints import ItemHints as ItemHints  # (re-exported: rules import it here)
from proxy.clean.hints import one_of as one_of  # (re-exported: rules import it here)

# Elements that show something without any text. An <img> counts even with only a lazy
# `data-src`: the rewrite stage turns that into a real src after cleaning.
MEDIA_TAGS = frozenset(
    {"img", "video", "audio", "iframe", "picture", "svg", "object", "embed", "source"}
)

# Table and list structure: removing an empty cell or item would shift the columns or the
# numbering, so no rule ever removes these because they are empty.
STRUCTURAL_TAGS = frozenset(
    {
        "table",
        "caption",
        "colgroup",
        "col",
        "thead",
        "tbody",
        "tfoot",
        "tr",
        "td",
        "th",
        "li",
        "dt",
        "dd",
    }
)

VOID_TAGS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "keygen",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)

SEPARATOR_TAGS = frozenset({"br", "hr"})

# Lazy-loading attributes the rewrite stage reads; rules treat them like `src` (the one list
# is in proxy.htmlurls).
LAZY_SRC_ATTRIBUTES = htmlurls.LAZY_SRC_ATTRIBUTES
LAZY_ATTRIBUTES = htmlurls.LAZY_ATTRIBUTES

# Every element is an lxml.html.HtmlElement (drop_tree, drop_tag, text_content, cssselect…),
# with the class chosen in C. lxml.html's own parser asks a Python method for every element
# proxy it makes, a fifth of the clean stage's time. Nothing here uses the form classes
# (FormElement, InputElement…) that its lookup would pick for form controls.
HTML_LOOKUP = etree.ElementDefaultClassLookup(
    element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity
)


def html_parser(**options: Any) -> etree.HTMLParser:
    """An lxml HTML parser (options as for etree.HTMLParser) that makes HtmlElements.

    Parsers are not thread-safe: keep one per thread.
    """
    parser = etree.HTMLParser(**options)
    parser.set_element_class_lookup(HTML_LOOKUP)
    return parser


_current = threading.local()


def enter_item(root: HtmlElement, hints: ItemHints) -> object:
    """Let the rules run until leave_item(previous) look up `hints` for root (hints_for).

    Returns what leave_item(previous) puts back (the runner enters once per rule and item:
    a context manager cost more than most rules on an item they skip).
    """
    previous = getattr(_current, "item", None)
    _current.item = (root, hints)
    return previous


def leave_item(previous: object) -> None:
    _current.item = previous


def reparsed(root: HtmlElement) -> None:
    """The running rule replaced root's content with markup that was not in the source (the
    escaped pack): the item's hints are made again from the tree as it is now."""
    hints = _current_hints(root)
    if hints is not None:
        markup = str(etree.tostring(root, method="html", encoding="unicode", with_tail=False))
        hints.read(markup)


def _current_hints(root: HtmlElement) -> ItemHints | None:
    current = getattr(_current, "item", None)
    if current is not None and current[0] is root:
        hints: ItemHints = current[1]
        return hints
    return None


def hints_for(root: HtmlElement) -> ItemHints:
    """The hints of the item being cleaned, or fresh ones made from root's markup."""
    hints = _current_hints(root)
    if hints is None:
        markup = str(etree.tostring(root, method="html", encoding="unicode", with_tail=False))
        hints = ItemHints(markup)
    return hints


# --- nodes ------------------------------------------------------------------------------


def tag_of(node: HtmlElement) -> str:
    """The lower-case tag name, or "" for comments and processing instructions."""
    tag = node.tag
    return tag.lower() if isinstance(tag, str) else ""


_CLASS_SEPARATORS = re.compile("[ \t\n\f\r]+")


def class_tokens(node: HtmlElement) -> list[str]:
    """The names in node's class attribute (split on ASCII whitespace, as browsers do)."""
    value = node.get("class")
    return _CLASS_SEPARATORS.split(value.strip(" \t\n\f\r")) if value else []


def is_blank(text: str | None) -> bool:
    """True for None and for text that is only whitespace (str.strip also removes NBSP)."""
    return not text or text.isspace()  # (isspace stops at the first other character)


def elements(root: HtmlElement) -> list[HtmlElement]:
    """Every element under root (root included) in document order, without comments."""
    return list(root.iter(etree.Element))


def in_document_order(nodes: Iterable[HtmlElement]) -> list[HtmlElement]:
    """nodes (all in one tree, no duplicates) sorted into document order. For a few nodes."""

    def path(node: HtmlElement) -> list[int]:
        steps = []
        parent = node.getparent()
        while parent is not None:
            steps.append(parent.index(node))
            node, parent = parent, parent.getparent()
        steps.reverse()
        return steps

    listed = list(nodes)
    if len(listed) < 2:
        return listed
    return sorted(listed, key=path)


def text_owners(root: HtmlElement, search: etree.XPath) -> list[HtmlElement] | None:
    """Elements whose .text or .tail holds a text node that `search` returned.

    search selects text nodes under root (e.g. `descendant-or-self::text()[contains(., 'x')]`)
    and the answer is in document order, root included when its own text matched. This
    relies on each .text and .tail being one text node, as the parser and every rule leave
    them; for a tree that is not being cleaned (clean_tree) it returns None, and the caller
    has to look at every element instead.
    """
    if _current_hints(root) is None:
        return None
    owners: dict[int, HtmlElement] = {}
    for piece in search(root):
        owner = piece.getparent()
        if owner is not None:
            owners.setdefault(id(owner), owner)
    return in_document_order(owners.values())


def iter_tags(node: HtmlElement, *tags: str) -> list[HtmlElement]:
    """list(node.iter(*tags)); a leaf (comments too) answered from its own tag: setting up a
    tag walk costs ~2 µs, and most nodes rules ask about are paragraphs without children."""
    if not len(node):
        return [node] if node.tag in tags else []
    return list(node.iter(*tags))


def holds_any(node: HtmlElement, tags: Iterable[str]) -> bool:
    """Whether node is, or holds, an element named one of tags (iter, in libxml2)."""
    if not len(node):  # a leaf (comments too): setting up the tag walk costs ~2 µs
        return node.tag in tags
    return next(node.iter(*tags), None) is not None


def has_media(node: HtmlElement) -> bool:
    return holds_any(node, MEDIA_TAGS)


text_of = attribution.text_of  # node.text_content(), without an XPath (attribution.py)
text_bytes = attribution.text_bytes  # text_of in UTF-8, undecoded: for substring tests


# text_of(node) is made of node.text and, for each node below it, its text (an element's:
# a comment's text is its content) and its tail. has_text and short_text read those pieces
# one by one, to stop early, in loops of their own: rules call them ~30 times per item,
# and a generator's step per piece cost as much as looking at the piece.


def has_text(node: HtmlElement) -> bool:
    """`not is_blank(text_of(node))`, stopping at the first piece of text that is not blank."""
    text = node.text
    if text and not text.isspace():
        return True
    if isinstance(node.tag, str) and len(node):  # (a comment has no children)
        for inner in node.iterdescendants():
            if isinstance(inner.tag, str) and (text := inner.text) and not text.isspace():
                return True
            if (text := inner.tail) and not text.isspace():
                return True
    return False


def short_text(node: HtmlElement, limit: int) -> str | None:
    """text_of(node), or None as soon as it has more than limit non-whitespace characters."""
    # A piece's length bounds its count of non-whitespace characters from above, so pieces
    # are only counted (a split per piece: most of the cost of a leaf) once their lengths
    # together pass limit; most calls are on short text, and stop before that.
    text: str | None = node.text
    if not isinstance(node.tag, str):  # a comment: its .text is its content
        if text and sum(map(len, text.split())) > limit:
            return None
        return text_of(node)
    if not len(node):  # no children: its .text is all of its text (the same string)
        if not text:
            return ""
        if len(text) <= limit or sum(map(len, text.split())) <= limit:
            return text
        return None
    count = 0  # non-whitespace characters of the pieces counted so far
    size = 0  # the length of the pieces not counted yet, in `pending`
    pending: list[str] = []
    if text:
        size = len(text)
        pending.append(text)
    for inner in node.iterdescendants():
        if isinstance(inner.tag, str) and (text := inner.text):
            size += len(text)
            pending.append(text)
        if text := inner.tail:
            size += len(text)
            pending.append(text)
        if count + size > limit:
            count += sum(map(len, "".join(pending).split()))
            if count > limit:
                return None
            pending.clear()
            size = 0
    if count + size > limit and count + sum(map(len, "".join(pending).split())) > limit:
        return None
    return text_of(node)


def is_attached(node: HtmlElement, root: HtmlElement) -> bool:
    """Whether node is still inside root (an earlier removal may have taken it out)."""
    # (a getparent() loop: 3-5x cheaper than an iterancestors() walk)
    while node is not None:
        if node is root:
            return True
        node = node.getparent()
    return False


def drop(node: HtmlElement, reason: str | None = None) -> None:
    """Remove node and its content; its tail text stays where it was.

    The removal is attributed to the rule that is running (with reason, or the rule's own).
    """
    attribution.removed(node, reason)
    node.drop_tree()


def cut_text(owner: HtmlElement, text: str, reason: str | None = None) -> None:
    """Attribute text that the running rule cuts out of owner's .text or .tail (the rule
    writes the shortened text itself)."""
    attribution.removed_text(owner, text, reason)


def unwrapped(root: HtmlElement, tag: str, count: int = 1) -> None:
    """Attribute count <tag> wrappers under root that the running rule unwrapped."""
    attribution.unwrapped(root, tag, count)


def set_link(node: HtmlElement, attribute: str, new: str, reason: str | None = None) -> None:
    """Rewrite one URL attribute of node, attributed to the running rule."""
    old = node.get(attribute) or ""
    if new != old:
        attribution.link_changed(node, old, new, reason)
        node.set(attribute, new)

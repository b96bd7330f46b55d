"""Boilerplate detected across the items of one feed: blocks at an item's edges that recur in
most items. Part of the clean stage; does no I/O (what it learns goes to FeedContext.memory,
which the pipeline loads from and saves to the store).

A *block* is a top-level element at the start or the end of an item (looking through
wrappers that hold the whole item), or the run of elements and text after the last <hr> (or
double <br>) near the end. Its fingerprint is its text, whitespace collapsed and case folded,
with the hosts and paths it links to; a block without text is fingerprinted by its structure
and media URLs. A fingerprint found in more than half of the items — those of this fetch and
those remembered from earlier fetches, at least MIN_ITEMS of them — is the site's boilerplate.

Safe by construction:
- a block is removed only where it is exactly the same in each item (one fingerprint), and
  only from the edge inwards: everything between it and the edge goes too, or is a separator;
- tables, lists, <pre>, <code>, quotes, figures, formulas and players (video, audio,
  iframes) are never blocks, nor is a block holding one;
- an item never loses more than MAX_SHARE of its text, nor its last text or media: if the
  blocks would take more, that item keeps all of them;
- a byline (a short "By Jane Doe", or a bare name) is the author's name, not boilerplate,
  even when it opens every item: precision beats recall, a reader wants to see who wrote it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, MutableMapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean import boilerplate_lines
from proxy.clean.boilerplate_lines import Line
from proxy.clean.boilerplate_memory import (  # noqa: F401 (the decision; names re-exported)
    MEMORY_ITEMS,
    MEMORY_KEY,
    MEMORY_MAX_AGE,
    MIN_ITEMS,
    RECUR_SHARE,
    Summary,
    boilerplate_fingerprints,
    decide,
)
from proxy.clean.bylines import is_byline
from proxy.clean.nodes import (
    MEDIA_TAGS,
    SEPARATOR_TAGS,
    cut_text,
    drop,
    has_media,
    has_text,
    holds_any,
    is_blank,
    iter_tags,
    short_text,
    tag_of,
    text_of,
)

# An item never loses more than this share of its text to boilerplate.
MAX_SHARE = 0.6
# How many blocks are looked at from each edge, and how long a block's text may be: site
# footers and banners are short; a long block is an article's own paragraph.
EDGE_BLOCKS = 4
MAX_BLOCK_CHARS = 800
# The edge fingerprints memory keeps per item (boilerplate_memory.py): blocks, then lines.
MEMORY_FINGERPRINTS = 2 * EDGE_BLOCKS + 1
MEMORY_LINES = 2 * boilerplate_lines.EDGE_LINES

# Elements that are content by nature: never a block, never inside one. Players are here
# too: a video that opens every item is the channel's, but it is still something to watch;
# media-only boilerplate is images (banners, badges, buttons).
_SACRED_TAGS = (
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
# Elements that make a line of their own whatever text is beside them.
_BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "aside", "header", "footer", "nav", "main", "center"}
    | {"address", "form", "fieldset", "details", "hr", "br"}
    | {f"h{level}" for level in range(1, 7)}
    | set(_SACRED_TAGS)
)
# Wrappers that may hold the whole item (the block structure is inside them).
_WRAPPER_TAGS = frozenset({"div", "section", "article", "main", "body", "span", "font", "center"})


def _words(text: str) -> str:
    return " ".join(text.split())


@dataclass(slots=True)
class _Block:
    nodes: list[HtmlElement]  # the elements, in document order
    text: str  # their text (tails inside a run included)
    fingerprint: str
    tails: list[HtmlElement]  # elements whose tail text belongs to the block (runs)


def _container(root: HtmlElement) -> HtmlElement:
    """The element whose children are the item's blocks: root, or the wrapper holding all."""
    container = root
    for _ in range(32):  # wrappers nest a few levels, not hundreds
        children = [c for c in container if isinstance(c.tag, str)]
        if len(children) != 1 or len(container) != 1:
            break
        only = children[0]
        if not is_blank(container.text) or not is_blank(only.tail):
            break
        if tag_of(only) not in _WRAPPER_TAGS:
            break
        container = only
    return container


def _links(nodes: Sequence[HtmlElement]) -> list[str]:
    found = []
    for node in nodes:
        for a in iter_tags(node, "a"):
            href = (a.get("href") or "").strip()
            try:
                parts = urlsplit(href)
            except ValueError:
                continue
            found.append((parts.hostname or "") + parts.path)
    return found


def _media(nodes: Sequence[HtmlElement]) -> list[str]:
    found = []
    for node in nodes:
        for inner in iter_tags(node, *MEDIA_TAGS):
            found.append(
                tag_of(inner) + "=" + (inner.get("src") or inner.get("data-src") or "").strip()
            )
    return found


def _structure(nodes: Sequence[HtmlElement]) -> str:
    return "/".join(tag_of(inner) for node in nodes for inner in node.iter(etree.Element))


def _digest(*parts: str) -> str:
    data = "\0".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:20]


def _is_separator(node: HtmlElement) -> bool:
    tag = tag_of(node)
    if tag in SEPARATOR_TAGS:
        return True
    if tag in MEDIA_TAGS or tag == "" or has_text(node) or has_media(node):
        return False  # (text first: it stops early, has_media reads the whole subtree)
    return all(tag_of(inner) in SEPARATOR_TAGS for inner in node.iterdescendants(etree.Element))


def _is_empty(node: HtmlElement) -> bool:
    return tag_of(node) not in MEDIA_TAGS and not has_text(node) and not has_media(node)


def _block(nodes: list[HtmlElement], tails: list[HtmlElement]) -> _Block | None:
    """The block made of nodes (and the tails of `tails`), or None if it may not be one."""
    pieces = []
    for node in nodes:
        piece = short_text(node, MAX_BLOCK_CHARS)  # stops early in an article's paragraph
        if piece is None:
            return None
        pieces.append(piece)
    # (after the text, which stops early in a wrapper of the whole article)
    if any(holds_any(node, _SACRED_TAGS) for node in nodes):
        return None
    text = "".join(pieces) + "".join(node.tail or "" for node in tails)
    words = _words(text)
    if len(words) > MAX_BLOCK_CHARS:
        return None
    if words:
        fingerprint = "t:" + _digest(words.casefold(), *_links(nodes))
    else:
        media = _media(nodes)
        if not media:
            return None  # empty: the `empty` pack's business
        fingerprint = "m:" + _digest(_structure(nodes), *media)
    return _Block(nodes, words, fingerprint, tails)


def _look(node: HtmlElement) -> tuple[bool, _Block | None]:
    """(passed over, its block) for an edge walk: a <br>/<hr> or an empty element is passed
    over (_is_separator(node) or _is_empty(node): an element that is neither is no
    separator either); anything else is _block([node], []), None when it may not be one."""
    tag = node.tag
    if not isinstance(tag, str) or len(node):
        passed = tag_of(node) in SEPARATOR_TAGS or _is_empty(node)
        return passed, None if passed else _block([node], [])
    # A leaf (most blocks: a paragraph, a line of text): _block and _is_empty on its one
    # piece of text, read once (reading .text decodes it again each time).
    lower = tag.lower()
    if lower in SEPARATOR_TAGS:
        return True, None
    text = node.text
    if not text or text.isspace():
        if lower in MEDIA_TAGS:
            return False, _block([node], [])  # an image: fingerprinted by its URL
        return True, None
    if tag in _SACRED_TAGS:
        return False, None
    words = _words(text)  # (its length bounds short_text's count: one test for both)
    if len(words) > MAX_BLOCK_CHARS:
        return False, None
    links = _links([node]) if tag == "a" else []
    return False, _Block([node], words, "t:" + _digest(words.casefold(), *links), [])


def _only_blank_beside(node: HtmlElement, *, before: bool) -> bool:
    """Whether only whitespace lies between node and its previous (before) or next element
    sibling, or its parent's edge: comments' tails count, they are shown."""
    if before:
        sibling = node.getprevious()
        while sibling is not None and not isinstance(sibling.tag, str):
            if not is_blank(sibling.tail):
                return False
            sibling = sibling.getprevious()
        parent = node.getparent()
        text = (parent.text if parent is not None else None) if sibling is None else sibling.tail
        return is_blank(text)
    if not is_blank(node.tail):
        return False
    sibling = node.getnext()
    while sibling is not None and not isinstance(sibling.tag, str):
        if not is_blank(sibling.tail):
            return False
        sibling = sibling.getnext()
    return True


# How far the edge walks look: nested wrappers entered (CRE's show notes nest their Flattr
# badge nine deep), and elements passed over (empty paragraphs and separators are no blocks,
# but MAX_VISITS bounds the walk's work all the same, whatever the depth).
MAX_DEPTH = 12
MAX_VISITS = 64


def _edge_blocks(container: HtmlElement) -> tuple[list[_Block | None], list[_Block | None]]:
    """Blocks from the start inwards and from the end inwards (None: a separator or an empty
    element, which may be passed over; a non-block ends the walk, so it is not listed).

    A wrapper too long to be a block is walked into, from the same edge: a footer inside
    the last <div> (`<div>…shownotes…<p>Flattr</p></div>`) is still at the item's end. The
    walk then stays inside it (what lies beyond it is the wrapper's content, not an edge).
    """
    children = [c for c in container if isinstance(c.tag, str)]
    # (Both walks can meet in the middle. The node is kept with what was found: an id() is
    # a name only while its lxml proxy lives, and walked-into children are let go.)
    seen: dict[int, tuple[HtmlElement, bool, _Block | None]] = {}

    def look(node: HtmlElement) -> tuple[bool, _Block | None]:
        """_look(node), once per node."""
        known = seen.get(id(node))
        if known is None or known[0] is not node:
            known = seen[id(node)] = (node, *_look(node))
        return known[1], known[2]

    def walk(order: Sequence[HtmlElement], from_start: bool) -> list[_Block | None]:
        found: list[_Block | None] = []
        pending = list(order)
        depth = visits = blocks = 0
        while pending and visits < MAX_VISITS:
            node = pending.pop(0)
            visits += 1
            # Loose text between the edge and this node is content: stop there. An inline
            # element with text on its other side is part of a line (`• <a>title</a><br>`,
            # one entry of a list), not a block either.
            if not _only_blank_beside(node, before=from_start):
                break
            tag = tag_of(node)
            if tag not in _BLOCK_TAGS and not _only_blank_beside(node, before=not from_start):
                break
            passed, block = look(node)
            if passed:
                found.append(None)  # passed over: removing it is the `empty` pack's call
                continue
            if block is None:
                if depth < MAX_DEPTH and tag in _WRAPPER_TAGS and len(node):
                    inner = [c for c in node if isinstance(c.tag, str)]
                    pending = inner if from_start else inner[::-1]
                    depth += 1
                    continue
                break
            found.append(block)
            blocks += 1
            if blocks >= EDGE_BLOCKS:
                break
        return found

    return walk(children, True), walk(list(reversed(children)), False)


def _run_after_separator(container: HtmlElement) -> _Block | None:
    """The elements and text after the last <hr> (or <br><br>) among the last few children."""
    children = [c for c in container if isinstance(c.tag, str)]
    for at in range(len(children) - 1, max(-1, len(children) - 2 * EDGE_BLOCKS - 1), -1):
        node = children[at]
        tag = tag_of(node)
        double_br = (
            tag == "br"
            and at > 0
            and tag_of(children[at - 1]) == "br"
            and is_blank(children[at - 1].tail)
        )
        if tag == "hr" or double_br:
            if at == 0:
                return None  # a separator first: the whole item is "after" it
            run = children[at + 1 :]
            nodes = [n for n in run if not _is_separator(n)]
            if not nodes and is_blank(node.tail):
                return None
            # The separator's tail (text right after it) belongs to the run too.
            return _block(nodes, [node, *run])
    return None


def _item_key(root: HtmlElement) -> tuple[str, int]:
    """The item's key, and the length of its text with whitespace collapsed."""
    words = _words(text_of(root))
    return _digest(words.casefold(), *_media([root])), len(words)


@dataclass(slots=True)
class _Item:
    root: HtmlElement
    key: str
    head: list[_Block | None]
    tail: list[_Block | None]
    run: _Block | None
    chars: int  # len(_words(text_of(root))) before anything is removed (read with the key)
    # Per head and tail block, its candidate lines from the item-edge side (boilerplate_lines)
    head_lines: list[list[Line]]
    tail_lines: list[list[Line]]

    def _lines(self) -> list[str]:
        return [
            line.fingerprint for lines in (*self.head_lines, *self.tail_lines) for line in lines
        ]

    def fingerprints(self) -> list[str]:
        found = [b.fingerprint for b in (*self.head, *self.tail, self.run) if b is not None]
        lines = list(dict.fromkeys(self._lines()))[:MEMORY_LINES]
        return list(dict.fromkeys(found))[:MEMORY_FINGERPRINTS] + lines

    def summary(self) -> Summary:
        blocks = frozenset(
            b.fingerprint for b in (*self.head, *self.tail, self.run) if b is not None
        )
        return Summary(self.key, tuple(self.fingerprints()), blocks | frozenset(self._lines()))


def _removable(blocks: Sequence[_Block | None], boilerplate: AbstractSet[str]) -> list[_Block]:
    """The blocks from the edge inwards while each is boilerplate (separators pass)."""
    chosen: list[_Block] = []
    for block in blocks:
        if block is None:
            continue
        if block.fingerprint not in boilerplate:
            break
        chosen.append(block)
    return chosen


def _media_left(root: HtmlElement, removed: Sequence[HtmlElement]) -> bool:
    """Whether root still shows media once `removed` are gone."""
    gone = {id(node) for node in removed}
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in gone:
            continue
        if tag_of(node) in MEDIA_TAGS:
            return True
        stack.extend(c for c in node if isinstance(c.tag, str))
    return False


def remove_boilerplate(
    roots: Sequence[HtmlElement],
    *,
    memory: MutableMapping[str, Any] | None = None,
    clock: Callable[[], float] | None = None,
    keep: Callable[[_Block], bool] | None = None,
) -> None:
    """Remove the blocks that recur at the edges of most items (see the module docstring).

    Parameters:
        roots: every item's tree (one field of every item of one feed), edited in place.
        memory: what earlier fetches of this feed learnt (read, then updated); None: none.
        clock: the time stamps in memory come from here (default time.time).
        keep: blocks for which this is true are never removed (default: bylines).
    """
    keep = keep or (lambda block: is_byline(block.text))
    items = [analyse(root) for root in roots]
    boilerplate = decide(items, memory=memory, clock=clock)
    if not boilerplate:
        return
    for item in items:
        _clean_item(item, boilerplate, keep)


def analyse(root: HtmlElement) -> _Item:
    """One item's edge blocks. remove_boilerplate is analyse on each item, ``decide`` over
    all (boilerplate_memory.py), ``apply`` on each: a caller keeping each item's summary()
    by content redoes only the items that changed (proxy/clean/staged.py)."""
    container = _container(root)
    head, tail = _edge_blocks(container)
    key, chars = _item_key(root)
    run = _run_after_separator(container)
    head_lines = boilerplate_lines.block_lines(head, from_start=True)
    tail_lines = boilerplate_lines.block_lines(tail, from_start=False)
    return _Item(root, key, head, tail, run, chars, head_lines, tail_lines)


def apply(item: _Item, boilerplate: AbstractSet[str]) -> None:
    """Remove item's boilerplate blocks (bylines kept). Only the item's own fingerprints are
    looked up, so ``boilerplate & summary.blocks`` gives the same result as the whole set."""
    _clean_item(item, boilerplate, lambda block: is_byline(block.text))


def _clean_item(item: _Item, boilerplate: AbstractSet[str], keep: Callable[[_Block], bool]) -> None:
    chosen = _removable(item.head, boilerplate) + _removable(item.tail, boilerplate)
    if item.run is not None and item.run.fingerprint in boilerplate:
        chosen.append(item.run)
    # Head and tail walks meet in a short item: each block once.
    blocks = list({id(b.nodes[0]) if b.nodes else id(b): b for b in chosen}.values())
    blocks = [b for b in blocks if not keep(b)]
    nodes = list({id(n): n for b in blocks for n in b.nodes}.values())
    gone = {id(n) for n in nodes}
    lines = [
        line
        for line in boilerplate_lines.at_edges(
            ((item.head, item.head_lines), (item.tail, item.tail_lines)), boilerplate
        )
        if not any(id(n) in gone for n in (line.owner, *line.owner.iterancestors()))
    ]
    if not blocks and not lines:
        return
    total = item.chars  # (nothing was removed from this item since it was read)
    removed = sum(len(b.text) for b in blocks) + sum(len(line.text) for line in lines)
    if total and removed > MAX_SHARE * total:
        return  # more than a bounded share: this item keeps its edges
    if total - removed <= 0 and not _media_left(item.root, nodes):
        return  # never the only content
    for block in blocks:
        for owner in block.tails:
            if owner.tail and not is_blank(owner.tail):
                cut_text(owner, owner.tail)  # a run's loose text goes with it
                owner.tail = None
        for node in block.nodes:
            if node.getparent() is not None:
                drop(node)
    for line in lines:
        boilerplate_lines.remove(line)

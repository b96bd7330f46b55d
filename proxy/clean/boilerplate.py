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

from collections.abc import Callable, MutableMapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from itertools import islice
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean import boilerplate_lines
from proxy.clean.boilerplate_blocks import (  # noqa: F401 (MAX_BLOCK_CHARS: re-exported)
    MAX_BLOCK_CHARS,
    SACRED_TAGS,
    Block,
    block_of,
    collapse,
    digest,
    is_separator,
    media_keys,
)
from proxy.clean.boilerplate_blocks import look as look_at
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
    cut_text,
    drop,
    is_blank,
    tag_of,
    text_of,
)

# An item never loses more than this share of its text to boilerplate.
MAX_SHARE = 0.6
# How many blocks are looked at from each edge (how long one may be: boilerplate_blocks).
EDGE_BLOCKS = 4
# The edge fingerprints memory keeps per item (boilerplate_memory.py): blocks, then lines.
MEMORY_FINGERPRINTS = 2 * EDGE_BLOCKS + 1
MEMORY_LINES = 2 * boilerplate_lines.EDGE_LINES

# Elements that make a line of their own whatever text is beside them.
_BLOCK_TAGS = frozenset(
    {"p", "div", "section", "article", "aside", "header", "footer", "nav", "main", "center"}
    | {"address", "form", "fieldset", "details", "hr", "br"}
    | {f"h{level}" for level in range(1, 7)}
    | set(SACRED_TAGS)
)
# Wrappers that may hold the whole item (the block structure is inside them).
_WRAPPER_TAGS = frozenset({"div", "section", "article", "main", "body", "span", "font", "center"})


def _container(root: HtmlElement) -> HtmlElement:
    """The element whose children are the item's blocks: root, or the wrapper holding all."""
    container = root
    for _ in range(32):  # wrappers nest a few levels, not hundreds
        if len(container) != 1:  # (len counts comments too: one node, and an element)
            break
        only = container[0]
        if not isinstance(only.tag, str):
            break
        if not is_blank(container.text) or not is_blank(only.tail):
            break
        if tag_of(only) not in _WRAPPER_TAGS:
            break
        container = only
    return container


def _only_blank_beside(node: HtmlElement, *, before: bool) -> bool:
    """Whether only whitespace lies between node and its previous (before) or next element
    sibling, or its parent's edge: comments' tails count, they are shown."""
    # (is_blank written out: the walks ask this of every node they pass)
    if before:
        sibling = node.getprevious()
        while sibling is not None and not isinstance(sibling.tag, str):
            text = sibling.tail
            if text and not text.isspace():
                return False
            sibling = sibling.getprevious()
        if sibling is None:
            parent = node.getparent()
            text = parent.text if parent is not None else None
        else:
            text = sibling.tail
        return not text or text.isspace()
    text = node.tail
    if text and not text.isspace():
        return False
    sibling = node.getnext()
    while sibling is not None and not isinstance(sibling.tag, str):
        text = sibling.tail
        if text and not text.isspace():
            return False
        sibling = sibling.getnext()
    return True


# How far the edge walks look: nested wrappers entered (CRE's show notes nest their Flattr
# badge nine deep), and elements passed over (empty paragraphs and separators are no blocks,
# but MAX_VISITS bounds the walk's work all the same, whatever the depth).
MAX_DEPTH = 12
MAX_VISITS = 64


def _edge_blocks(container: HtmlElement) -> tuple[list[Block | None], list[Block | None]]:
    """Blocks from the start inwards and from the end inwards (None: a separator or an empty
    element, which may be passed over; a non-block ends the walk, so it is not listed).

    A wrapper too long to be a block is walked into, from the same edge: a footer inside
    the last <div> (`<div>…shownotes…<p>Flattr</p></div>`) is still at the item's end. The
    walk then stays inside it (what lies beyond it is the wrapper's content, not an edge).
    """
    # (Both walks can meet in the middle. The node is kept with what was found: an id() is
    # a name only while its lxml proxy lives, and walked-into children are let go.)
    seen: dict[int, tuple[HtmlElement, bool, Block | None]] = {}

    def look(node: HtmlElement) -> tuple[bool, Block | None]:
        """look_at(node), once per node."""
        known = seen.get(id(node))
        if known is None or known[0] is not node:
            known = seen[id(node)] = (node, *look_at(node))
        return known[1], known[2]

    def walk(from_start: bool) -> list[Block | None]:
        found: list[Block | None] = []
        # The element children from the edge, made one by one as the walk reaches them: a
        # walk stops within a few, and an lxml proxy made for each child costs as much as
        # looking at one. (The tree does not change while the walks look.)
        pending = container.iterchildren(etree.Element, reversed=not from_start)
        depth = visits = blocks = 0
        while visits < MAX_VISITS:
            node = next(pending, None)
            if node is None:
                break
            visits += 1
            # Loose text between the edge and this node is content: stop there. An inline
            # element with text on its other side is part of a line (`• <a>title</a><br>`,
            # one entry of a list), not a block either.
            if not _only_blank_beside(node, before=from_start):
                break
            tag = node.tag.lower()  # (tag_of: an element, iterchildren gives no comments)
            if tag not in _BLOCK_TAGS and not _only_blank_beside(node, before=not from_start):
                break
            passed, block = look(node)
            if passed:
                found.append(None)  # passed over: removing it is the `empty` pack's call
                continue
            if block is None:
                if depth < MAX_DEPTH and tag in _WRAPPER_TAGS and len(node):
                    pending = node.iterchildren(etree.Element, reversed=not from_start)
                    depth += 1
                    continue
                break
            found.append(block)
            blocks += 1
            if blocks >= EDGE_BLOCKS:
                break
        return found

    return walk(True), walk(False)


def _run_after_separator(container: HtmlElement) -> Block | None:
    """The elements and text after the last <hr> (or <br><br>) among the last few children."""
    # Only the last 2 * EDGE_BLOCKS element children can be the separator, and the one
    # before them the first <br> of a double one: those are read from the end, not a proxy
    # made for each child. When there are more children, index 0 here is never `at`.
    last = list(islice(container.iterchildren(etree.Element, reversed=True), 2 * EDGE_BLOCKS + 1))
    children = last[::-1]
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
            nodes = [n for n in run if not is_separator(n)]
            if not nodes and is_blank(node.tail):
                return None
            # The separator's tail (text right after it) belongs to the run too.
            return block_of(nodes, [node, *run])
    return None


def _item_key(root: HtmlElement) -> tuple[str, int]:
    """The item's key, and the length of its text with whitespace collapsed."""
    words = collapse(text_of(root))
    return digest(words.casefold(), *media_keys([root])), len(words)


@dataclass(slots=True)
class _Item:
    root: HtmlElement
    key: str
    head: list[Block | None]
    tail: list[Block | None]
    run: Block | None
    chars: int  # len(collapse(text_of(root))) before anything is removed (read with the key)
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


def _removable(blocks: Sequence[Block | None], boilerplate: AbstractSet[str]) -> list[Block]:
    """The blocks from the edge inwards while each is boilerplate (separators pass)."""
    chosen: list[Block] = []
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
    keep: Callable[[Block], bool] | None = None,
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


def _clean_item(item: _Item, boilerplate: AbstractSet[str], keep: Callable[[Block], bool]) -> None:
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

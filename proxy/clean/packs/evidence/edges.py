"""An item's edges as short *units*: the blocks that open and close it, and the `<br>`-separated
lines at their item-edge side. What evidence.disclaimers and evidence.download_prompts read;
no rule of its own, no I/O.

A site or an aggregator puts its notices where the article is not: before it or after it. So
blocks are read from each end inwards until EDGE_BLOCKS blocks with text were kept (or a
third of the item's blocks, if fewer, but two at least), through wrappers that hold the whole
item and into a wrapper at an edge whose text is too long to be one notice; empty blocks,
separators and images are passed over, and a unit taken is not counted: the edge moves
inwards past it (a download line, then the disclaimer before it). A block whose text is at
most UNIT_CHARS non-whitespace characters is a unit; so is each of the last (first, at the
start) EDGE_LINES lines of a block written as lines (`…<br><em>文中观点不代表本网立场</em>`),
never its only line.
Code, tables, quotes, figures, formulas, headings and lists are never units nor hold one; they
count as blocks (the edge is not past them).

A unit goes only where the item keeps other text or media and when all this rule takes from
one item stays under MAX_SHARE of its text: precision over recall.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml.html import HtmlElement

from proxy.clean import boilerplate_lines
from proxy.clean.boilerplate_lines import Line
from proxy.clean.nodes import (
    MEDIA_TAGS,
    has_media,
    has_text,
    is_attached,
    short_text,
    tag_of,
)
from proxy.clean.packs.evidence.common import (
    PROTECTED_TAGS,
    Item,
    holds_protected,
    inside_protected,
)
from proxy.clean.packs.wechat import top_blocks

EDGE_BLOCKS = 4  # blocks with text read from each end of the item
EDGE_LINES = 3  # lines read from a block's item-edge side
UNIT_CHARS = 200  # a notice is a sentence or two, not a paragraph of the article
MAX_SHARE = 0.6  # a rule never takes more of an item's text than this (as boilerplate.py)
_DEPTH = 3  # wrappers looked into at an edge
_CONTAINERS = frozenset({"div", "section", "article", "aside", "footer", "header", "main"})
# Never a unit, nor anything holding one: content by nature (lists: an article's own points).
_NOT_UNITS = PROTECTED_TAGS | {"ul", "ol", "dl", "li"}
_LISTS = ("ul", "ol", "dl")


@dataclass(slots=True)
class Unit:
    """A block at an item's edge, or one line of it (line is None: the whole block)."""

    block: HtmlElement
    line: Line | None
    text: str  # whitespace collapsed
    characters: int  # non-whitespace characters
    at_start: bool  # read from the item's start (else from its end)

    def nodes(self) -> list[HtmlElement]:
        return [self.block] if self.line is None else self.line.nodes

    def links(self) -> list[HtmlElement]:
        return [a for node in self.nodes() for a in node.iter("a")]

    def has_media(self) -> bool:
        return any(tag_of(n) in MEDIA_TAGS or has_media(n) for n in self.nodes())


def _characters(text: str) -> int:
    return sum(map(len, text.split()))


class _Taking:
    """What one rule takes from one item, within the bounds."""

    __slots__ = ("root", "item", "taken")

    def __init__(self, root: HtmlElement) -> None:
        self.root = root
        self.item: Item | None = None
        self.taken = 0

    def take(self, unit: Unit) -> bool:
        """Remove unit if the item keeps MAX_SHARE of its text and something besides."""
        item = self.item = self.item or Item(self.root)
        media = 0 if unit.line is not None else sum(1 for _ in unit.block.iter(*MEDIA_TAGS))
        if self.taken + unit.characters > MAX_SHARE * (item.characters + self.taken):
            return False
        if not item.leaves_something(unit.characters, media):
            return False
        self.taken += unit.characters
        if unit.line is None:
            item.remove(unit.block, unit.characters, media)
        else:
            boilerplate_lines.remove(unit.line)
            item.characters -= unit.characters
        return True


def _walk(
    nodes: list[HtmlElement],
    at_start: bool,
    depth: int,
    budget: list[int],
    taking: _Taking,
    is_junk: Callable[[Unit], bool],
) -> None:
    """Read the blocks with text from one edge of nodes (in document order) inwards until
    budget[0] blocks were kept, looking into a wrapper too long to be a unit. A unit taken
    is not counted: the edge moves inwards past it."""
    for node in nodes if at_start else reversed(nodes):
        if budget[0] <= 0:
            return
        if not isinstance(node.tag, str) or not has_text(node):
            continue  # (comments, separators, images, empty wrappers: not the edge's content)
        if not is_attached(node, taking.root):
            continue  # (taken from the other edge)
        tag = tag_of(node)
        if tag in _NOT_UNITS:
            budget[0] -= 1
            continue
        children = [c for c in node if isinstance(c.tag, str)]
        if (
            tag in _CONTAINERS
            and depth < _DEPTH
            and len(children) > 1
            and short_text(node, UNIT_CHARS) is None
            and any(tag_of(c) in _CONTAINERS or tag_of(c) == "p" for c in children)
        ):
            _walk(children, at_start, depth + 1, budget, taking, is_junk)
            continue
        unit = _block_unit(node, at_start)
        if unit is not None and is_junk(unit) and taking.take(unit):
            continue
        for line in _line_units(node, at_start):
            if is_junk(line) and taking.take(line):
                break  # one line per block and edge: the others' <br>s may have moved
        budget[0] -= 1


def _block_unit(block: HtmlElement, at_start: bool) -> Unit | None:
    text = short_text(block, UNIT_CHARS)
    if text is None or holds_protected(block) or next(block.iter(*_LISTS), None) is not None:
        return None
    words = " ".join(text.split())
    return Unit(block, None, words, _characters(words), at_start) if words else None


def _line_units(block: HtmlElement, at_start: bool) -> list[Unit]:
    lines = [line for line in boilerplate_lines.lines_of(block) if line.text]
    if len(lines) < 2:
        return []
    ordered = lines if at_start else lines[::-1]
    units = []
    for line in ordered[: min(EDGE_LINES, len(lines) - 1)]:
        characters = _characters(line.text)
        if characters <= UNIT_CHARS:
            units.append(Unit(block, line, line.text, characters, at_start))
    return units


def remove_units(root: HtmlElement, is_junk: Callable[[Unit], bool]) -> None:
    """Remove the edge units is_junk accepts, within the bounds (see the module docstring)."""
    blocks = top_blocks(root)
    if not blocks or inside_protected(root):
        return
    # The edge is a third of the item at most: a notice in the middle of six paragraphs is
    # the article's (quoted, discussed); at its start or its end it is not.
    with_text = sum(1 for b in blocks if has_text(b))
    budget = min(EDGE_BLOCKS, max(2, with_text // 3))
    taking = _Taking(root)
    for at_start in (True, False):
        _walk(blocks, at_start, 0, [budget], taking, is_junk)

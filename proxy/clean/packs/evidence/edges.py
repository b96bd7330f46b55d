"""An item's edges as short *units*: the blocks that open and close it, and the `<br>`-separated
lines at their item-edge side. What evidence.disclaimers and evidence.download_prompts read;
no rule of its own, no I/O.

A site or an aggregator puts its notices where the article is not: before it or after it. So
blocks are read from each end inwards until EDGE_BLOCKS blocks with text were kept (or a
third of the item's top-level elements, if fewer, but two at least; MAX_VISITS elements at
most, empty ones included), through wrappers that hold the whole
item and into a wrapper of blocks at an edge (a `<div>` of paragraphs: its blocks are the
units, up to _DEPTH levels); empty blocks, separators and images are passed over, and a unit
taken is not counted: the edge moves inwards past it (a download line, then the disclaimer
before it). A block whose text is at most UNIT_CHARS non-whitespace characters is a unit; so
is each of the last (first, at the start) EDGE_LINES lines of a block written as lines
(`…<br><em>文中观点不代表本网立场</em>`), never its only line. Code, tables, quotes, figures,
formulas, headings and lists are never units nor hold one; they count as blocks (the edge is
not past them).

A unit goes only where the item keeps other text or media and when all this rule takes from
one item stays under MAX_SHARE of its text: precision over recall.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean import boilerplate_lines
from proxy.clean.boilerplate_lines import Line
from proxy.clean.nodes import (
    MEDIA_TAGS,
    holds_any,
    is_attached,
    is_blank,
    short_text,
    tag_of,
)
from proxy.clean.packs.evidence.common import PROTECTED_TAGS, Item, holds_protected

EDGE_BLOCKS = 4  # blocks with text read from each end of the item
EDGE_LINES = 3  # lines read from a block's item-edge side
UNIT_CHARS = 200  # a notice is a sentence or two, not a paragraph of the article
MAX_SHARE = 0.6  # a rule never takes more of an item's text than this (as boilerplate.py)
_DEPTH = 3  # wrappers looked into at an edge
MAX_VISITS = 6 * EDGE_BLOCKS  # elements looked at from each edge, empty ones included
LABEL_CHARS = 40  # a heading line's text, whitespace included, at most
_CONTAINERS = frozenset({"div", "section", "article", "aside", "footer", "header", "main"})
# Never a unit, nor anything holding one: content by nature (lists: an article's own points).
_NOT_UNITS = PROTECTED_TAGS | {"ul", "ol", "dl", "li"}
_LISTS = ("ul", "ol", "dl")
_INNER_BLOCKS = _CONTAINERS | {"p"}  # what a wrapper worth looking into holds


def any_of(pieces: Iterable[str]) -> re.Pattern[str]:
    """A pattern finding any of pieces (literals), grouped by their first character: the
    regex engine then tries one branch per character instead of each piece in turn (half
    the time of a flat alternation on English text)."""
    groups: dict[str, list[str]] = {}
    for piece in sorted(set(pieces)):
        groups.setdefault(piece[0], []).append(piece[1:])
    branches = []
    for first, rests in sorted(groups.items()):
        if "" in rests:  # (the shortest piece of the group is enough)
            branches.append(re.escape(first))
        else:
            longest = sorted(rests, key=len, reverse=True)
            branches.append(re.escape(first) + "(?:" + "|".join(map(re.escape, longest)) + ")")
    return re.compile("|".join(branches))


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
        return any(holds_any(n, MEDIA_TAGS) for n in self.nodes())


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


@dataclass(slots=True)
class _Walk:
    """One rule's walk over one item's edges: what it looks for and what it took."""

    taking: _Taking
    is_junk: Callable[[Unit], bool]
    may_hold: Callable[[str], object]  # a cheap first test of a unit's text (is_junk's own)
    is_label: Callable[[str], bool] | None = None  # a line heading the unit after it
    budget: int = 0
    visits: int = 0  # elements looked at, at most, from this edge (empty ones included)
    label: Unit | None = None  # (from the start) the label just passed, kept so far
    took_last: bool = False  # (from the end) the block just passed was taken

    def met(self, label: Unit | None = None, took: bool = False) -> None:
        self.label, self.took_last = label, took


def _walk(container: HtmlElement, at_start: bool, depth: int, walk: _Walk) -> None:
    """Read the blocks with text from one edge of container inwards until walk.budget
    blocks were kept, looking into a wrapper too long to be a unit. A unit taken is not
    counted: the edge moves inwards past it. (Children are read lazily from that edge: an
    article's fifty paragraphs are not all looked at.)"""
    for node in container.iterchildren(etree.Element, reversed=not at_start):
        walk.visits -= 1
        if walk.budget <= 0 or walk.visits < 0:
            return  # (a thousand empty <p>s or <br>s at an edge are not all looked at)
        if walk.taking.taken and not is_attached(node, walk.taking.root):
            continue  # (taken from the other edge)
        tag = tag_of(node)
        if (
            tag in _CONTAINERS
            and depth < _DEPTH
            and len(node) > 1
            and any(tag_of(c) in _INNER_BLOCKS for c in node.iterchildren(etree.Element))
        ):  # a wrapper of blocks: they are the units (its text is not read: the article's)
            _walk(node, at_start, depth + 1, walk)
            continue
        text = short_text(node, UNIT_CHARS)
        if text is not None and is_blank(text):
            continue  # separators, images, empty wrappers: not the edge's content
        if tag in _NOT_UNITS:
            walk.budget -= 1
            continue
        walk.budget -= 1
        if (
            text is not None
            and walk.is_label is not None
            and len(text) <= LABEL_CHARS
            and walk.is_label(text)
        ):
            # "免责声明：" on a line of its own goes with the notice it heads (the next block
            # in document order): met after it from the end, before it from the start.
            heading = _block_unit(node, text, at_start)
            if walk.took_last and not at_start and _allowed(node) and walk.taking.take(heading):
                walk.budget += 1
                walk.met()
            else:
                walk.met(label=heading if at_start and _allowed(node) else None)
            continue
        if text is not None and not walk.may_hold(text):
            walk.met()
            continue  # (nor any of its lines: their text is the block's)
        unit = None if text is None else _block_unit(node, text, at_start)
        taken = unit is not None and walk.is_junk(unit) and _allowed(node)
        if taken and unit is not None and walk.taking.take(unit):
            walk.budget += 1  # (the edge moves inwards past it)
            label = walk.label
            if label is not None and is_attached(label.block, walk.taking.root):
                walk.budget += walk.taking.take(label)
            walk.met(took=True)
            continue
        walk.met()
        for line in _line_units(node, at_start):
            if walk.is_junk(line) and walk.taking.take(line):
                break  # one line per block and edge: the others' <br>s may have moved


def _allowed(block: HtmlElement) -> bool:
    """A block may go whole: it holds no code, table, quote, figure, formula or list."""
    return not holds_protected(block) and next(block.iter(*_LISTS), None) is None


def _block_unit(block: HtmlElement, text: str, at_start: bool) -> Unit:
    words = " ".join(text.split())
    return Unit(block, None, words, _characters(words), at_start)


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


def _container(root: HtmlElement) -> HtmlElement:
    """The element whose children are the item's blocks: root, or the wrapper holding all
    (wechat.top_blocks' reading, without listing every block)."""
    container = root
    for _ in range(16):
        if len(container) > 3 or not is_blank(container.text):
            break
        children = list(container.iterchildren(etree.Element))
        if len(children) != 1 or not is_blank(children[0].tail):
            break
        if tag_of(children[0]) not in ("div", "section", "article", "span"):
            break
        container = children[0]
    return container


def remove_units(
    root: HtmlElement,
    is_junk: Callable[[Unit], bool],
    may_hold: Callable[[str], object],
    is_label: Callable[[str], bool] | None = None,
) -> None:
    """Remove the edge units is_junk accepts, within the bounds (see the module docstring).
    may_hold(text) is false where is_junk cannot accept a unit of that text, or of a part;
    a block whose text is_label accepts goes with the unit taken right after it."""
    container = _container(root)
    # The edge is a third of the item at most: a notice in the middle of six paragraphs is
    # the article's (quoted, discussed); at its start or its end it is not.
    # (Its children are counted, empty ones too: looking for text in each cost a quarter
    # of the rule; an item padded with empty paragraphs reads up to EDGE_BLOCKS a side.)
    blocks = len(container)
    walk = _Walk(_Taking(root), is_junk, may_hold, is_label)
    if len(container) and (not is_blank(container.text) or not is_blank(container[-1].tail)):
        _own_lines(container, walk)  # an item written as lines (Blogger, Tumblr: text<br>…)
    if not blocks:
        return
    budget = min(EDGE_BLOCKS, max(2, blocks // 3))
    for at_start in (True, False):
        walk.budget, walk.visits = budget, MAX_VISITS
        walk.met()
        _walk(container, at_start, 0, walk)


def _own_lines(container: HtmlElement, walk: _Walk) -> None:
    """The first and last lines of an item whose text is its own lines, not blocks."""
    for at_start in (True, False):
        for line in _line_units(container, at_start):
            if walk.may_hold(line.text) and walk.is_junk(line) and walk.taking.take(line):
                break  # (one line per edge: the others' <br>s may have moved)

"""An item's edges as short *units*: the blocks that open and close it, and the `<br>`-separated
lines at their item-edge side. What evidence.disclaimers and evidence.download_prompts read;
no rule of its own, no I/O.

A site or an aggregator puts its notices where the article is not: before it or after it. So
only the first and last EDGE_BLOCKS blocks with text are read (through wrappers that hold the
whole item, and into a wrapper at an edge whose text is too long to be one notice), empty
ones, separators and images passed over. A block whose text is at most UNIT_CHARS
non-whitespace characters is a unit; so is each of the last (first, at the start) EDGE_LINES
lines of a block written as lines (`…<br><em>文中观点不代表本网立场</em>`), never its only line.
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
from proxy.clean.nodes import MEDIA_TAGS, has_media, has_text, is_attached, short_text, tag_of
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
MAX_SHARE = 0.5  # a rule never takes more of an item's text than this
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


def _edge_blocks(
    nodes: list[HtmlElement], at_start: bool, depth: int, budget: list[int]
) -> list[HtmlElement]:
    """Blocks with text from the edge of nodes (in document order), looking into a wrapper
    too long to be a unit, until budget[0] blocks were met."""
    found: list[HtmlElement] = []
    for node in nodes if at_start else reversed(nodes):
        if budget[0] <= 0:
            break
        if not isinstance(node.tag, str) or not has_text(node):
            continue  # (comments, separators, images, empty wrappers: not the edge's content)
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
            found += _edge_blocks(children, at_start, depth + 1, budget)
            continue
        budget[0] -= 1
        found.append(node)
    return found


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


def edge_units(root: HtmlElement) -> list[Unit]:
    """The units at root's edges: per edge block (from the start, then from the end), the
    block, then its edge lines; each block once from each side."""
    blocks = top_blocks(root)
    units: list[Unit] = []
    seen: set[tuple[int, bool]] = set()
    for at_start in (True, False):
        for block in _edge_blocks(blocks, at_start, 0, [EDGE_BLOCKS]):
            if (id(block), at_start) in seen or inside_protected(block):
                continue
            seen.add((id(block), at_start))
            unit = _block_unit(block, at_start)
            if unit is not None and (id(block), not at_start) not in seen:
                units.append(unit)
            units += _line_units(block, at_start)
    return units


def remove_units(root: HtmlElement, is_junk: Callable[[Unit], bool]) -> None:
    """Remove each edge unit is_junk accepts, within the bounds (see the module docstring)."""
    units = edge_units(root)
    if not units:
        return
    item: Item | None = None
    taken = 0
    lines_taken: set[int] = set()
    for unit in units:
        if not is_attached(unit.block, root) or not is_junk(unit):
            continue
        if unit.line is not None and id(unit.block) in lines_taken:
            continue  # one line per block: the others' <br>s may have moved
        item = item or Item(root)
        total = item.characters + taken
        media = 0 if unit.line is not None else sum(1 for _ in unit.block.iter(*MEDIA_TAGS))
        if taken + unit.characters > MAX_SHARE * total:
            continue
        if not item.leaves_something(unit.characters, media):
            continue
        taken += unit.characters
        if unit.line is None:
            item.remove(unit.block, unit.characters, media)
        else:
            lines_taken.add(id(unit.block))
            boilerplate_lines.remove(unit.line)
            item.characters -= unit.characters

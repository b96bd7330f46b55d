"""Issue 15.1's speed-ups of the auto pack's edge analysis (proxy/clean/boilerplate.py,
boilerplate_blocks.py, boilerplate_lines.py) are pure: the per-node test of the edge walks,
the walks themselves, the run after the last separator, the container and the lines of a
block give what the code before them gave — kept below verbatim, only renamed — over every
element and every item of tests/speedup_trees.py (the test data as parsed, as the auto
pack sees it, and odd trees with comments, PIs and upper-case tags).
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree
from lxml.html import HtmlElement

from proxy.clean import boilerplate, boilerplate_blocks, boilerplate_lines
from proxy.clean.boilerplate import _BLOCK_TAGS, _WRAPPER_TAGS, EDGE_BLOCKS, MAX_DEPTH, MAX_VISITS
from proxy.clean.boilerplate_blocks import (
    MAX_BLOCK_CHARS,
    SACRED_TAGS,
    Block,
    _links,
    _structure,
    collapse,
    digest,
    is_separator,
    media_keys,
)
from proxy.clean.nodes import (
    MEDIA_TAGS,
    SEPARATOR_TAGS,
    has_media,
    has_text,
    holds_any,
    is_blank,
    tag_of,
)
from tests.speedup_trees import trees
from tests.test_clean_nodes_speedups import reference_short_text

# --- the code before the speed-up ------------------------------------------------------


def _reference_is_empty(node: HtmlElement) -> bool:
    return tag_of(node) not in MEDIA_TAGS and not has_text(node) and not has_media(node)


def _reference_block(nodes: list[HtmlElement], tails: list[HtmlElement]) -> Block | None:
    pieces = []
    for node in nodes:
        piece = reference_short_text(node, MAX_BLOCK_CHARS)
        if piece is None:
            return None
        pieces.append(piece)
    if any(holds_any(node, SACRED_TAGS) for node in nodes):
        return None
    text = "".join(pieces) + "".join(node.tail or "" for node in tails)
    words = collapse(text)
    if len(words) > MAX_BLOCK_CHARS:
        return None
    if words:
        fingerprint = "t:" + digest(words.casefold(), *_links(nodes))
    else:
        media = media_keys(nodes)
        if not media:
            return None
        fingerprint = "m:" + digest(_structure(nodes), *media)
    return Block(nodes, words, fingerprint, tails)


def reference_look(node: HtmlElement) -> tuple[bool, Block | None]:
    passed = tag_of(node) in SEPARATOR_TAGS or _reference_is_empty(node)
    return passed, None if passed else _reference_block([node], [])


def reference_lines_of(node: HtmlElement) -> list[boilerplate_lines.Line]:
    holder = boilerplate_lines._holder(node)
    if holder is None:
        return []
    lines: list[boilerplate_lines.Line] = []
    owner, first, before = holder, True, None
    nodes: list[HtmlElement] = []
    for child in holder:
        if tag_of(child) == "br":
            lines.append(boilerplate_lines._line(holder, owner, first, nodes, before, child))
            owner, first, nodes, before = child, False, [], child
        else:
            nodes.append(child)
    lines.append(boilerplate_lines._line(holder, owner, first, nodes, before, None))
    return lines


def _reference_only_blank_beside(node: HtmlElement, *, before: bool) -> bool:
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


def reference_container(root: HtmlElement) -> HtmlElement:
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


def reference_edge_blocks(
    container: HtmlElement,
) -> tuple[list[Block | None], list[Block | None]]:
    children = [c for c in container if isinstance(c.tag, str)]
    seen: dict[int, tuple[HtmlElement, bool, Block | None]] = {}

    def look(node: HtmlElement) -> tuple[bool, Block | None]:
        known = seen.get(id(node))
        if known is None or known[0] is not node:
            passed = tag_of(node) in SEPARATOR_TAGS or _reference_is_empty(node)
            known = seen[id(node)] = (
                node,
                passed,
                None if passed else _reference_block([node], []),
            )
        return known[1], known[2]

    def walk(order: Sequence[HtmlElement], from_start: bool) -> list[Block | None]:
        found: list[Block | None] = []
        pending = list(order)
        depth = visits = blocks = 0
        while pending and visits < MAX_VISITS:
            node = pending.pop(0)
            visits += 1
            if not _reference_only_blank_beside(node, before=from_start):
                break
            if tag_of(node) not in _BLOCK_TAGS and not _reference_only_blank_beside(
                node, before=not from_start
            ):
                break
            passed, block = look(node)
            if passed:
                found.append(None)
                continue
            if block is None:
                if depth < MAX_DEPTH and tag_of(node) in _WRAPPER_TAGS and len(node):
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


def reference_run_after_separator(container: HtmlElement) -> Block | None:
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
            nodes = [n for n in run if not is_separator(n)]
            if not nodes and is_blank(node.tail):
                return None
            return _reference_block(nodes, [node, *run])
    return None


def _described(block: Block | None) -> object:
    if block is None:
        return None
    return (
        [id(n) for n in block.nodes],
        block.text,
        block.fingerprint,
        [id(n) for n in block.tails],
    )


def _each_described(blocks: list[Block | None]) -> list[object]:
    return [_described(b) for b in blocks]


# --- the differentials -------------------------------------------------------------------


def test_look_is_the_old_separator_empty_and_block_tests() -> None:
    """The edge walk's per-node test (one pass for a leaf) is _is_separator/_is_empty and
    _block as they were: the same verdict, the same block text and fingerprint."""
    differ = []
    checked = 0
    for root in trees():
        for node in root.iter():
            passed, block = boilerplate_blocks.look(node)
            old_passed, old_block = reference_look(node)
            checked += 1
            if (passed, _described(block)) != (old_passed, _described(old_block)):
                differ.append(etree.tostring(node)[:200])
    assert checked > 50_000
    assert differ == []


def test_lines_of_is_the_old_lines_of() -> None:
    differ = []
    for root in trees():
        for node in root.iter(etree.Element):
            if boilerplate_lines.lines_of(node) != reference_lines_of(node):
                differ.append(etree.tostring(node)[:200])
    assert differ == []


def test_edge_walks_container_and_run_are_the_old_ones() -> None:
    """Each item's container, its blocks from both edges (the walks now make children's
    proxies as they reach them) and the run after its last separator, as before. The
    elements compared are the same objects: both sides walk one tree, which keeps them."""
    differ = []
    walked = 0
    for root in trees():
        # (each element with children is also a container: more shapes than items have)
        for node in [root, *(n for n in root.iter(etree.Element) if len(n) > 1)]:
            container = boilerplate._container(node)
            if container is not reference_container(node):
                differ.append(("container", etree.tostring(node)[:200]))
                continue
            head, tail = boilerplate._edge_blocks(container)
            old_head, old_tail = reference_edge_blocks(container)
            walked += len(head) + len(tail)
            if (_each_described(head), _each_described(tail)) != (
                _each_described(old_head),
                _each_described(old_tail),
            ):
                differ.append(("edges", etree.tostring(node)[:200]))
            run = boilerplate._run_after_separator(container)
            if _described(run) != _described(reference_run_after_separator(container)):
                differ.append(("run", etree.tostring(node)[:200]))
    assert walked > 20_000
    assert differ == []

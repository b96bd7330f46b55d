"""Issue 15.1's speed-ups of the tree helpers (proxy/clean/nodes.py) and of the auto pack's
edge walk (proxy/clean/boilerplate.py, boilerplate_lines.py) are pure: each new path gives
what the code before it gave, over every element of every item the test data holds — as
parsed, and as the auto pack sees it (after the packs before it) — and over small trees
with what the parser never makes (comments, processing instructions, upper-case tags).

The reference functions below are the code as it was before the speed-up, kept verbatim
(only renamed), so the comparison is old path against new path.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pytest
from lxml import etree
from lxml.html import HtmlElement

from proxy import clean
from proxy.clean import boilerplate, boilerplate_blocks, boilerplate_lines
from proxy.clean.boilerplate_blocks import (
    MAX_BLOCK_CHARS,
    SACRED_TAGS,
    Block,
    _links,
    _structure,
    collapse,
    digest,
    media_keys,
)
from proxy.clean.nodes import (
    MEDIA_TAGS,
    SEPARATOR_TAGS,
    has_media,
    has_text,
    holds_any,
    html_parser,
    short_text,
    tag_of,
    text_of,
)
from proxy.clean.tree import parse_fragment
from tests import clean_inputs

LIMITS = (0, 1, 12, 40, 200, 800)


# --- the code before the speed-up ------------------------------------------------------


def reference_short_text(node: HtmlElement, limit: int) -> str | None:
    text = node.text
    count = sum(map(len, text.split())) if text else 0
    if count > limit:
        return None
    if isinstance(node.tag, str):
        if not len(node):  # no children: its .text is all of its text (the same string)
            return text or ""
        for inner in node.iterdescendants():
            if isinstance(inner.tag, str) and (text := inner.text):
                count += sum(map(len, text.split()))
                if count > limit:
                    return None
            if text := inner.tail:
                count += sum(map(len, text.split()))
                if count > limit:
                    return None
    return text_of(node)


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


# --- the trees ---------------------------------------------------------------------------


@functools.cache
def _item_htmls() -> tuple[str, ...]:
    return tuple(html for _, htmls in clean_inputs.batches() for html in htmls)


@functools.cache
def _auto_inputs() -> tuple[str, ...]:
    """Each item as the auto pack's analysis receives it (the packs before it have run)."""
    seen: list[str] = []
    original = boilerplate.analyse

    def spy(root: HtmlElement) -> boilerplate._Item:
        seen.append(clean.serialise(root))
        return original(root)

    boilerplate.analyse = spy
    try:
        for _, htmls in clean_inputs.batches():
            clean.clean_items(list(htmls))
    finally:
        boilerplate.analyse = original
    return tuple(seen)


# What the parser never makes (it drops comments and PIs) but a tree handed to the helpers
# may hold: comments and PIs with text and tails, upper-case tags, whitespace-only pieces,
# NBSP, text just over and under each limit, media and sacred elements as leaves.
_ODD = (
    "<p>  a  b  </p><div>x<b>  </b>y<!-- hidden words -->tail</div>",
    "<DIV>Upper <SPAN>case</SPAN></DIV><IMG src='x.png'><BR><HR>",
    "<p>\u00a0\u00a0</p><p>\u3000</p><span> </span><a href='https://e.org/p'>link</a>",
    "<p>" + "x" * 40 + "</p><p>" + "y " * 40 + "</p><p>" + "z" * 41 + "</p>",
    "<div>" + "<p>" + "w" * 300 + "</p>" * 3 + "</div><p>" + "字" * 801 + "</p>",
    "<p>" + "ab " * 300 + "</p><p>" + "c" * 800 + "</p><p>" + "d" * 801 + "</p>",
    "<pre>code</pre><table><tr><td>cell</td></tr></table><code>x</code><img>",
    "<div><br></div><p><img src='a.png'></p><video src='v.mp4'></video><svg></svg>",
    "<p>one<br>two<br>three</p><p><small>a line here<br>another line</small></p>",
)


def _odd_trees() -> Iterator[HtmlElement]:
    parser = html_parser()  # keeps comments and PIs, unlike the clean stage's parser
    for html in _ODD:
        document = etree.fromstring(f"<html><body>{html}<?pi some text?>tail</body></html>", parser)
        body = document.find("body")
        assert body is not None
        yield body
        root = parse_fragment(html)
        comment = etree.Comment(" a comment with words ")
        comment.tail = " after it "
        root.insert(0, comment)
        if len(root) > 1:
            root[1].append(etree.Comment("inner"))
            root[1].append(etree.ProcessingInstruction("pi", "text"))
        yield root


@functools.cache
def _trees() -> tuple[HtmlElement, ...]:
    """Parsed once for every test here: none of the functions compared edits a tree."""
    parsed = [parse_fragment(html) for html in (*_item_htmls(), *_auto_inputs())]
    return (*parsed, *_odd_trees())


def _described(block: Block | None) -> object:
    if block is None:
        return None
    return ([id(n) for n in block.nodes], block.text, block.fingerprint, block.tails)


# --- the differentials -------------------------------------------------------------------


def test_the_trees_cover_what_the_fast_paths_take() -> None:
    """The data holds leaves and nested elements, short and long text, comments, media."""
    nodes = [n for root in _trees() for n in root.iter()]
    assert len(nodes) > 50_000
    assert any(not isinstance(n.tag, str) for n in nodes)
    leaves = [n for n in nodes if isinstance(n.tag, str) and not len(n)]
    assert any(reference_short_text(n, 800) is None for n in leaves)
    assert any(reference_short_text(n, 40) is None for n in nodes if len(n))
    assert any(reference_short_text(n, 40) for n in nodes if len(n))


def test_short_text_is_the_old_short_text() -> None:
    differ = []
    for root in _trees():
        for node in root.iter():
            for limit in LIMITS:
                if short_text(node, limit) != reference_short_text(node, limit):
                    differ.append((etree.tostring(node)[:200], limit))
    assert differ == []


def test_look_is_the_old_separator_empty_and_block_tests() -> None:
    """The edge walk's per-node test (one pass for a leaf) is _is_separator/_is_empty and
    _block as they were: the same verdict, the same block text and fingerprint."""
    differ = []
    checked = 0
    for root in _trees():
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
    for root in _trees():
        for node in root.iter(etree.Element):
            if boilerplate_lines.lines_of(node) != reference_lines_of(node):
                differ.append(etree.tostring(node)[:200])
    assert differ == []


@pytest.mark.parametrize("limit", LIMITS)
def test_short_text_at_its_limit(limit: int) -> None:
    """Exactly limit non-whitespace characters is short; one more is not, however spread
    over nested pieces and whitespace."""
    root = parse_fragment(
        "<div>" + "".join(f"<b> {'x' * 3} </b> " for _ in range(limit // 3)) + "</div>"
    )
    div = root[0]
    padding = limit - 3 * (limit // 3)
    div.text = "y" * padding
    assert short_text(div, limit) == text_of(div) == reference_short_text(div, limit)
    div.text += "z"
    assert short_text(div, limit) is None
    assert reference_short_text(div, limit) is None

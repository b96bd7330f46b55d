"""Boilerplate by line inside one edge block: a site's footer line that shares a block with
lines that differ per item. Part of the clean stage (auto.boilerplate); no I/O.

China Digital Times closes every item with one `<p><small>`: the author and permalink line,
the post's tags, then the site's subscription line, separated by `<br>`. As a block it
differs per item (tags, permalink), so boilerplate.py keeps it whole; its last line is the
same in every item. Here such a block is split into its *lines* (the runs of text and inline
elements between `<br>`s) and each line is a candidate of its own, fingerprinted like a block
(text whitespace-collapsed and case-folded, with its links' hosts and paths) and also by its
side and place from the block's edge (the last line, the one before it…): a site template
puts its line at the same place in every item, an article's own lines are not so regular.

A line is a candidate only if it is read from the block's item-edge side inwards (the first
lines of a block at the item's start, the last lines of one at its end), and only while each
line met is one: a line that is
- at least MIN_LINE_CHARS characters long (a short line — "Serves four" — may recur in a
  recipe blog's every item and still be the item's own);
- not mostly link text, and not opened by a bullet or a number (an entry of a list of links:
  MacRumors' "• <a>an older story</a>" is the same in every item fetched together; "2 cups
  of flour" is a recipe's);
- not a label ending in a colon (it introduces what follows, which differs), not a byline,
  not a credit naming a person ("Host: Jane Doe", "Music by Kevin MacLeod");
- free of images and players (media-only boilerplate is block-level);
- not joined to the line on its inner side by a comma (a sentence broken over lines, verse).
Lines are read only in the block at the item's very edge (the first block from the start or
the end, empty ones passed over): a finer, weaker signal than a whole block, so it is not
walked further in once a block went. A line is removed where boilerplate.py's bounds allow
(share of the item's text, never its only content) and never when it would leave its block
without a line of text: then the whole block is the same in every item, a block's business.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from proxy.clean import attribution
from proxy.clean.bylines import is_byline
from proxy.clean.nodes import MEDIA_TAGS, has_media, is_blank, tag_of, text_of

# How many lines are read from a block's edge, and how short a line may be to be removed.
EDGE_LINES = 3
MIN_LINE_CHARS = 12
LINKED_SHARE = 0.5  # a line whose link text is at least this share is a link entry
# Wrappers looked through to the element that holds the lines (`<p><small>…</small></p>`).
_INLINE_WRAPPERS = frozenset({"p", "div", "small", "span", "font", "em", "i", "b", "strong"})
# Inline elements a line may hold; anything else (a block, a list, code) means no lines.
_INLINE_TAGS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "cite", "data", "dfn", "em", "font", "i", "mark"}
    | {"s", "small", "span", "strong", "sub", "sup", "time", "u", "wbr"}
)
# A line ending so runs on into the next one (a sentence broken over lines, verse).
_CONTINUED = (",", "，", ";", "；", "、", "-", "–", "—", "…")
# What opens an entry of a list written as lines.
_BULLETS = "•·‣▪▫●○◦◆◇■□►▶▸»>*-–—+✓✔☆★"


@dataclass(slots=True)
class Line:
    """One line of a block: the text after `owner` (its .text for the first line, a <br>'s
    .tail after it), the inline elements up to the next <br>, and their tails."""

    owner: HtmlElement
    first: bool  # the line's leading text is owner.text (the holder's), not a <br>'s tail
    nodes: list[HtmlElement]
    before: HtmlElement | None  # the <br> the line starts after (None: the first line)
    after: HtmlElement | None  # the <br> that ends it (None: the last line)
    text: str  # whitespace collapsed
    holder: HtmlElement | None = None  # the element whose children the lines are
    fingerprint: str = ""


def _words(text: str) -> str:
    return " ".join(text.split())


def _holder(node: HtmlElement) -> HtmlElement | None:
    """The element whose children are the block's lines, or None: the block is not lines."""
    holder = node
    for _ in range(4):  # <p><small>…</small></p>: a wrapper or two, not more
        if next(holder.iter("br"), None) is None:
            return None
        children = list(holder)
        if any(not isinstance(c.tag, str) for c in children):
            return None  # a comment among the lines: not read (rare, and not shown)
        if any(tag_of(c) == "br" for c in children):
            for child in children:
                if tag_of(child) == "br":
                    continue
                if tag_of(child) not in _INLINE_TAGS:
                    return None
                if next(child.iterdescendants("br"), None) is not None:
                    return None  # a break inside an inline element: not a plain line run
                if any(tag_of(e) not in _INLINE_TAGS for e in child.iterdescendants()):
                    return None
            return holder
        if len(children) != 1 or not is_blank(holder.text) or not is_blank(children[0].tail):
            return None
        if tag_of(children[0]) not in _INLINE_WRAPPERS:
            return None
        holder = children[0]
    return None


def lines_of(node: HtmlElement) -> list[Line]:
    """node's lines in order (empty ones included), or [] when it is not a run of lines."""
    if not len(node):
        return []  # a leaf holds no <br> (_holder would say None): no tag walk set up
    holder = _holder(node)
    if holder is None:
        return []
    lines: list[Line] = []
    owner, first, before = holder, True, None
    nodes: list[HtmlElement] = []
    for child in holder:
        if tag_of(child) == "br":
            lines.append(_line(holder, owner, first, nodes, before, child))
            owner, first, nodes, before = child, False, [], child
        else:
            nodes.append(child)
    lines.append(_line(holder, owner, first, nodes, before, None))
    return lines


def _line(
    holder: HtmlElement,
    owner: HtmlElement,
    first: bool,
    nodes: list[HtmlElement],
    before: HtmlElement | None,
    after: HtmlElement | None,
) -> Line:
    lead = (owner.text if first else owner.tail) or ""
    text = lead + "".join(text_of(n) + (n.tail or "") for n in nodes)
    return Line(owner, first, list(nodes), before, after, _words(text), holder)


def _links(nodes: Sequence[HtmlElement]) -> list[str]:
    found = []
    for node in nodes:
        for a in node.iter("a"):
            try:
                parts = urlsplit((a.get("href") or "").strip())
            except ValueError:
                continue
            found.append((parts.hostname or "") + parts.path)
    return found


def _is_candidate(line: Line) -> bool:
    text = line.text
    if len(text.replace(" ", "")) < MIN_LINE_CHARS:
        return False
    if text[0] in _BULLETS or text.split()[0].rstrip(".)、").isdigit():
        return False
    if text.endswith((":", "：")) or is_byline(text) or _credits_a_name(text):
        return False
    if any(tag_of(n) in MEDIA_TAGS or has_media(n) for n in line.nodes):
        return False
    linked = sum(len(_words(text_of(a)).replace(" ", "")) for n in line.nodes for a in n.iter("a"))
    return linked < LINKED_SHARE * len(text.replace(" ", ""))


def _credits_a_name(text: str) -> bool:
    """A credit: "Host: Jane Doe", "Music by Kevin MacLeod (incompetech.com)" — a role, then a
    person's name (a podcast's or a column's credits recur in every item and name people)."""
    for separator in (":", "：", " by "):
        head, found, rest = text.partition(separator)
        if found and len(head.split()) <= 4:
            name = rest.split("(")[0].split(",")[0].strip()
            if name and is_byline(name):
                return True
    return False


def _digest(*parts: str) -> str:
    data = "\0".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:20]


def edge_lines(node: HtmlElement, *, from_start: bool) -> list[Line]:
    """The candidate lines of node from its edge on the item-edge side inwards (the first
    lines when the block opens the item, the last when it closes it), each fingerprinted;
    the walk stops at the first line that is no candidate, and keeps a line of text back."""
    lines = [line for line in lines_of(node) if line.text]
    if len(lines) < 2:
        return []  # one line: the block itself
    ordered = lines if from_start else lines[::-1]
    found: list[Line] = []
    side = "start" if from_start else "end"
    for place, line in enumerate(ordered[: min(EDGE_LINES, len(ordered) - 1)]):
        # The line on its inner side, in document order before (end) or after (start) it.
        inner = ordered[place + 1]
        earlier, later = (inner, line) if not from_start else (line, inner)
        if not _is_candidate(line) or earlier.text.endswith(_CONTINUED):
            break  # (a line ending in a comma runs on into the next: one sentence, verse)
        line.fingerprint = "l:" + _digest(
            side, str(place), line.text.casefold(), *_links(line.nodes)
        )
        found.append(line)
    return found


def removable(lines: Sequence[Line], boilerplate: AbstractSet[str]) -> list[Line]:
    """The lines from the block's edge inwards while each is boilerplate."""
    chosen: list[Line] = []
    for line in lines:
        if line.fingerprint not in boilerplate:
            break
        chosen.append(line)
    return chosen


def remove(line: Line) -> None:
    """Take line out of its block with one of the <br>s around it, as one removal of kind
    "line" (attribution.removed_line: `feedscrub explain` and the preview name it a line,
    with its text; the preview strikes it in place)."""
    holder = line.holder
    if holder is None:
        return
    # A line after one removed before it (two lines from a block's start) has lost the <br>
    # it started after: it is the block's first line now, its text the holder's .text.
    before = line.before
    if before is not None and before.getparent() is not holder:
        before = None
    first = before is None
    attribution.removed_line(holder, line.before, line.after, line.text)
    wrapper = holder.makeelement("span", {})
    br = before if before is not None else line.after
    if first:
        wrapper.text, holder.text = holder.text, None
        holder.insert(0, wrapper)
    else:
        assert before is not None
        holder.insert(holder.index(before), wrapper)
    # The <br> before the line goes with it (its tail is the line's text); a first line
    # takes the <br> after it, whose tail (the next line) stays where it was.
    if br is before and br is not None:
        wrapper.append(br)
    for node in line.nodes:
        wrapper.append(node)
    if br is line.after and br is not None:
        wrapper.tail, br.tail = br.tail, None
        wrapper.append(br)
    wrapper.drop_tree()  # (attributed above, as a line: not as this <span>)


# --- the edge blocks' lines (boilerplate.py's blocks) --------------------------------------


class EdgeBlock(Protocol):
    """A block as boilerplate.py finds it at an item's edge."""

    @property
    def nodes(self) -> list[HtmlElement]: ...

    @property
    def tails(self) -> list[HtmlElement]: ...

    @property
    def fingerprint(self) -> str: ...


def block_lines(blocks: Sequence[EdgeBlock | None], *, from_start: bool) -> list[list[Line]]:
    """Each edge block's candidate lines (a one-element block only: a run is not split)."""
    return [
        edge_lines(b.nodes[0], from_start=from_start)
        if b is not None and len(b.nodes) == 1 and not b.tails
        else []
        for b in blocks
    ]


def at_edges(
    edges: Sequence[tuple[Sequence[EdgeBlock | None], Sequence[list[Line]]]],
    boilerplate: AbstractSet[str],
) -> list[Line]:
    """The boilerplate lines of the block at each edge of an item — the first from the edge,
    separators and empty elements passed over — when it is not boilerplate as a whole. When
    both edges meet in one block, only the end's lines count (a block keeps a line of text).

    edges: (blocks, their block_lines) from the start, then from the end.
    """
    found: dict[int, list[Line]] = {}
    for blocks, lines in edges:
        at = next((i for i, b in enumerate(blocks) if b is not None), None)
        if at is None or not lines[at]:
            continue
        block = blocks[at]
        assert block is not None
        if block.fingerprint not in boilerplate:
            found[id(block.nodes[0])] = removable(lines[at], boilerplate)
    return [line for chosen in found.values() for line in chosen]

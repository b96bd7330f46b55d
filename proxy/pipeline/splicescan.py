"""Where each top-level item of an RSS 2.0 or Atom document lies in its bytes, without
parsing it: the splice path's scanner (``splice``). Pure, no I/O.

The head (everything before the first item) is read tag by tag, so the scanner knows the
items sit right inside ``rss/channel`` (or the Atom ``feed``); inside and between items it
only jumps from one ``<`` that matters to the next (a comment, CDATA, a processing
instruction, an item tag), so it costs a few regex searches per item, whatever the item
holds. It respects comments, CDATA and processing instructions (``<item>`` inside them is
text), and declines (None) whenever a splice could differ from a full build:

* a DOCTYPE or any other ``<!`` declaration (entities feedparser and lxml read apart);
* a prefixed root or item (``<atom:feed>``), RSS 1.0, items beside the channel, an item
  nested in an item, a self-closing item, anything but whitespace between two items;
* a namespace prefix bound to two URIs, or a URI to two prefixes, anywhere in the root,
  the channel or the items (feedparser's namespace table is one for the whole document);
* anything it cannot read as well-formed markup.

In a well-formed document ``<`` in text or attribute values is always escaped, so the only
places where ``<item`` is not a tag are the three the scanner skips. Every linear: searches
move forward, no pattern backtracks (possessive quantifiers).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# A start tag: its name, its attributes (quoted values may hold ">"), optional "/".
_START = re.compile(
    rb"<([^\s/>!?=<\"']++)((?:\s++[^\s=/>]++\s*+=\s*+(?:\"[^\"]*+\"|'[^']*+'))*+)\s*+(/?)>"
)
_END = re.compile(rb"</([^\s/>!?=<\"']++)\s*+>")
_SPACE = re.compile(rb"[ \t\r\n]*+")
# Inside items: the only "<" that matter.
_JUMP = {
    b"item": re.compile(rb"<(?:!--|!\[CDATA\[|\?|!|(/?)item(?=[\s/>]))"),
    b"entry": re.compile(rb"<(?:!--|!\[CDATA\[|\?|!|(/?)entry(?=[\s/>]))"),
}
_AFTER_NAME = (b" ", b"\t", b"\r", b"\n", b">", b"/")
_TERMINATORS = {b"<!--": b"-->", b"<![CDATA[": b"]]>", b"<?": b"?>"}
ATOM_NS = b"http://www.w3.org/2005/Atom"
_LOOKAHEAD = 3  # known items tried at each item: the expected one and the next two


@dataclass(frozen=True, slots=True)
class Layout:
    """The byte ranges of a document's top-level items."""

    items: tuple[tuple[int, int], ...]  # (start, end) of each item, in document order
    head_end: int  # where the first item starts (== tail start when there is none)
    context: bytes  # the root's (and the channel's) start tags: namespaces, xml:base, lang
    item_tag: bytes  # b"item" or b"entry"
    # Per item, the index of the known item it is (``scan``'s known), or -1; not compared.
    known: tuple[int, ...] = field(default=(), compare=False)
    # Per item, whether its bytes hold "xmlns" (``scan``'s quiet, for the next scan).
    declares: tuple[bool, ...] = field(default=(), compare=False)


class _Bindings:
    """Namespace prefixes and URIs bound anywhere in the root, channel and items: consistent
    (each prefix to one URI, each URI to one prefix; default namespaces aside) or declined.
    feedparser keeps one table of namespaces for the whole document, filled as declarations
    come, and names an element of a URI by the first prefix it saw for it: with one prefix
    per URI, an item reads the same whichever items came before it."""

    def __init__(self) -> None:
        self.uris: dict[bytes, bytes] = {}
        self.prefixes: dict[bytes, bytes] = {}

    def add(self, body: bytes, start: int, end: int | None) -> bool:
        for match in _DECLARATION.finditer(body, start, len(body) if end is None else end):
            prefix, uri = match.group(1), match.group(2) or match.group(3) or b""
            if not prefix:
                continue  # a default namespace: feedparser never names by it
            if self.uris.setdefault(prefix, uri) != uri:
                return False
            if self.prefixes.setdefault(uri, prefix) != prefix:
                return False
        return True


# Anywhere in an item, text included (a declaration written as text only adds a constraint).
_DECLARATION = re.compile(rb"xmlns(?::([^\s=/>]++))?\s*+=\s*+(?:\"([^\"]*+)\"|'([^']*+)')")


def _skip(body: bytes, pos: int) -> int | None:
    """Past the comment, CDATA or processing instruction starting at pos (None: unclosed
    or a declaration)."""
    for opener, closer in _TERMINATORS.items():
        if body.startswith(opener, pos):
            end = body.find(closer, pos + len(opener))
            return None if end < 0 else end + len(closer)
    return None


def scan(
    body: bytes,
    *,
    empty: bool = False,
    known: Sequence[bytes] = (),
    quiet: Sequence[bool] = (),
) -> Layout | None:
    """The layout of ``body``, or None when a splice should not be tried (module docstring).
    empty: self-closing items are items too (the splice's stand-ins, in its own output).
    known: the items (their bytes, as a scan found them) of an earlier version of the
    document, in order: an item starting with the very bytes of one of them (the next ones
    expected) ends where it does, so it is not searched through (scanning an item reads only
    its own bytes); ``Layout.known`` says which one each item is. quiet: per known item,
    True when its bytes hold no ``xmlns`` (a match is then not searched for declarations:
    that search read every byte of every item)."""
    stack: list[bytes] = []
    context: list[bytes] = []
    pos = 0
    item_tag = b""
    depth_of_items = 0
    # The head, tag by tag, up to the first item (or the end of the document).
    while True:
        pos = body.find(b"<", pos)
        if pos < 0:
            return None
        if body.startswith(b"<!", pos) or body.startswith(b"<?", pos):
            skipped = _skip(body, pos)
            if skipped is None:
                return None  # a DOCTYPE or another declaration, or unclosed
            pos = skipped
            continue
        if body.startswith(b"</", pos):
            match = _END.match(body, pos)
            if match is None or not stack or stack.pop() != match.group(1):
                return None
            if not stack:
                # The document closed without an item: nothing to splice.
                return Layout((), pos, b"".join(context), item_tag)
            pos = match.end()
            continue
        match = _START.match(body, pos)
        if match is None:
            return None
        name = match.group(1)
        if not stack:
            if name == b"rss":
                item_tag, depth_of_items = b"item", 2
            elif name == b"feed" and b'"' + ATOM_NS + b'"' in match.group(2).replace(b"'", b'"'):
                item_tag, depth_of_items = b"entry", 1
            else:
                return None  # RSS 1.0, a prefixed root, not a feed
            context.append(match.group(0))
        elif len(stack) == 1 and item_tag == b"item" and name == b"channel":
            context.append(match.group(0))
        if name == item_tag:
            if (
                len(stack) != depth_of_items
                or match.group(3)
                and not empty
                or (item_tag == b"item" and stack[-1] != b"channel")
            ):
                return None
            break
        if not match.group(3):
            stack.append(name)
        pos = match.end()
    head_end = pos
    bindings = _Bindings()
    if not bindings.add(b"".join(context), 0, None):
        return None
    jump = _JUMP[item_tag]
    items: list[tuple[int, int]] = []
    matched: list[int] = []
    declares: list[bool] = []
    expected = 0  # the known item expected next (an insertion, a change, a removal resync)
    opener = b"<" + item_tag
    after_name = len(opener)
    while True:
        # pos is at an item's start tag.
        start = pos
        silent = False
        # Most items are the one expected next: tried first, before the look-ahead.
        if expected < len(known) and known[expected] and body.startswith(known[expected], pos):
            k = expected
            expected, pos = k + 1, pos + len(known[k])
            matched.append(k)
            silent = k < len(quiet) and quiet[k]
        else:
            for k in range(expected + 1, min(expected + _LOOKAHEAD, len(known))):
                if known[k] and body.startswith(known[k], pos):
                    expected, pos = k + 1, pos + len(known[k])
                    matched.append(k)
                    silent = k < len(quiet) and quiet[k]
                    break
            else:
                pos = _item_end(body, pos, item_tag, jump, empty)
                if pos < 0:
                    return None
                matched.append(-1)
        declaring = not silent and body.find(b"xmlns", start, pos) >= 0
        if declaring and not bindings.add(body, start, pos):
            return None
        declares.append(declaring)
        items.append((start, pos))
        after = _SPACE.match(body, pos)
        assert after is not None
        nxt = after.end()
        follows = nxt + after_name
        if body.startswith(opener, nxt) and body[follows : follows + 1] in _AFTER_NAME:
            pos = nxt
            continue
        break
    # The tail must hold no item: the same jumps to its end.
    while True:
        found = jump.search(body, pos)
        if found is None:
            break
        if found.group(1) is not None:
            return None  # an item past something that is not an item
        skipped = _skip(body, found.start())
        if skipped is None:
            return None
        pos = skipped
    return Layout(
        tuple(items), head_end, b"".join(context), item_tag, tuple(matched), tuple(declares)
    )


def _item_end(
    body: bytes, pos: int, item_tag: bytes, jump: re.Pattern[bytes], empty: bool
) -> int:
    """Where the item whose start tag is at pos ends; -1 when it is not one to splice."""
    match = _START.match(body, pos)
    if match is None or match.group(1) != item_tag or match.group(3) and not empty:
        return -1
    pos = match.end()
    if match.group(3):
        return pos
    while True:
        found = jump.search(body, pos)
        if found is None:
            return -1
        at = found.start()
        closing = found.group(1)
        if closing is None:
            skipped = _skip(body, at)
            if skipped is None:
                return -1
            pos = skipped
            continue
        if not closing:
            return -1  # an item inside an item
        end_match = _END.match(body, at)
        if end_match is None or end_match.group(1) != item_tag:
            return -1
        return end_match.end()

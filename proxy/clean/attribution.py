"""What each rule did to each item: the record behind `Cleaned.removals` and `.links`.

The runner (proxy.clean.engine) opens a `recording` block per clean call and says which rule
runs (`running`); rules then report through `nodes.drop`, `nodes.unwrapped` and
`nodes.link_changed`, which land here. A rule never names itself: the runner knows which one
is running, so a new rule is attributed without doing anything. Feed rules (which see every
item of a feed at once) are attributed to the item whose tree the element was in.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from lxml.html import HtmlElement

from proxy.models import REMOVED_TEXT_CHARS, LinkChange, Removal


@dataclass(frozen=True, slots=True)
class RuleInfo:
    """The rule being run, as attribution names it."""

    pack: str
    name: str
    reason: str
    # "<pack>.<name>", made once (every removal record names it)
    id: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", f"{self.pack}.{self.name}")


@dataclass(slots=True)
class ItemRecord:
    """Everything rules did to one item's tree."""

    removals: list[Removal] = field(default_factory=list)
    links: list[LinkChange] = field(default_factory=list)
    unwraps: dict[tuple[RuleInfo, str], int] = field(default_factory=dict)  # (rule, tag) → n
    # Marking mode only (see track): where each element stood in the parsed tree, so a
    # removal can be shown in place on a copy of it.
    positions: dict[int, int] | None = None  # id(element) → its index in document order
    elements: list[HtmlElement] = field(default_factory=list)  # keeps those ids alive
    marks: list[tuple[int, int]] = field(default_factory=list)  # (removal index, position)
    # A removed line (removed_line): (removal index, its block's position, the positions of
    # the <br>s around it, -1 for none: the block's start or end).
    line_marks: list[tuple[int, int, int, int]] = field(default_factory=list)
    # Text cut out of an element's .text or .tail (removed_text): (removal index, the
    # element's position, the text as cut).
    text_marks: list[tuple[int, int, str]] = field(default_factory=list)

    def track(self, root: HtmlElement) -> None:
        """Remember every element's position under root before any rule runs."""
        # lxml hands out the same proxy for a node while one is alive: holding them all
        # makes id() a stable name for each original element.
        self.elements = list(root.iter())
        self.positions = {id(element): i for i, element in enumerate(self.elements)}

    def finished(self) -> tuple[tuple[Removal, ...], tuple[LinkChange, ...]]:
        """The removals (unwraps summed per rule and tag, last) and link changes."""
        removals = list(self.removals)
        for (info, tag), count in self.unwraps.items():
            removals.append(
                Removal(
                    rule=info.id,
                    pack=info.pack,
                    tag=tag,
                    text="",
                    reason=info.reason,
                    action="unwrap",
                    count=count,
                )
            )
        return tuple(removals), tuple(self.links)


class _State(threading.local):
    def __init__(self) -> None:
        self.items: dict[int, ItemRecord] | None = None  # id(root) → its record
        self.rule: RuleInfo | None = None


_state = _State()


@contextmanager
def recording(records: dict[int, ItemRecord]) -> Iterator[None]:
    """Record what rules do to the trees whose id(root) is a key of records."""
    previous = (_state.items, _state.rule)
    _state.items, _state.rule = records, None
    try:
        yield
    finally:
        _state.items, _state.rule = previous


@contextmanager
def running(info: RuleInfo) -> Iterator[None]:
    previous = _state.rule
    _state.rule = info
    try:
        yield
    finally:
        _state.rule = previous


def _record_for(node: HtmlElement) -> tuple[ItemRecord, RuleInfo] | None:
    items, info = _state.items, _state.rule
    if items is None or info is None:
        return None
    if len(items) == 1:
        record: ItemRecord | None = next(iter(items.values()))
    else:  # a feed rule: the item is the tree the node is in
        top, parent = node, node.getparent()
        while parent is not None:  # (getparent: 3-5x cheaper than an iterancestors() walk)
            top, parent = parent, parent.getparent()
        record = items.get(id(top))
    if record is None:
        return None
    return record, info


def text_of(node: HtmlElement) -> str:
    """node.text_content(), the very same string: both are libxml2's xmlNodeGetContent (the
    XPath string() behind text_content calls it), read here without evaluating an XPath
    (0.25 µs against 1.4 µs on a small element; rules ask ~30 times per item)."""
    return str(etree.tostring(node, method="text", encoding="unicode", with_tail=False))


def text_bytes(node: HtmlElement) -> bytes:
    """text_of(node) in UTF-8, as libxml2 holds it: a third of text_of's cost on CJK text
    (decoding it is the rest). A string is in text_of(node) exactly when its UTF-8 is in
    this (UTF-8 is self-synchronising; the tree holds no lone surrogates)."""
    return bytes(etree.tostring(node, method="text", encoding="utf-8", with_tail=False))


def short(text: str) -> str:
    """text with whitespace collapsed, cut to REMOVED_TEXT_CHARS characters."""
    words = " ".join(text[: REMOVED_TEXT_CHARS * 8].split())
    if len(words) > REMOVED_TEXT_CHARS:
        return words[: REMOVED_TEXT_CHARS - 1] + "…"
    return words


# A removal record made without Removal's frozen-dataclass __init__ (one object.__setattr__
# call per field: 14k instructions against 6.6k under callgrind; ~11 removals per seed item).
# The very same object: every field set through its slot, in order, defaults included.
_REMOVAL_FIELDS = tuple(f.name for f in dataclasses.fields(Removal))
if _REMOVAL_FIELDS != ("rule", "pack", "tag", "text", "reason", "action", "count", "kind"):
    raise ImportError(f"attribution: Removal's fields changed, update _removal: {_REMOVAL_FIELDS}")
_SET: tuple[Callable[[Any, Any], None], ...] = tuple(
    getattr(Removal, name).__set__ for name in _REMOVAL_FIELDS
)
_new = object.__new__


def _removal(rule: str, pack: str, tag: str, text: str, reason: str) -> Removal:
    """Removal(rule=…, pack=…, tag=…, text=…, reason=…), the defaults for the rest."""
    made: Removal = _new(Removal)
    s_rule, s_pack, s_tag, s_text, s_reason, s_action, s_count, s_kind = _SET
    s_rule(made, rule)
    s_pack(made, pack)
    s_tag(made, tag)
    s_text(made, text)
    s_reason(made, reason)
    s_action(made, "remove")
    s_count(made, 1)
    s_kind(made, "element")
    return made


def removed(node: HtmlElement, reason: str | None = None) -> None:
    """node (still in its tree) is about to be removed by the running rule."""
    found = _record_for(node)
    if found is None:
        return
    record, info = found
    tag = node.tag if isinstance(node.tag, str) else ""
    if record.positions is not None:
        position = record.positions.get(id(node))
        if position is not None:
            record.marks.append((len(record.removals), position))
    record.removals.append(
        _removal(
            info.id,
            info.pack,
            tag.lower(),
            short(text_of(node)) if tag else "",
            reason or info.reason,
        )
    )


def removed_text(owner: HtmlElement, text: str, reason: str | None = None) -> None:
    """The running rule cut text (not a whole element) out of owner."""
    record = _textual(owner, text, reason, "text")
    if record is not None and record.positions is not None:
        position = record.positions.get(id(owner))
        if position is not None:
            record.text_marks.append((len(record.removals) - 1, position, text))


def _textual(node: HtmlElement, text: str, reason: str | None, kind: str) -> ItemRecord | None:
    """Record a removal of text or of a line (no element: tag "") in node's item; its
    record, or None when nothing is recorded."""
    found = _record_for(node)
    if found is None or not text.strip():
        return None
    record, info = found
    record.removals.append(
        Removal(
            rule=info.id,
            pack=info.pack,
            tag="",
            text=short(text),
            reason=reason or info.reason,
            kind=kind,
        )
    )
    return record


def removed_line(
    holder: HtmlElement,
    before: HtmlElement | None,
    after: HtmlElement | None,
    text: str,
    reason: str | None = None,
) -> None:
    """The running rule is about to remove one line of holder: what lies between the <br>
    before (None: from holder's start) and the <br> after it (None: to holder's end).

    One removal of kind "line" with the line's text; in marking mode the preview marks the
    same stretch of the parsed tree (clean/marking.py), <br>s left where they are.
    """
    record = _textual(holder, text, reason, "line")
    if record is not None and record.positions is not None:
        where = record.positions.get(id(holder))
        ends = [-1 if br is None else record.positions.get(id(br)) for br in (before, after)]
        if where is not None and None not in ends:
            start, end = ends
            assert start is not None and end is not None
            record.line_marks.append((len(record.removals) - 1, where, start, end))


def unwrapped(root: HtmlElement, tag: str, count: int = 1) -> None:
    """The running rule dropped count <tag> wrappers under root, keeping their content."""
    found = _record_for(root)
    if found is None or count <= 0:
        return
    record, info = found
    key = (info, tag)
    record.unwraps[key] = record.unwraps.get(key, 0) + count


def link_changed(node: HtmlElement, old: str, new: str, reason: str | None = None) -> None:
    """The running rule rewrote a link of node from old to new."""
    found = _record_for(node)
    if found is None:
        return
    record, info = found
    record.links.append(
        LinkChange(rule=info.id, pack=info.pack, old=old, new=new, reason=reason or info.reason)
    )

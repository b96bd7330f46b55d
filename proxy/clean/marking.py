"""Marking mode (the preview page, `feedscrub explain`): the item as parsed, each part a rule
removed wrapped in place in a marker <del data-feedscrub-rule="<pack>.<name>"
data-feedscrub-removal="<index in removals>">. Part of the clean stage; serving never asks
for it. What the rules reported (attribution.ItemRecord) names the parts by their position
in the parsed tree:

* an element: the marker wraps it;
* a line (boilerplate_lines.py): the marker wraps what lies between its two <br>s, which
  stay outside it, so the lines around it read as they did;
* text cut out of an element's .text or .tail: the marker wraps that stretch of text where
  the parsed tree still has it (a rule run earlier may have changed it: then it is only
  listed, as unwrapped tags are).
"""

from __future__ import annotations

from lxml.html import HtmlElement

from proxy.clean.attribution import ItemRecord

# The marker attributes. Attributes of these names that the upstream HTML had are dropped
# from the marked copy, so every marker there is ours.
MARK_RULE = "data-feedscrub-rule"
MARK_REMOVAL = "data-feedscrub-removal"


def marked_tree(before: HtmlElement, record: ItemRecord) -> HtmlElement:
    """before (the item as parsed, a copy the caller gives up) with record's parts marked."""
    originals = list(before.iter())
    for element in originals:
        for name in (MARK_RULE, MARK_REMOVAL):
            if name in element.attrib:
                del element.attrib[name]
    for index, position in record.marks:
        element = originals[position]
        parent = element.getparent()
        if parent is None:
            continue
        marker = _marker(before, record, index)
        marker.tail, element.tail = element.tail, None
        parent.insert(parent.index(element), marker)
        marker.append(element)
    for index, position, text in record.text_marks:
        _mark_text(_marker(before, record, index), originals[position], text)
    for index, where, start, end in record.line_marks:
        _mark_line(_marker(before, record, index), originals, where, start, end)
    return before


def _marker(before: HtmlElement, record: ItemRecord, index: int) -> HtmlElement:
    return before.makeelement(
        "del", {MARK_RULE: record.removals[index].rule, MARK_REMOVAL: str(index)}
    )


def _is_marker(node: HtmlElement | None) -> bool:
    return node is not None and node.tag == "del" and MARK_RULE in node.attrib


def _mark_text(marker: HtmlElement, owner: HtmlElement, text: str) -> None:
    """marker around text in owner's .text or in its .tail — or in the tail of the element
    marker that wraps owner, which took owner's tail with it — the last place it occurs."""
    if owner.text and (at := owner.text.rfind(text)) >= 0:
        marker.text = text
        marker.tail = owner.text[at + len(text) :] or None
        owner.text = owner.text[:at] or None
        owner.insert(0, marker)
        return
    carrier = owner
    while _is_marker(carrier.getparent()) and carrier.getnext() is None:
        carrier = carrier.getparent()
    parent = carrier.getparent()
    tail = carrier.tail
    if parent is None or not tail or (at := tail.rfind(text)) < 0:
        return
    marker.text = text
    marker.tail = tail[at + len(text) :] or None
    carrier.tail = tail[:at] or None
    parent.insert(parent.index(carrier) + 1, marker)


def _mark_line(
    marker: HtmlElement, originals: list[HtmlElement], where: int, start: int, end: int
) -> None:
    """marker around one removed line: what lies in its block (originals[where]) between
    the <br>s at positions start and end (-1: the block's start, its end). A <br> an element
    marker wrapped since counts as that marker; a line whose <br> left the block is not
    marked."""
    holder = originals[where]

    def child_holding(position: int) -> HtmlElement | None:
        node: HtmlElement | None = originals[position]
        while node is not None and node.getparent() is not holder:
            node = node.getparent()
        return node

    first = None if start < 0 else child_holding(start)
    last = None if end < 0 else child_holding(end)
    if (start >= 0 and first is None) or (end >= 0 and last is None):
        return
    children = list(holder)
    begin = 0 if first is None else children.index(first) + 1
    stop = len(children) if last is None else children.index(last)
    if stop < begin:
        return
    if first is None:
        marker.text, holder.text = holder.text, None
    else:
        marker.text, first.tail = first.tail, None
    for child in children[begin:stop]:
        marker.append(child)  # (its tail moves with it: the line's text after it)
    holder.insert(begin, marker)

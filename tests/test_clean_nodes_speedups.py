"""Issue 15.1's speed-up of nodes.short_text is pure: it gives what the code before it gave
(kept below verbatim, renamed), for every element of every item the test data holds — as
parsed, and as the auto pack sees it — and of small trees with what the clean stage's
parser never makes (tests/speedup_trees.py), at each limit the rules use.
"""

from __future__ import annotations

import pytest
from lxml import etree
from lxml.html import HtmlElement

from proxy.clean.nodes import (
    short_text,
    text_of,
)
from proxy.clean.tree import parse_fragment
from tests.speedup_trees import trees

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


# --- the differentials -------------------------------------------------------------------


def test_the_trees_cover_what_the_fast_paths_take() -> None:
    """The data holds leaves and nested elements, short and long text, comments, media."""
    nodes = [n for root in trees() for n in root.iter()]
    assert len(nodes) > 50_000
    assert any(not isinstance(n.tag, str) for n in nodes)
    leaves = [n for n in nodes if isinstance(n.tag, str) and not len(n)]
    assert any(reference_short_text(n, 800) is None for n in leaves)
    assert any(reference_short_text(n, 40) is None for n in nodes if len(n))
    assert any(reference_short_text(n, 40) for n in nodes if len(n))


def test_short_text_is_the_old_short_text() -> None:
    differ = []
    for root in trees():
        for node in root.iter():
            for limit in LIMITS:
                if short_text(node, limit) != reference_short_text(node, limit):
                    differ.append((etree.tostring(node)[:200], limit))
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

"""The tags of HTML nh3 has serialised, read without parsing it again. Does no I/O.

nh3 (html5ever) writes every tag the same way: a lower-case name, each attribute as
name="value" with `&` and `"` escaped, and text with `<` escaped as `&lt;`. So in its output
every `<` opens a tag, and a tag ends at the first `>` outside a quoted value. The passes
that run after nh3 (MathML kept, footnote anchors) read and edit tags with this module
instead of a second parser: a second parser is how mutation XSS gets in, and a re-serialised
tree would not be byte-identical to nh3's output elsewhere in the item.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Tag", "attribute_value", "tags"]

_SPACE = "\t\n\f\r "
# One tag as html5ever writes it. Names hold no "<" (nh3 keeps only allowed names), so a
# match that fails ends at the next "<", and each part is anchored on a character class
# the one before cannot take: linear on any input (tests/test_patterns.py).
_TAG = re.compile(
    rf'<(/?)([A-Za-z][^{_SPACE}/<>]*)((?:[{_SPACE}]+[^{_SPACE}/<>="]+(?:="[^"]*")?)*)'
    rf"[{_SPACE}]*/?>"
)
# One attribute of a tag's attribute part: one whitespace character, then the name (a
# run of whitespace is tried one character at a time, each failing at once).
_ATTRIBUTE = re.compile(rf'[{_SPACE}]([^{_SPACE}/<>="]+)(?:="([^"]*)")?')


@dataclass(frozen=True, slots=True)
class Tag:
    """One tag of serialised HTML: where it is and what it says."""

    start: int
    end: int
    name: str  # lower case
    closing: bool
    attributes: str  # the raw attribute part, values still escaped

    def attrs(self) -> list[tuple[str, str]]:
        """(name, unescaped value) for each attribute, in order."""
        return [(name, value) for name, value, _ in self.raw_attrs()]

    def raw_attrs(self) -> list[tuple[str, str, str]]:
        """(name, unescaped value, value as written) for each attribute, in order."""
        return [
            (m.group(1).lower(), html_lib.unescape(m.group(2) or ""), m.group(2) or "")
            for m in _ATTRIBUTE.finditer(self.attributes)
        ]


def tags(html: str, start: int = 0, *, having: re.Pattern[str] | None = None) -> Iterator[Tag]:
    """Every tag of nh3's output html from start on, in order.

    having: only the tags whose attribute part this pattern finds something in (checked
    before a Tag is made: most tags are skipped at the cost of one C-level search).
    """
    for match in _TAG.finditer(html, start):
        if having is not None and having.search(match.group(3)) is None:
            continue
        name, closing = match.group(2).lower(), bool(match.group(1))
        yield Tag(match.start(), match.end(), name, closing, match.group(3))


def attribute_value(value: str) -> str:
    """value escaped the way html5ever writes an attribute value (between double quotes)."""
    return value.replace("&", "&amp;").replace("\xa0", "&nbsp;").replace('"', "&quot;")

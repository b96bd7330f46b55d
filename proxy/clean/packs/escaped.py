"""The `escaped` pack: items whose markup was escaped twice, parsed once more. Part of the
clean stage; does no I/O.

Some feeds escape an item's HTML twice, so a reader shows `<p>Hello</p>` as text. Only a
whole item that is escaped markup is parsed again: one that starts with a tag, ends with a
tag, and whose text is mostly tags — an article *about* HTML that mentions `&lt;p&gt;` in a
sentence is text with elements around it, and stays as it is. The parsed markup then goes
through every later rule and the sanitiser like any other item.
"""

from __future__ import annotations

import re

from lxml.html import HtmlElement

from proxy.clean.nodes import is_blank, reparsed, unwrapped
from proxy.clean.registry import declare_pack, item_rule
from proxy.clean.tree import parse_fragment

PACK = declare_pack(
    "escaped",
    "double-escaped items (`&lt;p&gt;…` shown as text) parsed once more, when the whole item"
    " is escaped markup",
)

# A tag as it shows once escaped twice: <p>, </p>, <br/>, <img src=…>, <a href="…">.
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]{0,15}(?:\s[^<>]{0,2000})?/?>")
# Of the item's text, at least this share must be tags for it to be escaped markup.
TAG_SHARE = 0.15
MAX_CHARS = 2_000_000


def is_escaped_markup(text: str) -> bool:
    """Whether text (an item's whole text) is HTML written out as text."""
    stripped = text.strip()
    if len(stripped) < 7 or len(stripped) > MAX_CHARS:
        return False
    opener = stripped[1:2]
    starts_with_tag = (
        stripped[0] == "<" and opener.isascii() and (opener.isalpha() or opener in "/!")
    )
    if not starts_with_tag or not stripped.endswith(">"):
        return False
    tags = _TAG.findall(stripped)
    if len(tags) < 2 or not any(t.startswith("</") or t.endswith("/>") for t in tags):
        return False
    return sum(map(len, tags)) >= TAG_SHARE * len(stripped)


@item_rule(PACK, "double_escaped")
def parse_escaped_item(root: HtmlElement) -> None:
    """The item's HTML was escaped twice: parsed once more so its markup shows as markup."""
    if len(root) or is_blank(root.text):
        return  # elements: the item has markup of its own
    text = root.text or ""
    if "<" not in text or not is_escaped_markup(text):
        return
    parsed = parse_fragment(text)
    if not len(parsed):
        return
    root.text = parsed.text
    root.extend(list(parsed))
    reparsed(root)  # its tags and attributes were text in the source: the hints learn them
    unwrapped(root, "escaped markup")

"""Where URLs sit in item and article HTML: the one list of lazy-image attributes, the one
srcset parser, and which links point inside the item (footnotes). Every stage that looks for
an image's real URL or an in-item link (clean, rewrite, sanitize, fulltext) reads them here,
so that they cannot drift apart again. Imports nothing else from ``proxy``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any
from urllib.parse import unquote

# Attributes lazy-loading scripts keep the real image URL in, most specific first.
LAZY_SRC_ATTRIBUTES: tuple[str, ...] = (
    "data-src",
    "data-lazy-src",
    "data-original",
    "data-actualsrc",  # Zhihu
    "data-orig-src",
    "data-lazy",
    "data-lazyload",
    "data-url",
)
# The same for srcset values.
LAZY_SRCSET_ATTRIBUTES: tuple[str, ...] = ("data-srcset", "data-lazy-srcset")
# Every attribute that holds a lazy image (src or srcset).
LAZY_ATTRIBUTES: tuple[str, ...] = (*LAZY_SRC_ATTRIBUTES, *LAZY_SRCSET_ATTRIBUTES)

# Placeholders lazy loaders put in src until a script swaps the real image in, matched on
# the lower-cased value (literals only, and no case folding: fast on any input).
_PLACEHOLDER = re.compile(r"^data:|blank\.gif|spacer\.gif|placeholder|lazy[-_]?load|/lazy\.")


def is_placeholder(src: str | None) -> bool:
    """Whether src is empty or a lazy loader's placeholder rather than a real image URL."""
    value = (src or "").strip().lower()
    return not value or _PLACEHOLDER.search(value) is not None


def lazy_src(attributes: dict[str, str] | object) -> str | None:
    """The first usable lazy `src` among an element's attributes (`element.attrib`)."""
    get = getattr(attributes, "get", None)
    if get is None:
        return None
    for name in LAZY_SRC_ATTRIBUTES:
        value = (get(name) or "").strip()
        if value and not value.startswith("data:"):
            return str(value)
    return None


def parse_srcset(value: str) -> list[tuple[str, str]]:
    """Split a srcset into (url, descriptor) pairs the way browsers do (commas may sit in
    URLs; a URL ending in a comma has no descriptor)."""
    candidates: list[tuple[str, str]] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] == ","):
            i += 1
        start = i
        while i < n and not value[i].isspace():
            i += 1
        url = value[start:i]
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            descriptor_start = i
            while i < n and value[i] != ",":
                i += 1
            descriptor = value[descriptor_start:i].strip()
        if url:
            candidates.append((url, descriptor))
    return candidates


def join_srcset(candidates: list[tuple[str, str]]) -> str:
    """The inverse of parse_srcset (normalised spacing)."""
    return ", ".join(f"{url} {descriptor}".strip() for url, descriptor in candidates)


def fragment_target(href: str, targets: Collection[str]) -> str | None:
    """The id among targets an in-item link (`href="#…"`) points at, else None.

    Browsers look a fragment up as written, then percent-decoded (`#fn%3A1` finds
    `id="fn:1"`). `#` alone and `#top` with no such id point at no element of the item.
    """
    href = href.strip()
    if len(href) < 2 or href[0] != "#":
        return None
    fragment = href[1:]
    if fragment in targets:
        return fragment
    decoded = unquote(fragment)
    return decoded if decoded != fragment and decoded in targets else None


def anchor_targets(root: Any) -> set[str]:
    """What in-item links can point at in an lxml tree: every id, and <a name>."""
    found: set[str] = set()
    for element in root.iter():
        value = element.get("id") if isinstance(element.tag, str) else None
        if value:
            found.add(value)
        if element.tag == "a" and element.get("name"):
            found.add(element.get("name"))
    return found

"""Where URLs sit in item and article HTML: the one list of lazy-image attributes and the one
srcset parser. Every stage that looks for an image's real URL (clean, rewrite, fulltext)
reads them here, so that they cannot drift apart again. Imports nothing else from ``proxy``.
"""

from __future__ import annotations

import re

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
